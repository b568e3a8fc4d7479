"""Transition layers: a position-wise two-layer MLP, Algorithm 9 "MSATransition" and 15 "PairTransition".

Each position of an MSA [N_seq, N_res, c] or pair [N_res, N_res, c] representation is layer-normalised,
widened to ``num_intermediate_factor * c`` channels with a ReLU, and projected back to c. The layer
returns the updated activations (input plus update); rows are normalised, processed and updated in place
``GlobalConfig.subbatch_size`` at a time (``"auto"``: as many as the chunk budget holds), so the widened
hidden activations never exist for the whole tensor at once.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model.hyperparameters import GlobalConfig, TransitionConfig
from snakefold.model.primitives import LayerNorm, Linear, add_in_chunks, chunk_size_for, final_initializer


class Transition(hk.Module):
    """Algorithms 9 and 15: ``act`` [N_rows, N_cols, c] -> updated ``act``."""

    def __init__(self, config: TransitionConfig, global_config: GlobalConfig, name: str = "transition_block"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, act: jnp.ndarray) -> jnp.ndarray:
        num_channel = act.shape[-1]
        norm = LayerNorm(name="input_layer_norm")
        widen = Linear(num_channel * self.config.num_intermediate_factor, initializer="relu", name="transition1")
        narrow = Linear(num_channel, initializer=final_initializer(self.global_config), name="transition2")
        # Per row: the normalised input, the hidden activations and the output.
        row_bytes = act.shape[1] * num_channel * (self.config.num_intermediate_factor + 2) * 4
        chunk_size = chunk_size_for(self.global_config.subbatch_size, act.shape[0], row_bytes, self.global_config)
        return add_in_chunks(lambda rows: narrow(jax.nn.relu(widen(norm(rows)))), act, (), chunk_size)
