"""Transition layers: a position-wise two-layer MLP, Algorithm 9 "MSATransition" and 15 "PairTransition".

Each position of an MSA [N_seq, N_res, c] or pair [N_res, N_res, c] representation is layer-normalised,
widened to ``num_intermediate_factor * c`` channels with a ReLU, and projected back to c. The layer
returns the update; rows are processed ``GlobalConfig.subbatch_size`` at a time, so the widened hidden
activations never exist for the whole tensor at once.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model.config import GlobalConfig, TransitionConfig
from snakefold.model.primitives import LayerNorm, Linear, apply_in_chunks, final_initializer


class Transition(hk.Module):
    """Algorithms 9 and 15: ``act`` [N_rows, N_cols, c] -> update [N_rows, N_cols, c]."""

    def __init__(self, config: TransitionConfig, global_config: GlobalConfig, name: str = "transition_block"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, act: jnp.ndarray) -> jnp.ndarray:
        num_channel = act.shape[-1]
        act = LayerNorm(name="input_layer_norm")(act)
        widen = Linear(num_channel * self.config.num_intermediate_factor, initializer="relu", name="transition1")
        narrow = Linear(num_channel, initializer=final_initializer(self.global_config), name="transition2")
        return apply_in_chunks(lambda rows: narrow(jax.nn.relu(widen(rows))), (act,),
                               self.global_config.subbatch_size)
