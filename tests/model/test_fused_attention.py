"""The GPU paths: the call that goes to cuDNN on a GPU computes Algorithm 7's weighted values; a layer
configured for cuDNN where there is none (this CPU) computes exactly what XLA's attention does; bfloat16 asks
for cuDNN on GPUs only; a prediction's GPU memory settings."""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snakefold.model.attention import MSARowAttentionWithPairBias, fused_weighted_values
from snakefold.model.hyperparameters import AttentionConfig, GlobalConfig
from snakefold.model.inference import claim_gpu_memory, with_bfloat16
from snakefold.model.presets import model_config
from snakefold.model.triangle import TriangleAttention


def weighted_values_reference(queries, keys, values, bias):
    """softmax_k(q.k + bias) v in float64 NumPy: queries [b, q, h, c], keys and values [b, k, h, c]."""
    logits = np.einsum("bqhc,bkhc->bhqk", queries, keys) + bias
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return np.einsum("bhqk,bkhc->bqhc", weights, values)


@pytest.mark.parametrize("bias_shape", [(2, 1, 1, 7), (1, 3, 5, 7), (2, 3, 5, 7)],
                         ids=["key mask", "pair bias", "both"])
def test_the_fused_call_is_softmax_of_logits_plus_bias_times_values(bias_shape):
    rs = np.random.RandomState(0)
    queries, keys, values = rs.randn(2, 5, 3, 8), rs.randn(2, 7, 3, 8), rs.randn(2, 7, 3, 8)
    bias = rs.randn(*bias_shape)
    bias[..., -2:] = -1e9  # masked keys
    # The call the cuDNN path makes, with JAX's own implementation (there is no cuDNN here).
    actual = fused_weighted_values(*(jnp.asarray(array, jnp.float32) for array in (queries, keys, values, bias)),
                                   implementation="xla")
    np.testing.assert_allclose(actual, weighted_values_reference(queries, keys, values, bias), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", ["msa_row", "triangle"])
def test_a_layer_configured_for_cudnn_without_cudnn_computes_what_xla_does(layer):
    rs = np.random.RandomState(1)
    msa, msa_mask = jnp.asarray(rs.randn(4, 10, 16), jnp.bfloat16), jnp.asarray(rs.rand(4, 10) > 0.2, jnp.float32)
    pair, pair_mask = jnp.asarray(rs.randn(10, 10, 8), jnp.bfloat16), jnp.asarray(rs.rand(10, 10) > 0.1, jnp.float32)
    inputs = (msa, msa_mask, pair) if layer == "msa_row" else (pair, pair_mask)

    def build(implementation):
        global_config = GlobalConfig(bfloat16=True, zero_init=False, attention_implementation=implementation)
        if layer == "msa_row":
            module = lambda: MSARowAttentionWithPairBias(AttentionConfig(2), global_config)  # noqa: E731
        else:
            module = lambda: TriangleAttention(AttentionConfig(2), global_config, ending_node=False)  # noqa: E731
        return hk.transform(lambda *args: module()(*args))

    params = build("xla").init(jax.random.PRNGKey(0), *inputs)
    expected = build("xla").apply(params, None, *inputs)
    assert jax.default_backend() == "cpu"
    np.testing.assert_array_equal(build("cudnn").apply(params, None, *inputs), expected)


def test_bfloat16_asks_for_cudnn_attention_on_a_gpu_only():
    config = with_bfloat16(model_config("model_1_ptm"))
    assert config.global_config.bfloat16
    expected = "cudnn" if jax.default_backend() == "gpu" else "xla"
    assert config.global_config.attention_implementation == expected


def test_a_prediction_takes_most_of_the_gpu_memory_unless_told_otherwise():
    environ = {}
    claim_gpu_memory(environ)
    assert environ == {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.95"}
    environ = {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.5"}
    claim_gpu_memory(environ)
    assert environ == {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.5"}
