"""The Evoformer block and stack: Algorithm 6 "EvoformerStack".

One block (:class:`EvoformerIteration`, Algorithm 6 lines 2-10) exchanges information between the MSA
[N_seq, N_res, c_m] and pair [N_res, N_res, c_z] representations:

  MSA:  row attention with pair bias (Alg. 7), column attention (Alg. 8; global column attention, Alg. 19,
        in the extra-MSA stack), transition (Alg. 9);
  pair: outer product mean of the MSA (Alg. 10; AlphaFold-Multimer runs it first in the block), triangle
        multiplication outgoing and incoming (Alg. 11, 12), triangle attention around the starting and
        ending node (Alg. 13, 14), transition (Alg. 15).

Every layer is a residual update. :class:`EvoformerStack` runs ``evoformer_num_block`` blocks as one
scanned layer stack (parameters ``evoformer/evoformer_iteration/...`` with a leading block dimension) and
projects the first MSA row to the single representation (Algorithm 6 line 11).
"""

from __future__ import annotations

import haiku as hk
import jax.numpy as jnp

from snakefold.model.attention import MSAColumnAttention, MSAColumnGlobalAttention, MSARowAttentionWithPairBias
from snakefold.model.hyperparameters import EmbeddingsAndEvoformerConfig, EvoformerBlockConfig, GlobalConfig
from snakefold.model.layer_stack import LayerStack
from snakefold.model.outer_product_mean import OuterProductMean
from snakefold.model.primitives import Linear
from snakefold.model.transition import Transition
from snakefold.model.triangle import TriangleAttention, TriangleMultiplication


class EvoformerIteration(hk.Module):
    """Algorithm 6 lines 2-10: one block; with ``is_extra_msa`` the extra-MSA variant (Algorithm 18).

    ``activations``: {'msa': [N_seq, N_res, c_m], 'pair': [N_res, N_res, c_z]}; ``masks``: {'msa':
    [N_seq, N_res], 'pair': [N_res, N_res]}. Returns the updated activations, in their precision (float32,
    or bfloat16 with ``GlobalConfig.bfloat16``: each update is cast to it before it is added).
    """

    def __init__(self, config: EvoformerBlockConfig, global_config: GlobalConfig, is_extra_msa: bool,
                 name: str = "evoformer_iteration"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config
        self.is_extra_msa = is_extra_msa

    def __call__(self, activations: dict[str, jnp.ndarray], masks: dict[str, jnp.ndarray]) -> dict[str, jnp.ndarray]:
        c, gc = self.config, self.global_config
        msa, pair = activations["msa"], activations["pair"]
        msa_mask, pair_mask = masks["msa"], masks["pair"]

        def residual(act: jnp.ndarray, update: jnp.ndarray) -> jnp.ndarray:
            return act + update.astype(act.dtype)

        outer_product_mean = OuterProductMean(c.outer_product_mean, gc, pair.shape[-1])
        if c.outer_product_mean.first:
            pair = residual(pair, outer_product_mean(msa, msa_mask))
        # Attention and transition layers add their updates themselves (in place, chunk by chunk).
        msa = MSARowAttentionWithPairBias(c.msa_row_attention_with_pair_bias, gc)(msa, msa_mask, pair)
        if self.is_extra_msa:
            msa = MSAColumnGlobalAttention(c.msa_column_attention, gc)(msa, msa_mask)
        else:
            msa = MSAColumnAttention(c.msa_column_attention, gc)(msa, msa_mask)
        msa = Transition(c.msa_transition, gc, name="msa_transition")(msa)

        if not c.outer_product_mean.first:
            pair = residual(pair, outer_product_mean(msa, msa_mask))
        pair = residual(pair, TriangleMultiplication(c.triangle_multiplication_outgoing, gc,
                                                     name="triangle_multiplication_outgoing")(pair, pair_mask))
        pair = residual(pair, TriangleMultiplication(c.triangle_multiplication_incoming, gc,
                                                     name="triangle_multiplication_incoming")(pair, pair_mask))
        pair = TriangleAttention(c.triangle_attention_starting_node, gc, ending_node=False,
                                 name="triangle_attention_starting_node")(pair, pair_mask)
        pair = TriangleAttention(c.triangle_attention_ending_node, gc, ending_node=True,
                                 name="triangle_attention_ending_node")(pair, pair_mask)
        pair = Transition(c.pair_transition, gc, name="pair_transition")(pair)
        return {"msa": msa, "pair": pair}


class EvoformerStack(hk.Module):
    """Algorithm 6 "EvoformerStack": ``evoformer_num_block`` blocks, then the single representation.

    ``msa`` [N_seq, N_res, c_m], ``pair`` [N_res, N_res, c_z] and their masks -> (msa, pair, single
    [N_res, c_s] = Linear(msa[0])).
    """

    def __init__(self, config: EmbeddingsAndEvoformerConfig, global_config: GlobalConfig,
                 name: str = "evoformer_stack"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    @hk.transparent
    def __call__(self, msa: jnp.ndarray, pair: jnp.ndarray, msa_mask: jnp.ndarray,
                 pair_mask: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        block = EvoformerIteration(self.config.evoformer, self.global_config, is_extra_msa=False,
                                   name="evoformer_iteration")
        masks = {"msa": msa_mask, "pair": pair_mask}
        output = LayerStack(lambda activations: block(activations, masks),
                            self.config.evoformer_num_block)({"msa": msa, "pair": pair})
        single = Linear(self.config.seq_channel, name="single_activations")(output["msa"][0])
        return output["msa"], output["pair"], single
