"""A stack of identical layers with separate parameters, run as one ``scan`` (compile time independent of depth).

AlphaFold2 stores the parameters of its repeated blocks (48 Evoformer blocks, 4 extra-MSA blocks, 2
template pair blocks) stacked: each array has a leading layer dimension. :class:`LayerStack` creates
exactly that layout. At initialisation it runs the layer once, creating every parameter with the extra
leading dimension (each layer initialised from its own random key); when applied it scans over the
layers, handing each one its slice. Modules the layer function creates itself are named under the stack
(``<scope>/__layer_stack_no_state/<module>``, the template pair stack's layout); a module created outside
and only called inside keeps its own name (``evoformer/evoformer_iteration``, the Evoformer's layout).
"""

from __future__ import annotations

from typing import Any, Callable

import haiku as hk
import jax
import jax.numpy as jnp

#: The scope name AlphaFold2's published parameters use for a layer stack.
LAYER_STACK_NAME = "__layer_stack_no_state"


class LayerStack(hk.Module):
    """Apply ``layer`` ``num_layers`` times, ``carry = layer(carry)``, each time with its own parameters."""

    def __init__(self, layer: Callable[[Any], Any], num_layers: int, name: str = LAYER_STACK_NAME):
        super().__init__(name=name)
        self.layer = layer
        self.num_layers = num_layers

    def __call__(self, carry: Any) -> Any:
        num_layers = self.num_layers
        if hk.running_init():
            def stacked_creator(next_creator, shape, dtype, init, context):
                del context

                def init_every_layer(stacked_shape, dtype):
                    layer_keys = jax.random.split(hk.next_rng_key(), num_layers)

                    def init_one(key):
                        with hk.with_rng(key):
                            return init(tuple(stacked_shape[1:]), dtype)

                    return jax.vmap(init_one)(layer_keys)

                return next_creator((num_layers,) + tuple(shape), dtype, init_every_layer)

            def first_layer_getter(next_getter, value, context):
                del context
                return next_getter(value[0])

            with hk.custom_creator(stacked_creator), hk.custom_getter(first_layer_getter):
                return self._apply_layer(carry)

        def step(carry, layer_index):
            def layer_getter(next_getter, value, context):
                del context
                return next_getter(jax.lax.dynamic_index_in_dim(value, layer_index, axis=0, keepdims=False))

            with hk.custom_getter(layer_getter):
                return self._apply_layer(carry), None

        carry, _ = hk.scan(step, carry, jnp.arange(num_layers))
        return carry

    @hk.transparent
    def _apply_layer(self, carry: Any) -> Any:
        return self.layer(carry)
