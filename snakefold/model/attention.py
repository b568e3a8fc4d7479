"""Gated multi-head attention and the MSA attention layers of the Evoformer.

* :class:`Attention` -- gated multi-head attention with an additive bias, the core of Algorithms 7, 8, 13,
  14 and 17;
* :class:`GlobalAttention` -- one averaged query per batch element (Algorithm 19 lines 2-7);
* :class:`MSARowAttentionWithPairBias` -- Algorithm 7;
* :class:`MSAColumnAttention` -- Algorithm 8;
* :class:`MSAColumnGlobalAttention` -- Algorithm 19, used by the extra-MSA stack.

Shapes: MSA activations [N_seq, N_res, c_m], MSA mask [N_seq, N_res], pair activations [N_res, N_res, c_z].
The layers return the residual update, not the updated activations. Attention runs in chunks of
``GlobalConfig.subbatch_size`` batch rows so that the [rows, heads, queries, keys] logits stay small.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model.config import AttentionConfig, GlobalConfig
from snakefold.model.primitives import LayerNorm, apply_in_chunks, glorot_uniform, mask_bias


def _head_dims(config: AttentionConfig, query_channel: int, memory_channel: int) -> tuple[int, int]:
    key_dim = config.key_dim if config.key_dim is not None else query_channel
    value_dim = config.value_dim if config.value_dim is not None else memory_channel
    if key_dim % config.num_head or value_dim % config.num_head:
        raise ValueError(f"key_dim {key_dim} and value_dim {value_dim} must divide by num_head {config.num_head}")
    return key_dim // config.num_head, value_dim // config.num_head


def _output_initializer(global_config: GlobalConfig) -> hk.initializers.Initializer:
    return hk.initializers.Constant(0.0) if global_config.zero_init else glorot_uniform()


class Attention(hk.Module):
    """Gated multi-head attention from queries [B, Q, c_q] to memories [B, K, c_m].

    For each head h: q = W_q x_q / sqrt(c), k = W_k x_m, v = W_v x_m; weights = softmax_k(q.k + bias);
    output = sum_h W_o (sigmoid(W_g x_q + b_g) * sum_k weights v) + b_o. ``bias`` broadcasts to
    [B, H, Q, K] and carries the key mask; ``nonbatched_bias`` [H, Q, K] is shared by the whole batch (the
    pair bias of Algorithms 7, 13 and 14). Returns [B, Q, output_dim].
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig, output_dim: int,
                 name: str = "attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config
        self.output_dim = output_dim

    def __call__(self, q_data: jnp.ndarray, m_data: jnp.ndarray, bias: jnp.ndarray,
                 nonbatched_bias: jnp.ndarray | None = None, chunk_size: int | None = None) -> jnp.ndarray:
        num_head = self.config.num_head
        key_dim, value_dim = _head_dims(self.config, q_data.shape[-1], m_data.shape[-1])
        dtype = q_data.dtype
        query_w = hk.get_parameter("query_w", (q_data.shape[-1], num_head, key_dim), dtype, glorot_uniform())
        key_w = hk.get_parameter("key_w", (m_data.shape[-1], num_head, key_dim), dtype, glorot_uniform())
        value_w = hk.get_parameter("value_w", (m_data.shape[-1], num_head, value_dim), dtype, glorot_uniform())
        if self.config.gating:
            gating_w = hk.get_parameter("gating_w", (q_data.shape[-1], num_head, value_dim), dtype,
                                        hk.initializers.Constant(0.0))
            gating_b = hk.get_parameter("gating_b", (num_head, value_dim), dtype, hk.initializers.Constant(1.0))
        output_w = hk.get_parameter("output_w", (num_head, value_dim, self.output_dim), dtype,
                                    _output_initializer(self.global_config))
        output_b = hk.get_parameter("output_b", (self.output_dim,), dtype, hk.initializers.Constant(0.0))

        def attend(q_rows: jnp.ndarray, m_rows: jnp.ndarray, bias_rows: jnp.ndarray) -> jnp.ndarray:
            q = jnp.einsum("bqa,ahc->bqhc", q_rows, query_w) * key_dim ** (-0.5)
            k = jnp.einsum("bka,ahc->bkhc", m_rows, key_w)
            v = jnp.einsum("bka,ahc->bkhc", m_rows, value_w)
            logits = jnp.einsum("bqhc,bkhc->bhqk", q, k) + bias_rows
            if nonbatched_bias is not None:
                logits += nonbatched_bias[None]
            weights = jax.nn.softmax(logits)
            weighted_avg = jnp.einsum("bhqk,bkhc->bqhc", weights, v)
            if self.config.gating:
                gate = jax.nn.sigmoid(jnp.einsum("bqc,chv->bqhv", q_rows, gating_w) + gating_b)
                weighted_avg *= gate
            return jnp.einsum("bqhc,hco->bqo", weighted_avg, output_w) + output_b

        bias = jnp.broadcast_to(bias, (q_data.shape[0],) + bias.shape[1:])
        return apply_in_chunks(attend, (q_data, m_data, bias), chunk_size)


class GlobalAttention(hk.Module):
    """Global attention (Algorithm 19 lines 2-7): one query per batch element, the masked mean of q_data.

    ``q_data`` and ``m_data`` [B, Q, c], ``q_mask`` [B, Q, 1]. Keys and values have a single head; the
    gate is per query. Returns [B, Q, output_dim].
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig, output_dim: int,
                 name: str = "attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config
        self.output_dim = output_dim

    def __call__(self, q_data: jnp.ndarray, m_data: jnp.ndarray, q_mask: jnp.ndarray,
                 chunk_size: int | None = None) -> jnp.ndarray:
        num_head = self.config.num_head
        key_dim, value_dim = _head_dims(self.config, q_data.shape[-1], m_data.shape[-1])
        dtype = q_data.dtype
        query_w = hk.get_parameter("query_w", (q_data.shape[-1], num_head, key_dim), dtype, glorot_uniform())
        key_w = hk.get_parameter("key_w", (m_data.shape[-1], key_dim), dtype, glorot_uniform())
        value_w = hk.get_parameter("value_w", (m_data.shape[-1], value_dim), dtype, glorot_uniform())
        output_w = hk.get_parameter("output_w", (num_head, value_dim, self.output_dim), dtype,
                                    _output_initializer(self.global_config))
        output_b = hk.get_parameter("output_b", (self.output_dim,), dtype, hk.initializers.Constant(0.0))
        if self.config.gating:
            gating_w = hk.get_parameter("gating_w", (q_data.shape[-1], num_head, value_dim), dtype,
                                        hk.initializers.Constant(0.0))
            gating_b = hk.get_parameter("gating_b", (num_head, value_dim), dtype, hk.initializers.Constant(1.0))

        def attend(q_rows: jnp.ndarray, m_rows: jnp.ndarray, mask_rows: jnp.ndarray) -> jnp.ndarray:
            v = jnp.einsum("bka,ac->bkc", m_rows, value_w)
            q_avg = jnp.sum(mask_rows * q_rows, axis=1) / (jnp.sum(mask_rows, axis=1) + 1e-10)
            q = jnp.einsum("ba,ahc->bhc", q_avg, query_w) * key_dim ** (-0.5)
            k = jnp.einsum("bka,ac->bkc", m_rows, key_w)
            logits = jnp.einsum("bhc,bkc->bhk", q, k) + mask_bias(mask_rows[:, None, :, 0])
            weights = jax.nn.softmax(logits)
            weighted_avg = jnp.einsum("bhk,bkc->bhc", weights, v)
            if self.config.gating:
                gate = jax.nn.sigmoid(jnp.einsum("bqc,chv->bqhv", q_rows, gating_w) + gating_b)
                return jnp.einsum("bqhc,hco->bqo", weighted_avg[:, None] * gate, output_w) + output_b
            output = jnp.einsum("bhc,hco->bo", weighted_avg, output_w) + output_b
            return jnp.broadcast_to(output[:, None], q_rows.shape[:2] + (self.output_dim,))

        return apply_in_chunks(attend, (q_data, m_data, q_mask), chunk_size)


class MSARowAttentionWithPairBias(hk.Module):
    """Algorithm 7 "MSARowAttentionWithPairBias": each MSA row attends along residues, biased by the pair.

    ``msa_act`` [N_seq, N_res, c_m], ``msa_mask`` [N_seq, N_res], ``pair_act`` [N_res, N_res, c_z];
    returns the update [N_seq, N_res, c_m].
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig,
                 name: str = "msa_row_attention_with_pair_bias"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, msa_act: jnp.ndarray, msa_mask: jnp.ndarray, pair_act: jnp.ndarray) -> jnp.ndarray:
        bias = mask_bias(msa_mask)[:, None, None, :]
        msa_act = LayerNorm(name="query_norm")(msa_act)
        pair_act = LayerNorm(name="feat_2d_norm")(pair_act)
        pair_channel = pair_act.shape[-1]
        feat_2d_weights = hk.get_parameter("feat_2d_weights", (pair_channel, self.config.num_head), msa_act.dtype,
                                           hk.initializers.RandomNormal(stddev=1.0 / pair_channel ** 0.5))
        pair_bias = jnp.einsum("qkc,ch->hqk", pair_act, feat_2d_weights)
        attention = Attention(self.config, self.global_config, msa_act.shape[-1])
        return attention(msa_act, msa_act, bias, pair_bias, chunk_size=self.global_config.subbatch_size)


class MSAColumnAttention(hk.Module):
    """Algorithm 8 "MSAColumnAttention": each residue column attends along the sequences.

    ``msa_act`` [N_seq, N_res, c_m], ``msa_mask`` [N_seq, N_res]; returns the update [N_seq, N_res, c_m].
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig, name: str = "msa_column_attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, msa_act: jnp.ndarray, msa_mask: jnp.ndarray) -> jnp.ndarray:
        columns = jnp.swapaxes(msa_act, 0, 1)
        column_mask = jnp.swapaxes(msa_mask, 0, 1)
        bias = mask_bias(column_mask)[:, None, None, :]
        columns = LayerNorm(name="query_norm")(columns)
        attention = Attention(self.config, self.global_config, columns.shape[-1])
        update = attention(columns, columns, bias, chunk_size=self.global_config.subbatch_size)
        return jnp.swapaxes(update, 0, 1)


class MSAColumnGlobalAttention(hk.Module):
    """Algorithm 19 "MSAColumnGlobalAttention": column attention with one averaged query per column.

    Used by the extra-MSA stack, whose thousands of rows make full column attention too costly.
    ``msa_act`` [N_extra, N_res, c_e], ``msa_mask`` [N_extra, N_res]; returns the update.
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig,
                 name: str = "msa_column_global_attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, msa_act: jnp.ndarray, msa_mask: jnp.ndarray) -> jnp.ndarray:
        columns = jnp.swapaxes(msa_act, 0, 1)
        column_mask = jnp.swapaxes(msa_mask, 0, 1)[..., None]
        columns = LayerNorm(name="query_norm")(columns)
        attention = GlobalAttention(self.config, self.global_config, columns.shape[-1])
        update = attention(columns, columns, column_mask, chunk_size=self.global_config.subbatch_size)
        return jnp.swapaxes(update, 0, 1)
