"""Chunked (``subbatch_size``) and unchunked layers compute the same numbers, and chunking really splits."""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snakefold.model.attention import (Attention, MSAColumnAttention, MSAColumnGlobalAttention,
                                       MSARowAttentionWithPairBias)
from snakefold.model.config import (AttentionConfig, GlobalConfig, OuterProductMeanConfig, TemplateConfig,
                                    TransitionConfig)
from snakefold.model.outer_product_mean import OuterProductMean
from snakefold.model.presets import small_config
from snakefold.model.primitives import apply_in_chunks
from snakefold.model.templates import TemplateEmbedding
from snakefold.model.transition import Transition
from snakefold.model.triangle import TriangleAttention

UNCHUNKED = GlobalConfig(subbatch_size=None, zero_init=False)
CHUNKED = GlobalConfig(subbatch_size=3, zero_init=False)
ATTENTION = AttentionConfig(num_head=2)

rs = np.random.RandomState(0)
MSA = jnp.asarray(rs.randn(7, 10, 8), jnp.float32)
MSA_MASK = jnp.asarray(rs.rand(7, 10) > 0.2, jnp.float32)
PAIR = jnp.asarray(rs.randn(10, 10, 6), jnp.float32)
PAIR_MASK = jnp.asarray(np.pad(np.ones((8, 8)), ((0, 2), (0, 2))), jnp.float32)


def compare(build, *inputs):
    """Outputs of ``build(global_config)(*inputs)`` without chunking and in chunks of 3."""
    unchunked = hk.transform(lambda *args: build(UNCHUNKED)(*args))
    chunked = hk.transform(lambda *args: build(CHUNKED)(*args))
    params = jax.jit(unchunked.init)(jax.random.PRNGKey(1), *inputs)
    expected = jax.jit(unchunked.apply)(params, None, *inputs)
    actual = jax.jit(chunked.apply)(params, None, *inputs)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_msa_row_attention_with_pair_bias():
    compare(lambda gc: MSARowAttentionWithPairBias(ATTENTION, gc), MSA, MSA_MASK, PAIR)


def test_msa_column_attention():
    compare(lambda gc: MSAColumnAttention(ATTENTION, gc), MSA, MSA_MASK)


def test_msa_column_global_attention():
    compare(lambda gc: MSAColumnGlobalAttention(ATTENTION, gc), MSA, MSA_MASK)


@pytest.mark.parametrize("ending_node", [False, True])
def test_triangle_attention(ending_node):
    compare(lambda gc: TriangleAttention(ATTENTION, gc, ending_node=ending_node), PAIR, PAIR_MASK)


def test_transition():
    compare(lambda gc: Transition(TransitionConfig(4), gc), MSA)


def test_outer_product_mean():
    def build(gc):
        chunk_size = None if gc.subbatch_size is None else 4
        return OuterProductMean(OuterProductMeanConfig(num_outer_channel=3, chunk_size=chunk_size), gc, 5)

    compare(build, MSA, MSA_MASK)


def test_template_pointwise_attention():
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
        config = TemplateConfig(**{**template.__dict__, "subbatch_size": None if gc.subbatch_size is None else 7})
        return lambda q, m: TemplateEmbedding(config, gc)(q, batch, m)

    compare(build, query, PAIR_MASK)


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
