"""The layers every AlphaFold2 module is built from: Linear, LayerNorm, mask bias and chunked application.

``Linear`` and ``LayerNorm`` create their parameters under AlphaFold2's names (``weights``/``bias`` and
``scale``/``offset``), so a module tree built from them has exactly the published parameter names. The
initialisers follow the supplement (section 1.11.4): ``linear`` is LeCun (fan-in) truncated normal,
``relu`` He truncated normal, ``zeros`` zero; ``final`` is the last layer of a residual update, zero when
``GlobalConfig.zero_init`` (the published training setup) and ``linear`` otherwise.

:func:`apply_in_chunks` runs a function over slices of a batch dimension, one slice after the other,
which bounds memory on long sequences; the result equals one call on the whole batch.
"""

from __future__ import annotations

from typing import Callable, Sequence

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from snakefold.model.config import GlobalConfig

#: Standard deviation of a unit normal truncated to [-2, 2]; dividing by it restores the intended variance.
TRUNCATED_NORMAL_STDDEV_FACTOR = 0.87962566103423978

#: Additive attention bias of masked-out keys (``(mask - 1) * MASK_BIAS``), as in AlphaFold2.
MASK_BIAS = 1e9


def initializer(name: str, fan_in: int) -> hk.initializers.Initializer:
    """Weight initialiser ``name`` (``linear``, ``relu`` or ``zeros``) for a layer with ``fan_in`` inputs."""
    if name == "zeros":
        return hk.initializers.Constant(0.0)
    if name not in ("linear", "relu"):
        raise ValueError(f"unknown initializer {name!r}")
    variance = (2.0 if name == "relu" else 1.0) / fan_in
    return hk.initializers.TruncatedNormal(mean=0.0, stddev=np.sqrt(variance) / TRUNCATED_NORMAL_STDDEV_FACTOR)


def final_initializer(global_config: GlobalConfig) -> str:
    """Initialiser name of the last layer of a residual update."""
    return "zeros" if global_config.zero_init else "linear"


def glorot_uniform() -> hk.initializers.Initializer:
    return hk.initializers.VarianceScaling(scale=1.0, mode="fan_avg", distribution="uniform")


class Linear(hk.Module):
    """Affine map of the last axis: [..., c_in] -> [..., num_output], parameters ``weights`` and ``bias``."""

    def __init__(self, num_output: int, initializer: str = "linear", use_bias: bool = True,
                 bias_init: float = 0.0, name: str = "linear"):
        super().__init__(name=name)
        self.num_output = num_output
        self.initializer = initializer
        self.use_bias = use_bias
        self.bias_init = bias_init

    def __call__(self, inputs: jnp.ndarray) -> jnp.ndarray:
        num_input = inputs.shape[-1]
        weights = hk.get_parameter("weights", (num_input, self.num_output), inputs.dtype,
                                   initializer(self.initializer, num_input))
        output = jnp.einsum("...a,ah->...h", inputs, weights)
        if self.use_bias:
            output += hk.get_parameter("bias", (self.num_output,), inputs.dtype,
                                       hk.initializers.Constant(self.bias_init))
        return output


class LayerNorm(hk.Module):
    """Layer normalisation over the last axis with a learned per-channel ``scale`` and ``offset``."""

    def __init__(self, eps: float = 1e-5, name: str = "layer_norm"):
        super().__init__(name=name)
        self.eps = eps

    def __call__(self, inputs: jnp.ndarray) -> jnp.ndarray:
        num_channel = inputs.shape[-1]
        scale = hk.get_parameter("scale", (num_channel,), inputs.dtype, hk.initializers.Constant(1.0))
        offset = hk.get_parameter("offset", (num_channel,), inputs.dtype, hk.initializers.Constant(0.0))
        mean = jnp.mean(inputs, axis=-1, keepdims=True)
        variance = jnp.var(inputs, axis=-1, keepdims=True)
        return scale * jax.lax.rsqrt(variance + self.eps) * (inputs - mean) + offset


def mask_bias(mask: jnp.ndarray) -> jnp.ndarray:
    """Additive attention bias: 0 where ``mask`` is 1, -1e9 where it is 0."""
    return MASK_BIAS * (mask - 1.0)


def apply_in_chunks(function: Callable[..., jnp.ndarray], batched_args: Sequence[jnp.ndarray],
                    chunk_size: int | None, in_axis: int = 0, out_axis: int = 0) -> jnp.ndarray:
    """``function(*batched_args)`` computed ``chunk_size`` slices of axis ``in_axis`` at a time.

    ``function`` must act on each slice independently; it may call Haiku modules (the loop is a
    ``hk.scan``, so it must run inside a Haiku transform). Its output has the sliced dimension at
    ``out_axis``. Full chunks run in the loop, a shorter last chunk after it. ``chunk_size=None`` (or one
    at least the batch size) calls ``function`` once on everything.
    """
    size = batched_args[0].shape[in_axis]
    if chunk_size is None or chunk_size >= size:
        return function(*batched_args)
    leading = [jnp.moveaxis(arg, in_axis, 0) for arg in batched_args]

    def on_chunk(*chunk_args: jnp.ndarray) -> jnp.ndarray:
        output = function(*(jnp.moveaxis(arg, 0, in_axis) for arg in chunk_args))
        return jnp.moveaxis(output, out_axis, 0)

    num_full = size // chunk_size
    full_size = num_full * chunk_size
    full = [arg[:full_size].reshape((num_full, chunk_size) + arg.shape[1:]) for arg in leading]
    _, outputs = hk.scan(lambda carry, chunk: (carry, on_chunk(*chunk)), None, full)
    outputs = outputs.reshape((full_size,) + outputs.shape[2:])
    if full_size < size:
        outputs = jnp.concatenate([outputs, on_chunk(*(arg[full_size:] for arg in leading))], axis=0)
    return jnp.moveaxis(outputs, 0, out_axis)
