"""Gated multi-head attention and the MSA attention layers of the Evoformer.

* :class:`Attention` -- gated multi-head attention with an additive bias, the core of Algorithms 7, 8, 13,
  14 and 17;
* :class:`GlobalAttention` -- one averaged query per batch element (Algorithm 19 lines 2-7);
* :class:`MSARowAttentionWithPairBias` -- Algorithm 7;
* :class:`MSAColumnAttention` -- Algorithm 8;
* :class:`MSAColumnGlobalAttention` -- Algorithm 19, used by the extra-MSA stack.

Shapes: MSA activations [N_seq, N_res, c_m], MSA mask [N_seq, N_res], pair activations [N_res, N_res, c_z].
The three MSA layers return the updated activations (their input plus the residual update). They run in
chunks of ``GlobalConfig.subbatch_size`` batch rows (MSA rows, or columns for column attention;
``"auto"``: :func:`attention_chunk_sizes`) so that the [rows, heads, queries, keys] logits stay small;
each chunk is layer-normalised (and transposed, for column attention), attended and added back in place
(:func:`~snakefold.model.primitives.add_in_chunks`), so that no second copy of the whole MSA exists.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model.hyperparameters import AUTO, AttentionConfig, ChunkSize, GlobalConfig
from snakefold.model.primitives import (
    LayerNorm,
    add_in_chunks,
    apply_in_chunks,
    chunk_budget_bytes,
    chunk_size_for,
    glorot_uniform,
    mask_bias,
)


def _head_dims(config: AttentionConfig, query_channel: int, memory_channel: int) -> tuple[int, int]:
    key_dim = config.key_dim if config.key_dim is not None else query_channel
    value_dim = config.value_dim if config.value_dim is not None else memory_channel
    if key_dim % config.num_head or value_dim % config.num_head:
        raise ValueError(f"key_dim {key_dim} and value_dim {value_dim} must divide by num_head {config.num_head}")
    return key_dim // config.num_head, value_dim // config.num_head


def _output_initializer(global_config: GlobalConfig) -> hk.initializers.Initializer:
    return hk.initializers.Constant(0.0) if global_config.zero_init else glorot_uniform()


def attention_chunk_sizes(setting: ChunkSize, num_rows: int, num_queries: int, num_keys: int,
                          config: AttentionConfig, query_channel: int, memory_channel: int,
                          global_config: GlobalConfig) -> tuple[int | None, int | None]:
    """(rows, queries) per chunk of an attention over [num_rows, num_queries] queries and num_keys keys.

    An int or ``None`` setting chunks rows only. ``"auto"`` takes the most rows whose intermediates fit the
    chunk budget -- per row, float32: the logits and their exponentials [H, Q, K], the normalised input,
    queries, gate and output [Q, ...], keys and values [K, ...] -- and, when one row does not fit, one row
    at a time in chunks of queries.
    """
    key_dim, value_dim = _head_dims(config, query_channel, memory_channel)
    query_bytes = 4 * (2 * config.num_head * num_keys + 2 * config.num_head * key_dim + 2 * query_channel)
    row_bytes = num_queries * query_bytes + 4 * num_keys * (memory_channel + 2 * config.num_head * value_dim)
    row_chunk = chunk_size_for(setting, num_rows, row_bytes, global_config)
    if setting != AUTO or row_bytes <= chunk_budget_bytes(global_config):
        return row_chunk, None
    return row_chunk, chunk_size_for(AUTO, num_queries, query_bytes, global_config)


class Attention(hk.Module):
    """Gated multi-head attention from queries [B, Q, c_q] to memories [B, K, c_m].

    For each head h: q = W_q x_q / sqrt(c), k = W_k x_m, v = W_v x_m; weights = softmax_k(q.k + bias);
    output = sum_h W_o (sigmoid(W_g x_q + b_g) * sum_k weights v) + b_o. ``bias`` broadcasts to
    [B, H, Q, K] and carries the key mask; ``nonbatched_bias`` [H, Q, K] is shared by the whole batch (the
    pair bias of Algorithms 7, 13 and 14). Returns [B, Q, output_dim].

    ``chunk_size``: rows of B at a time (``"auto"``: rows and queries by :func:`attention_chunk_sizes`);
    ``query_chunk_size``: queries at a time within a row chunk, for an int or ``None`` ``chunk_size``. The
    softmax is normalised after the weighted sum of values (one division per output instead of per
    weight); logits, softmax and sums are float32 whatever the activations' precision.
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig, output_dim: int,
                 name: str = "attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config
        self.output_dim = output_dim

    def __call__(self, q_data: jnp.ndarray, m_data: jnp.ndarray, bias: jnp.ndarray,
                 nonbatched_bias: jnp.ndarray | None = None, chunk_size: ChunkSize = None,
                 query_chunk_size: int | None = None) -> jnp.ndarray:
        key_dim = _head_dims(self.config, q_data.shape[-1], m_data.shape[-1])[0]
        weights = self.parameters(q_data.shape[-1], m_data.shape[-1], q_data.dtype)
        query_w, key_w, value_w = weights["query_w"], weights["key_w"], weights["value_w"]
        gating_w, gating_b = weights.get("gating_w"), weights.get("gating_b")
        output_w, output_b = weights["output_w"], weights["output_b"]

        num_rows, num_queries = q_data.shape[:2]
        row_chunk, query_chunk = chunk_size, query_chunk_size
        if chunk_size == AUTO:
            row_chunk, query_chunk = attention_chunk_sizes(AUTO, num_rows, num_queries, m_data.shape[1], self.config,
                                                           q_data.shape[-1], m_data.shape[-1], self.global_config)
        scale = key_dim ** (-0.5)

        def project_queries(q_rows: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray | None]:
            queries = jnp.einsum("bqa,ahc->bqhc", q_rows, query_w)
            gate = None if gating_w is None else jnp.einsum("bqa,ahc->bqhc", q_rows, gating_w)
            return queries, gate

        def attend_projected(queries, gate, keys, values, bias_rows, pair_bias) -> jnp.ndarray:
            """Projected queries and gate [b, q, h, c], keys and values [b, k, h, c] -> [b, q, output_dim]."""
            full_bias = bias_rows if pair_bias is None else bias_rows + pair_bias[None]
            weighted = self._weighted_values(queries * scale, keys, values, full_bias)
            if gate is not None:
                weighted *= jax.nn.sigmoid(gate + gating_b)
            return jnp.einsum("bqhc,hco->bqo", weighted, output_w) + output_b

        def attend(q_rows: jnp.ndarray, m_rows: jnp.ndarray, bias_rows: jnp.ndarray,
                   pair_bias: jnp.ndarray | None) -> jnp.ndarray:
            keys = jnp.einsum("bka,ahc->bkhc", m_rows, key_w)
            values = jnp.einsum("bka,ahc->bkhc", m_rows, value_w)
            if query_chunk is None:
                return attend_projected(*project_queries(q_rows), keys, values, bias_rows, pair_bias)
            if pair_bias is None:
                return apply_in_chunks(
                    lambda q: attend_projected(*project_queries(q), keys, values, bias_rows, None),
                    (q_rows,), query_chunk, in_axis=1, out_axis=1)
            # Queries are axis 1 of both the query rows [b, Q, c] and the pair bias [H, Q, K].
            return apply_in_chunks(
                lambda q, pair: attend_projected(*project_queries(q), keys, values, bias_rows, pair),
                (q_rows, pair_bias), query_chunk, in_axis=1, out_axis=1)

        bias = jnp.broadcast_to(bias, (num_rows,) + bias.shape[1:])
        return apply_in_chunks(lambda q, m, b: attend(q, m, b, nonbatched_bias), (q_data, m_data, bias), row_chunk)

    def parameters(self, query_channel: int, memory_channel: int, dtype) -> dict[str, jnp.ndarray]:
        """The layer's parameters by AlphaFold2's names (``gating_*`` only with gating), for callers that
        apply them themselves."""
        num_head = self.config.num_head
        key_dim, value_dim = _head_dims(self.config, query_channel, memory_channel)
        weights = {
            "query_w": hk.get_parameter("query_w", (query_channel, num_head, key_dim), dtype, glorot_uniform()),
            "key_w": hk.get_parameter("key_w", (memory_channel, num_head, key_dim), dtype, glorot_uniform()),
            "value_w": hk.get_parameter("value_w", (memory_channel, num_head, value_dim), dtype, glorot_uniform()),
        }
        if self.config.gating:
            weights["gating_w"] = hk.get_parameter("gating_w", (query_channel, num_head, value_dim), dtype,
                                                   hk.initializers.Constant(0.0))
            weights["gating_b"] = hk.get_parameter("gating_b", (num_head, value_dim), dtype,
                                                   hk.initializers.Constant(1.0))
        weights["output_w"] = hk.get_parameter("output_w", (num_head, value_dim, self.output_dim), dtype,
                                               _output_initializer(self.global_config))
        weights["output_b"] = hk.get_parameter("output_b", (self.output_dim,), dtype, hk.initializers.Constant(0.0))
        return weights

    def _weighted_values(self, queries: jnp.ndarray, keys: jnp.ndarray, values: jnp.ndarray,
                         bias: jnp.ndarray) -> jnp.ndarray:
        """softmax_k(q.k + bias) v for queries [b, q, h, c] (already scaled), keys and values [b, k, h, c]."""
        if self.global_config.attention_implementation == "cudnn":
            try:
                return fused_weighted_values(queries, keys, values, bias, implementation="cudnn")
            except (RuntimeError, ValueError, NotImplementedError):
                pass  # no cuDNN, or shapes or a precision it refuses: XLA's attention below
        elif self.global_config.attention_implementation != "xla":
            raise ValueError(f"attention_implementation {self.global_config.attention_implementation!r}: "
                             f"use 'xla' or 'cudnn'")
        # Head-major [b, h, ., c] operands make both products plain batched matrix products (faster on CPU
        # than letting XLA transpose inside them).
        queries, keys, values = (jnp.swapaxes(array, 1, 2) for array in (queries, keys, values))
        logits = jnp.einsum("bhqc,bhkc->bhqk", queries, keys, preferred_element_type=jnp.float32) + bias
        exponentials = jnp.exp(logits - jnp.max(logits, axis=-1, keepdims=True))
        totals = jnp.sum(exponentials, axis=-1, keepdims=True)
        weighted = jnp.einsum("bhqk,bhkc->bhqc", exponentials.astype(values.dtype), values,
                              preferred_element_type=jnp.float32)
        return jnp.swapaxes(weighted / totals, 1, 2).astype(values.dtype)


def fused_weighted_values(queries: jnp.ndarray, keys: jnp.ndarray, values: jnp.ndarray, bias: jnp.ndarray,
                          implementation: str = "cudnn") -> jnp.ndarray:
    """softmax_k(q.k + bias) v in one kernel (``jax.nn.dot_product_attention``; ``"cudnn"``: flash attention).

    Queries [b, q, h, c] (already scaled), keys and values [b, k, h, c]; ``bias`` broadcasts to [b, h, q, k],
    and goes to cuDNN at that full shape (it takes no bias broadcast over queries or heads). Returns
    [b, q, h, c]. Raises where the implementation is missing or refuses the shapes or precision (cuDNN: half
    precision on a GPU only).
    """
    batch, num_queries, num_heads, _ = queries.shape
    full_bias = jnp.broadcast_to(bias, (batch, num_heads, num_queries, keys.shape[1])).astype(queries.dtype)
    return jax.nn.dot_product_attention(queries, keys, values, bias=full_bias, scale=1.0,
                                        implementation=implementation)


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
                 chunk_size: ChunkSize = None) -> jnp.ndarray:
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
            logits = jnp.einsum("bhc,bkc->bhk", q, k, preferred_element_type=jnp.float32)
            weights = jax.nn.softmax(logits + mask_bias(mask_rows[:, None, :, 0].astype(jnp.float32)))
            weighted_avg = jnp.einsum("bhk,bkc->bhc", weights.astype(v.dtype), v)
            if self.config.gating:
                gate = jax.nn.sigmoid(jnp.einsum("bqc,chv->bqhv", q_rows, gating_w) + gating_b)
                return jnp.einsum("bqhc,hco->bqo", weighted_avg[:, None] * gate, output_w) + output_b
            output = jnp.einsum("bhc,hco->bo", weighted_avg, output_w) + output_b
            return jnp.broadcast_to(output[:, None], q_rows.shape[:2] + (self.output_dim,))

        # Per row: the gate and gated values [Q, H, c_v] and the keys and values [Q, c], float32 at most.
        row_bytes = 4 * q_data.shape[1] * (2 * num_head * value_dim + 2 * key_dim)
        return apply_in_chunks(attend, (q_data, m_data, q_mask),
                               chunk_size_for(chunk_size, q_data.shape[0], row_bytes, self.global_config))


class MSARowAttentionWithPairBias(hk.Module):
    """Algorithm 7 "MSARowAttentionWithPairBias": each MSA row attends along residues, biased by the pair.

    ``msa_act`` [N_seq, N_res, c_m], ``msa_mask`` [N_seq, N_res], ``pair_act`` [N_res, N_res, c_z];
    returns the updated MSA [N_seq, N_res, c_m].
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig,
                 name: str = "msa_row_attention_with_pair_bias"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, msa_act: jnp.ndarray, msa_mask: jnp.ndarray, pair_act: jnp.ndarray) -> jnp.ndarray:
        gc = self.global_config
        pair_act = LayerNorm(name="feat_2d_norm")(pair_act)
        pair_channel = pair_act.shape[-1]
        feat_2d_weights = hk.get_parameter("feat_2d_weights", (pair_channel, self.config.num_head), msa_act.dtype,
                                           hk.initializers.RandomNormal(stddev=1.0 / pair_channel ** 0.5))
        pair_bias = jnp.einsum("qkc,ch->hqk", pair_act, feat_2d_weights)
        query_norm = LayerNorm(name="query_norm")
        attention = Attention(self.config, gc, msa_act.shape[-1])
        num_seq, num_res, channels = msa_act.shape
        row_chunk, query_chunk = attention_chunk_sizes(gc.subbatch_size, num_seq, num_res, num_res, self.config,
                                                       channels, channels, gc)

        def rows(msa_rows: jnp.ndarray, mask_rows: jnp.ndarray) -> jnp.ndarray:
            normalised = query_norm(msa_rows)
            return attention(normalised, normalised, mask_bias(mask_rows)[:, None, None, :], pair_bias,
                             query_chunk_size=query_chunk)

        return add_in_chunks(rows, msa_act, (msa_mask,), row_chunk)


class MSAColumnAttention(hk.Module):
    """Algorithm 8 "MSAColumnAttention": each residue column attends along the sequences.

    ``msa_act`` [N_seq, N_res, c_m], ``msa_mask`` [N_seq, N_res]; returns the updated MSA.
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig, name: str = "msa_column_attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, msa_act: jnp.ndarray, msa_mask: jnp.ndarray) -> jnp.ndarray:
        gc = self.global_config
        query_norm = LayerNorm(name="query_norm")
        attention = Attention(self.config, gc, msa_act.shape[-1])
        num_seq, num_res, channels = msa_act.shape
        column_chunk, query_chunk = attention_chunk_sizes(gc.subbatch_size, num_res, num_seq, num_seq, self.config,
                                                          channels, channels, gc)

        def columns(msa_columns: jnp.ndarray, mask_columns: jnp.ndarray) -> jnp.ndarray:
            normalised = query_norm(jnp.swapaxes(msa_columns, 0, 1))
            bias = mask_bias(jnp.swapaxes(mask_columns, 0, 1))[:, None, None, :]
            update = attention(normalised, normalised, bias, query_chunk_size=query_chunk)
            return jnp.swapaxes(update, 0, 1)

        return add_in_chunks(columns, msa_act, (msa_mask,), column_chunk, axis=1)


class MSAColumnGlobalAttention(hk.Module):
    """Algorithm 19 "MSAColumnGlobalAttention": column attention with one averaged query per column.

    Used by the extra-MSA stack, whose thousands of rows make full column attention too costly.
    ``msa_act`` [N_extra, N_res, c_e], ``msa_mask`` [N_extra, N_res]; returns the updated MSA.
    """

    def __init__(self, config: AttentionConfig, global_config: GlobalConfig,
                 name: str = "msa_column_global_attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, msa_act: jnp.ndarray, msa_mask: jnp.ndarray) -> jnp.ndarray:
        query_norm = LayerNorm(name="query_norm")
        attention = GlobalAttention(self.config, self.global_config, msa_act.shape[-1])
        num_seq, num_res, channels = msa_act.shape
        key_dim, value_dim = _head_dims(self.config, channels, channels)
        # Per column, float32 at most: the normalised and transposed column, keys, values, gate, update.
        column_bytes = 4 * num_seq * (3 * channels + 2 * key_dim * self.config.num_head + 2 * value_dim)
        column_chunk = chunk_size_for(self.global_config.subbatch_size, num_res, column_bytes, self.global_config)

        def columns(msa_columns: jnp.ndarray, mask_columns: jnp.ndarray) -> jnp.ndarray:
            normalised = query_norm(jnp.swapaxes(msa_columns, 0, 1))
            update = attention(normalised, normalised, jnp.swapaxes(mask_columns, 0, 1)[..., None])
            return jnp.swapaxes(update, 0, 1)

        return add_in_chunks(columns, msa_act, (msa_mask,), column_chunk, axis=1)
