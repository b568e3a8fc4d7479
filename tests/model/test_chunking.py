"""Chunked and unchunked layers compute the same numbers, and chunking really splits.

Two chunked settings: fixed chunks of 3 rows (``subbatch_size=3``) and automatic chunking with a budget so
small (:data:`TINY_BUDGET`) that every layer goes one row at a time and attention also in chunks of queries.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snakefold.model.attention import (
    Attention,
    MSAColumnAttention,
    MSAColumnGlobalAttention,
    MSARowAttentionWithPairBias,
    attention_chunk_sizes,
)
from snakefold.model.hyperparameters import (
    AUTO,
    AttentionConfig,
    GlobalConfig,
    OuterProductMeanConfig,
    TemplateConfig,
    TransitionConfig,
    TriangleMultiplicationConfig,
)
from snakefold.model.outer_product_mean import OuterProductMean
from snakefold.model.presets import small_config
from snakefold.model.primitives import apply_in_chunks, chunk_size_for
from snakefold.model.template_embedding import TemplateEmbedding
from snakefold.model.transition import Transition
from snakefold.model.triangle import TriangleAttention, TriangleMultiplication

UNCHUNKED = GlobalConfig(subbatch_size=None, triangle_chunk_size=None, zero_init=False)
#: A budget (MB) below the intermediates of a single row or channel of every layer here.
TINY_BUDGET = 1e-4
CHUNKED_SETTINGS = {
    "fixed": GlobalConfig(subbatch_size=3, triangle_chunk_size=2, zero_init=False),
    "auto": GlobalConfig(subbatch_size=AUTO, triangle_chunk_size=AUTO, chunk_budget_mb=TINY_BUDGET, zero_init=False),
}
ATTENTION = AttentionConfig(num_head=2)

rs = np.random.RandomState(0)
MSA = jnp.asarray(rs.randn(7, 10, 8), jnp.float32)
MSA_MASK = jnp.asarray(rs.rand(7, 10) > 0.2, jnp.float32)
PAIR = jnp.asarray(rs.randn(10, 10, 6), jnp.float32)
PAIR_MASK = jnp.asarray(np.pad(np.ones((8, 8)), ((0, 2), (0, 2))), jnp.float32)


@pytest.fixture(params=sorted(CHUNKED_SETTINGS))
def chunked(request):
    return CHUNKED_SETTINGS[request.param]


def compare(build, *inputs, chunked: GlobalConfig):
    """Outputs of ``build(global_config)(*inputs)`` without chunking and with the ``chunked`` setting."""
    unchunked = hk.transform(lambda *args: build(UNCHUNKED)(*args))
    chunked = hk.transform(lambda *args, gc=chunked: build(gc)(*args))
    params = jax.jit(unchunked.init)(jax.random.PRNGKey(1), *inputs)
    expected = jax.jit(unchunked.apply)(params, None, *inputs)
    actual = jax.jit(chunked.apply)(params, None, *inputs)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_msa_row_attention_with_pair_bias(chunked):
    compare(lambda gc: MSARowAttentionWithPairBias(ATTENTION, gc), MSA, MSA_MASK, PAIR, chunked=chunked)


def test_msa_column_attention(chunked):
    compare(lambda gc: MSAColumnAttention(ATTENTION, gc), MSA, MSA_MASK, chunked=chunked)


def test_msa_column_global_attention(chunked):
    compare(lambda gc: MSAColumnGlobalAttention(ATTENTION, gc), MSA, MSA_MASK, chunked=chunked)


@pytest.mark.parametrize("ending_node", [False, True])
def test_triangle_attention(ending_node, chunked):
    compare(lambda gc: TriangleAttention(ATTENTION, gc, ending_node=ending_node), PAIR, PAIR_MASK, chunked=chunked)


def test_transition(chunked):
    compare(lambda gc: Transition(TransitionConfig(4), gc), MSA, chunked=chunked)


def test_outer_product_mean(chunked):
    def build(gc):
        chunk_size = {None: None, AUTO: AUTO}.get(gc.subbatch_size, 4)
        return OuterProductMean(OuterProductMeanConfig(num_outer_channel=3, chunk_size=chunk_size), gc, 5)

    compare(build, MSA, MSA_MASK, chunked=chunked)


def test_template_pointwise_attention(chunked):
    template = small_config("model_1_ptm").embeddings_and_evoformer.template
    batch = {
        "template_aatype": jnp.asarray(rs.randint(0, 22, size=(2, 10))),
        "template_all_atom_positions": jnp.asarray(rs.randn(2, 10, 37, 3), jnp.float32),
        "template_all_atom_masks": jnp.ones((2, 10, 37), jnp.float32),
        "template_pseudo_beta": jnp.asarray(rs.randn(2, 10, 3) * 5, jnp.float32),
        "template_pseudo_beta_mask": jnp.ones((2, 10), jnp.float32),
        "template_mask": jnp.array([1.0, 0.0]),
    }
    query = jnp.asarray(rs.randn(10, 10, 8), jnp.float32)

    def build(gc):
        chunk_size = {None: None, AUTO: AUTO}.get(gc.subbatch_size, 7)
        config = TemplateConfig(**{**template.__dict__, "subbatch_size": chunk_size})
        return lambda q, m: TemplateEmbedding(config, gc)(q, batch, m)

    compare(build, query, PAIR_MASK, chunked=chunked)


@pytest.mark.parametrize("outgoing", [True, False])
def test_triangle_multiplication(outgoing, chunked):
    config = TriangleMultiplicationConfig(num_intermediate_channel=5, outgoing=outgoing)
    compare(lambda gc: TriangleMultiplication(config, gc), PAIR, PAIR_MASK, chunked=chunked)


def test_automatic_chunks_fit_the_budget():
    gc = GlobalConfig(chunk_budget_mb=1.0)
    megabyte = 2 ** 20
    assert chunk_size_for(AUTO, 10, megabyte / 10, gc) is None  # everything fits: no chunking
    assert chunk_size_for(AUTO, 12, megabyte / 4, gc) == 4  # four rows fit, and 4 divides 12
    assert chunk_size_for(AUTO, 10, megabyte / 4, gc) == 4  # no divisor of 10 in 3..4: the most that fit
    assert chunk_size_for(AUTO, 10, 2 * megabyte, gc) == 1  # not even one row fits: one at a time
    assert chunk_size_for(7, 10, 2 * megabyte, gc) == 7 and chunk_size_for(None, 10, 2 * megabyte, gc) is None
    with pytest.raises(ValueError, match="chunk size"):
        chunk_size_for(0, 10, 1.0, gc)
    # With the tests' tiny budget, attention goes one row at a time, and within it one query at a time.
    tiny = CHUNKED_SETTINGS["auto"]
    assert attention_chunk_sizes(AUTO, 7, 10, 10, ATTENTION, 8, 8, tiny) == (1, 1)
    assert attention_chunk_sizes(3, 7, 10, 10, ATTENTION, 8, 8, tiny) == (3, None)


def test_apply_in_chunks_splits_the_batch():
    sizes = []

    def record(rows):
        sizes.append(rows.shape[0])
        return jnp.sum(rows, axis=-1)

    rows = jnp.arange(7 * 2, dtype=jnp.float32).reshape(7, 2)
    transformed = hk.transform(lambda x: apply_in_chunks(record, (x,), chunk_size=3))
    output = transformed.apply(transformed.init(None, rows), None, rows)
    np.testing.assert_array_equal(output, rows.sum(-1))
    assert sizes[-2:] == [3, 1]  # full chunks of 3 in a loop, the last row on its own


def test_attention_chunks_along_the_batch_only():
    q = jnp.asarray(rs.randn(5, 4, 6), jnp.float32)
    bias = jnp.zeros((5, 1, 1, 4))
    transformed = hk.transform(lambda x, b, n: Attention(ATTENTION, UNCHUNKED, 6)(x, x, b, chunk_size=n))
    params = transformed.init(jax.random.PRNGKey(0), q, bias, None)
    whole = transformed.apply(params, None, q, bias, None)
    for chunk_size in (1, 2, 4):
        np.testing.assert_allclose(transformed.apply(params, None, q, bias, chunk_size), whole, rtol=1e-5, atol=1e-6)
