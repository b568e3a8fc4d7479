"""The layers every AlphaFold2 module is built from: Linear, LayerNorm, mask bias and chunked application.

``Linear`` and ``LayerNorm`` create their parameters under AlphaFold2's names (``weights``/``bias`` and
``scale``/``offset``), so a module tree built from them has exactly the published parameter names;
``ShapedLinear`` is ``Linear`` with multi-axis inputs and outputs (AlphaFold-Multimer's per-head layouts).
``LayerNorm`` normalises in float32 whatever its input's precision (bfloat16 activations). The
initialisers follow the supplement (section 1.11.4): ``linear`` is LeCun (fan-in) truncated normal,
``relu`` He truncated normal, ``zeros`` zero; ``final`` is the last layer of a residual update, zero when
``GlobalConfig.zero_init`` (the published training setup) and ``linear`` otherwise.

:func:`apply_in_chunks` runs a function over slices of a batch dimension, one slice after the other,
which bounds memory on long sequences; the result equals one call on the whole batch.
:func:`update_in_chunks` does the same for a state that each slice updates from itself alone, in
place; :func:`add_in_chunks` for a residual update.
:func:`chunk_size_for` picks the slice size of a layer from its shapes (``"auto"`` chunking): the most
rows whose intermediates fit the chunk budget (:data:`DEFAULT_CHUNK_BUDGET_MB` per backend, or
``GlobalConfig.chunk_budget_mb``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from snakefold.model.hyperparameters import AUTO, ChunkSize, GlobalConfig

#: Standard deviation of a unit normal truncated to [-2, 2]; dividing by it restores the intended variance.
TRUNCATED_NORMAL_STDDEV_FACTOR = 0.87962566103423978

#: Additive attention bias of masked-out keys (``(mask - 1) * MASK_BIAS``), as in AlphaFold2.
MASK_BIAS = 1e9

#: Budget (MB) of one chunk's intermediates under ``"auto"`` chunking, by JAX backend. On CPU, pieces that
#: stay in the caches run fastest (measured in bench/model/README.md); on accelerators the budget only
#: bounds memory (:data:`ACCELERATOR_CHUNK_BUDGET_MB` for any backend not listed).
DEFAULT_CHUNK_BUDGET_MB = {"cpu": 8.0}
ACCELERATOR_CHUNK_BUDGET_MB = 512.0


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
        weights, bias = self.parameters(inputs.shape[-1], inputs.dtype)
        output = jnp.einsum("...a,ah->...h", inputs, weights)
        if bias is not None:
            output += bias
        return output

    def parameters(self, num_input: int, dtype) -> tuple[jnp.ndarray, jnp.ndarray | None]:
        """The layer's ``weights`` [num_input, num_output] and ``bias`` (None without one), for callers that
        apply several layers as one matrix product."""
        weights = hk.get_parameter("weights", (num_input, self.num_output), dtype,
                                   initializer(self.initializer, num_input))
        if not self.use_bias:
            return weights, None
        return weights, hk.get_parameter("bias", (self.num_output,), dtype, hk.initializers.Constant(self.bias_init))


class ShapedLinear(hk.Module):
    """Affine map of the last ``num_input_dims`` axes to ``output_shape``: [..., *in] -> [..., *output_shape].

    Parameters ``weights`` [*in, *output_shape] and ``bias`` [*output_shape]. With ``num_input_dims`` 0 every
    input value is a scalar feature: weights [*output_shape]. AlphaFold-Multimer stores its per-head
    projections (e.g. [c, heads, channels]) and its scalar template features this way.
    """

    def __init__(self, output_shape: tuple[int, ...], num_input_dims: int = 1, initializer: str = "linear",
                 use_bias: bool = True, name: str = "linear"):
        super().__init__(name=name)
        self.output_shape = tuple(output_shape)
        self.num_input_dims = num_input_dims
        self.initializer = initializer
        self.use_bias = use_bias

    def __call__(self, inputs: jnp.ndarray) -> jnp.ndarray:
        input_shape = inputs.shape[inputs.ndim - self.num_input_dims:] if self.num_input_dims else ()
        fan_in = int(np.prod(input_shape)) if input_shape else 1
        weights = hk.get_parameter("weights", input_shape + self.output_shape, inputs.dtype,
                                   initializer(self.initializer, fan_in))
        input_letters = "abcde"[:self.num_input_dims]
        output_letters = "hijkl"[:len(self.output_shape)]
        output = jnp.einsum(f"...{input_letters},{input_letters}{output_letters}->...{output_letters}",
                            inputs, weights)
        if self.use_bias:
            output += hk.get_parameter("bias", self.output_shape, inputs.dtype, hk.initializers.Constant(0.0))
        return output


class LayerNorm(hk.Module):
    """Layer normalisation over the channel axis (``axis``, the last by default) with a learned per-channel
    ``scale`` and ``offset``; computed in float32, returned in the input's precision."""

    def __init__(self, eps: float = 1e-5, axis: int = -1, name: str = "layer_norm"):
        super().__init__(name=name)
        self.eps = eps
        self.axis = axis

    def __call__(self, inputs: jnp.ndarray) -> jnp.ndarray:
        num_channel = inputs.shape[self.axis]
        scale = hk.get_parameter("scale", (num_channel,), jnp.float32, hk.initializers.Constant(1.0))
        offset = hk.get_parameter("offset", (num_channel,), jnp.float32, hk.initializers.Constant(0.0))
        channel_shape = [1] * inputs.ndim
        channel_shape[self.axis] = num_channel
        scale = scale.astype(jnp.float32).reshape(channel_shape)
        offset = offset.astype(jnp.float32).reshape(channel_shape)
        values = inputs.astype(jnp.float32)
        mean = jnp.mean(values, axis=self.axis, keepdims=True)
        variance = jnp.var(values, axis=self.axis, keepdims=True)
        return (scale * jax.lax.rsqrt(variance + self.eps) * (values - mean) + offset).astype(inputs.dtype)


def mask_bias(mask: jnp.ndarray) -> jnp.ndarray:
    """Additive attention bias: 0 where ``mask`` is 1, -1e9 where it is 0."""
    return MASK_BIAS * (mask - 1.0)


def apply_in_chunks(function: Callable[..., jnp.ndarray], batched_args: Sequence[jnp.ndarray],
                    chunk_size: int | None, in_axis: int = 0, out_axis: int = 0) -> jnp.ndarray:
    """``function(*batched_args)`` computed ``chunk_size`` slices of axis ``in_axis`` at a time.

    ``function`` must act on each slice independently; it may call Haiku modules (the loop is a
    ``hk.scan``, so it must run inside a Haiku transform). Its output (an array, or a tuple of arrays) has
    the sliced dimension at ``out_axis``. Each chunk is sliced from the arguments where they lie and its
    result written into the output in place, so that nothing but the output itself is as large as the
    whole (no transposed copies, no stacked results to concatenate). Full chunks run in the loop, a shorter
    last chunk after it. ``chunk_size=None`` (or one at least the batch size) calls ``function`` once on
    everything.
    """
    size = batched_args[0].shape[in_axis]
    if chunk_size is None or chunk_size >= size:
        return function(*batched_args)

    def chunk(start, length: int) -> list[jnp.ndarray]:
        return [jax.lax.dynamic_slice_in_dim(arg, start, length, axis=in_axis) for arg in batched_args]

    def write(output, result, start):
        return jax.tree_util.tree_map(
            lambda whole, part: jax.lax.dynamic_update_slice_in_dim(whole, part, start, axis=out_axis), output, result)

    def empty(shape: jax.ShapeDtypeStruct) -> jnp.ndarray:
        return jnp.zeros(shape.shape[:out_axis] + (size,) + shape.shape[out_axis + 1:], shape.dtype)

    num_full = size // chunk_size
    output = jax.tree_util.tree_map(empty, hk.eval_shape(function, *chunk(0, chunk_size)))
    output, _ = hk.scan(lambda output, start: (write(output, function(*chunk(start, chunk_size)), start), None),
                        output, jnp.arange(num_full) * chunk_size)
    if num_full * chunk_size < size:
        start = num_full * chunk_size
        output = write(output, function(*chunk(start, size - start)), start)
    return output


def update_in_chunks(update: Callable[..., Any], state: Any, batched_args: Sequence[jnp.ndarray],
                     chunk_size: int | None, axis: int = 0) -> Any:
    """``update(state, *batched_args)`` for a ``state`` (an array or a tuple of arrays) that each slice of
    ``axis`` updates from its own slices alone, ``chunk_size`` slices at a time, written in place.

    Every chunk of the state is read, updated and written back where it lies, so that nothing as large as
    the state exists besides the state itself. ``chunk_size=None`` (or one at least the size) updates
    everything at once.
    """
    size = jax.tree_util.tree_leaves(state)[0].shape[axis]
    if chunk_size is None or chunk_size >= size:
        return update(state, *batched_args)

    def update_chunk(state, start, length: int):
        def cut(array):
            return jax.lax.dynamic_slice_in_dim(array, start, length, axis=axis)

        updated = update(jax.tree_util.tree_map(cut, state), *(cut(array) for array in batched_args))
        return jax.tree_util.tree_map(
            lambda whole, part: jax.lax.dynamic_update_slice_in_dim(whole, part, start, axis=axis), state, updated)

    num_full = size // chunk_size
    state, _ = hk.scan(lambda state, start: (update_chunk(state, start, chunk_size), None), state,
                       jnp.arange(num_full) * chunk_size)
    if num_full * chunk_size < size:
        state = update_chunk(state, num_full * chunk_size, size - num_full * chunk_size)
    return state


def add_in_chunks(update: Callable[..., jnp.ndarray], act: jnp.ndarray, batched_args: Sequence[jnp.ndarray],
                  chunk_size: int | None, axis: int = 0) -> jnp.ndarray:
    """``act + update(act, *batched_args)``, ``chunk_size`` slices of ``axis`` at a time, in place
    (:func:`update_in_chunks`): a residual update that each slice of ``act`` gets from itself alone. The
    update is cast to ``act``'s precision before it is added."""
    return update_in_chunks(lambda act, *args: act + update(act, *args).astype(act.dtype), act, batched_args,
                            chunk_size, axis)


def chunk_budget_bytes(global_config: GlobalConfig) -> float:
    """The ``"auto"`` chunk budget in bytes: ``chunk_budget_mb``, or the default of the running backend."""
    budget_mb = global_config.chunk_budget_mb
    if budget_mb is None:
        budget_mb = DEFAULT_CHUNK_BUDGET_MB.get(jax.default_backend(), ACCELERATOR_CHUNK_BUDGET_MB)
    return budget_mb * 2 ** 20


def chunk_size_for(setting: ChunkSize, num_rows: int, bytes_per_row: float, global_config: GlobalConfig) -> int | None:
    """Rows per chunk for a layer with ``num_rows`` rows whose intermediates take ``bytes_per_row`` each.

    An int or ``None`` setting is used as it is; ``"auto"`` gives ``None`` (no chunking) when all rows fit
    the chunk budget, else the most rows that do (at least one), lowered to a divisor of ``num_rows`` when
    one is at least half as large: without a shorter last chunk the chunks' outputs need no concatenation.
    """
    if setting != AUTO:
        if setting is not None and (isinstance(setting, str) or setting < 1):
            raise ValueError(f"chunk size {setting!r}: use a positive int, None or {AUTO!r}")
        return setting
    budget = chunk_budget_bytes(global_config)
    if num_rows * bytes_per_row <= budget:
        return None
    most = max(1, int(budget // bytes_per_row))
    for size in range(most, most // 2, -1):
        if num_rows % size == 0:
            return size
    return most
