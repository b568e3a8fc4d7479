"""Triangular updates of the pair representation: Algorithms 11-14.

* :class:`TriangleMultiplication` -- Algorithm 11 "TriangleMultiplicationOutgoing" (edge ij is updated from
  edges ik and jk) and Algorithm 12 "TriangleMultiplicationIncoming" (from ki and kj);
* :class:`TriangleAttention` -- Algorithm 13 "TriangleAttentionStartingNode" (row i attends over its edges
  ij, biased by edges jk) and Algorithm 14 "TriangleAttentionEndingNode" (the same on the transposed pair).

Pair activations [N_res, N_res, c_z], pair mask [N_res, N_res]; every layer returns the update.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model.attention import Attention
from snakefold.model.config import AttentionConfig, GlobalConfig, TriangleMultiplicationConfig
from snakefold.model.primitives import LayerNorm, Linear, final_initializer, mask_bias


class TriangleMultiplication(hk.Module):
    """Algorithms 11 (``config.outgoing``) and 12: ``pair_act`` [N, N, c_z], ``pair_mask`` [N, N] -> update.

    Two gated, masked projections a = ``left`` and b = ``right`` of the normalised pair are multiplied
    along the third residue k: outgoing sum_k a_ik b_jk, incoming sum_k a_kj b_ki. The product is
    normalised, projected back to c_z and gated by the normalised input.
    """

    def __init__(self, config: TriangleMultiplicationConfig, global_config: GlobalConfig,
                 name: str = "triangle_multiplication"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, pair_act: jnp.ndarray, pair_mask: jnp.ndarray) -> jnp.ndarray:
        num_intermediate = self.config.num_intermediate_channel
        final_init = final_initializer(self.global_config)
        mask = pair_mask[..., None]
        pair_act = LayerNorm(name="layer_norm_input")(pair_act)

        left = mask * Linear(num_intermediate, name="left_projection")(pair_act)
        right = mask * Linear(num_intermediate, name="right_projection")(pair_act)
        left *= jax.nn.sigmoid(Linear(num_intermediate, initializer=final_init, bias_init=1.0,
                                      name="left_gate")(pair_act))
        right *= jax.nn.sigmoid(Linear(num_intermediate, initializer=final_init, bias_init=1.0,
                                       name="right_gate")(pair_act))
        if self.config.outgoing:
            product = jnp.einsum("ikc,jkc->ijc", left, right)
        else:
            product = jnp.einsum("kjc,kic->ijc", left, right)

        update = LayerNorm(name="center_layer_norm")(product)
        update = Linear(pair_act.shape[-1], initializer=final_init, name="output_projection")(update)
        gate = Linear(pair_act.shape[-1], initializer=final_init, bias_init=1.0, name="gating_linear")(pair_act)
        return update * jax.nn.sigmoid(gate)


class TriangleAttention(hk.Module):
    """Algorithms 13 and 14 (``ending_node``): ``pair_act`` [N, N, c_z], ``pair_mask`` [N, N] -> update.

    Starting node: each row i of the pair is a batch element, its edges ij the queries and keys, with a
    per-head bias b_jk projected from the normalised pair. Ending node: the same on the transposed pair,
    transposed back.
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig, ending_node: bool,
                 name: str = "triangle_attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config
        self.ending_node = ending_node

    def __call__(self, pair_act: jnp.ndarray, pair_mask: jnp.ndarray) -> jnp.ndarray:
        if self.ending_node:
            pair_act = jnp.swapaxes(pair_act, 0, 1)
            pair_mask = jnp.swapaxes(pair_mask, 0, 1)
        bias = mask_bias(pair_mask)[:, None, None, :]
        pair_act = LayerNorm(name="query_norm")(pair_act)
        pair_channel = pair_act.shape[-1]
        feat_2d_weights = hk.get_parameter("feat_2d_weights", (pair_channel, self.config.num_head), pair_act.dtype,
                                           hk.initializers.RandomNormal(stddev=1.0 / pair_channel ** 0.5))
        triangle_bias = jnp.einsum("qkc,ch->hqk", pair_act, feat_2d_weights)
        attention = Attention(self.config, self.global_config, pair_channel)
        update = attention(pair_act, pair_act, bias, triangle_bias, chunk_size=self.global_config.subbatch_size)
        if self.ending_node:
            update = jnp.swapaxes(update, 0, 1)
        return update
