"""Triangular updates of the pair representation: Algorithms 11-14.

* :class:`TriangleMultiplication` -- Algorithm 11 "TriangleMultiplicationOutgoing" (edge ij is updated from
  edges ik and jk) and Algorithm 12 "TriangleMultiplicationIncoming" (from ki and kj);
* :class:`TriangleAttention` -- Algorithm 13 "TriangleAttentionStartingNode" (row i attends over its edges
  ij, biased by edges jk) and Algorithm 14 "TriangleAttentionEndingNode" (the same on the transposed pair).

Pair activations [N_res, N_res, c_z], pair mask [N_res, N_res]. Triangle multiplication returns the
update; triangle attention returns the updated pair (each chunk of rows is updated in place).
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model.attention import Attention, attention_chunk_sizes
from snakefold.model.hyperparameters import AttentionConfig, GlobalConfig, TriangleMultiplicationConfig
from snakefold.model.primitives import (
    LayerNorm,
    Linear,
    add_in_chunks,
    apply_in_chunks,
    chunk_size_for,
    final_initializer,
    mask_bias,
)


class TriangleMultiplication(hk.Module):
    """Algorithms 11 (``config.outgoing``) and 12: ``pair_act`` [N, N, c_z], ``pair_mask`` [N, N] -> update.

    Two gated, masked projections a = ``left`` and b = ``right`` of the normalised pair are multiplied
    along the third residue k: outgoing sum_k a_ik b_jk, incoming sum_k a_kj b_ki. The product is
    normalised, projected back to c_z and gated by the normalised input.

    The four projections (two values, two gates) run as one matrix product that writes them channel-major,
    [c, N, N], so that each channel's product over k is a plain matrix product; they and the products are
    formed ``GlobalConfig.triangle_chunk_size`` channels at a time (``"auto"``: as many as the chunk
    budget holds), and the [c, N, N] product is normalised over its leading channel axis. With
    ``fuse_projection_weights`` the same four projections are read from AlphaFold-Multimer v3's two fused
    layers (``projection`` and ``gate``, [c_z, 2c] each, left half first).
    """

    def __init__(self, config: TriangleMultiplicationConfig, global_config: GlobalConfig,
                 name: str = "triangle_multiplication"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, pair_act: jnp.ndarray, pair_mask: jnp.ndarray) -> jnp.ndarray:
        num_intermediate = self.config.num_intermediate_channel
        num_res, _, num_channel = pair_act.shape
        final_init = final_initializer(self.global_config)
        dtype = pair_act.dtype
        mask = pair_mask.astype(dtype)
        fused = self.config.fuse_projection_weights
        pair_act = LayerNorm(name="left_norm_input" if fused else "layer_norm_input")(pair_act)

        if fused:
            value_weights, value_bias = Linear(2 * num_intermediate, name="projection").parameters(num_channel, dtype)
            gate_weights, gate_bias = Linear(2 * num_intermediate, initializer=final_init, bias_init=1.0,
                                             name="gate").parameters(num_channel, dtype)
            weights = [value_weights[:, :num_intermediate], value_weights[:, num_intermediate:],
                       gate_weights[:, :num_intermediate], gate_weights[:, num_intermediate:]]
            biases = [value_bias[:num_intermediate], value_bias[num_intermediate:],
                      gate_bias[:num_intermediate], gate_bias[num_intermediate:]]
        else:
            projections = [Linear(num_intermediate, name="left_projection"),
                           Linear(num_intermediate, name="right_projection"),
                           Linear(num_intermediate, initializer=final_init, bias_init=1.0, name="left_gate"),
                           Linear(num_intermediate, initializer=final_init, bias_init=1.0, name="right_gate")]
            weights, biases = zip(*(layer.parameters(num_channel, dtype) for layer in projections))
        # Channel-major stacks: weights [c, c_z, 4], biases [c, 4] (left, right, left gate, right gate).
        weights = jnp.stack(weights, axis=-1).transpose(1, 0, 2)
        biases = jnp.stack(biases, axis=-1)

        def channel_products(weight_chunk: jnp.ndarray, bias_chunk: jnp.ndarray) -> jnp.ndarray:
            projected = jnp.einsum("ija,cap->pcij", pair_act, weight_chunk) + bias_chunk.T[:, :, None, None]
            left = mask * projected[0] * jax.nn.sigmoid(projected[2])
            right = mask * projected[1] * jax.nn.sigmoid(projected[3])
            if self.config.outgoing:
                return jnp.einsum("cik,cjk->cij", left, right, preferred_element_type=jnp.float32)
            return jnp.einsum("ckj,cki->cij", left, right, preferred_element_type=jnp.float32)

        # Per channel: four projections, two gated values and the product, [N, N] each.
        channel_bytes = 7 * num_res * num_res * 4
        chunk_size = chunk_size_for(self.global_config.triangle_chunk_size, num_intermediate, channel_bytes,
                                    self.global_config)
        product = apply_in_chunks(channel_products, (weights, biases), chunk_size)

        update = LayerNorm(axis=0, name="center_norm" if fused else "center_layer_norm")(product).astype(dtype)
        output_weights, output_bias = Linear(num_channel, initializer=final_init,
                                             name="output_projection").parameters(num_intermediate, dtype)
        update = jnp.einsum("cij,cd->ijd", update, output_weights) + output_bias
        gate = Linear(num_channel, initializer=final_init, bias_init=1.0, name="gating_linear")(pair_act)
        return update * jax.nn.sigmoid(gate)


class TriangleAttention(hk.Module):
    """Algorithms 13 and 14 (``ending_node``): ``pair_act`` [N, N, c_z], ``pair_mask`` [N, N] -> updated pair.

    Starting node: each row i of the pair is a batch element, its edges ij the queries and keys, with a
    per-head bias b_jk projected from the normalised pair. Ending node: the same on the transposed pair,
    transposed back. Rows (columns for the ending node) are normalised, attended and updated in place a
    chunk at a time (:func:`~snakefold.model.attention.attention_chunk_sizes`), so that neither a
    transposed nor a normalised copy of the whole pair outlives the bias.
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig, ending_node: bool,
                 name: str = "triangle_attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config
        self.ending_node = ending_node

    def __call__(self, pair_act: jnp.ndarray, pair_mask: jnp.ndarray) -> jnp.ndarray:
        gc = self.global_config
        num_res, _, pair_channel = pair_act.shape
        query_norm = LayerNorm(name="query_norm")
        feat_2d_weights = hk.get_parameter("feat_2d_weights", (pair_channel, self.config.num_head), pair_act.dtype,
                                           hk.initializers.RandomNormal(stddev=1.0 / pair_channel ** 0.5))
        # The bias b_jk of the attention along rows; along columns (ending node) that of the transposed pair.
        bias_equation = "kqc,ch->hqk" if self.ending_node else "qkc,ch->hqk"
        triangle_bias = jnp.einsum(bias_equation, query_norm(pair_act), feat_2d_weights)
        attention = Attention(self.config, gc, pair_channel)
        row_chunk, query_chunk = attention_chunk_sizes(gc.subbatch_size, num_res, num_res, num_res, self.config,
                                                       pair_channel, pair_channel, gc)

        def rows(pair_rows: jnp.ndarray, mask_rows: jnp.ndarray) -> jnp.ndarray:
            if self.ending_node:
                pair_rows, mask_rows = jnp.swapaxes(pair_rows, 0, 1), jnp.swapaxes(mask_rows, 0, 1)
            normalised = query_norm(pair_rows)
            update = attention(normalised, normalised, mask_bias(mask_rows)[:, None, None, :], triangle_bias,
                               query_chunk_size=query_chunk)
            return jnp.swapaxes(update, 0, 1) if self.ending_node else update

        return add_in_chunks(rows, pair_act, (pair_mask,), row_chunk, axis=1 if self.ending_node else 0)
