"""Algorithm 10 "OuterProductMean": the MSA's channel-wise co-variation, averaged over sequences, updates the pair.

For residues i, j: z_ij += W (mean_s a_si (x) b_sj) + bias, with a and b two masked linear projections of
the layer-normalised MSA to ``num_outer_channel`` channels each. The mean divides by the number of
sequences where both residues are present (plus 1e-3), so padded rows and columns count for nothing.
Shapes: MSA [N_seq, N_res, c_m], mask [N_seq, N_res] -> update [N_res, N_res, c_z]. The outer products
[rows, N_res, c, c] are formed ``chunk_size`` residue rows at a time.
"""

from __future__ import annotations

import haiku as hk
import jax.numpy as jnp

from snakefold.model.config import GlobalConfig, OuterProductMeanConfig
from snakefold.model.primitives import LayerNorm, Linear, apply_in_chunks


class OuterProductMean(hk.Module):
    """Algorithm 10: ``msa_act`` [N_seq, N_res, c_m], ``msa_mask`` [N_seq, N_res] -> [N_res, N_res, c_z]."""

    def __init__(self, config: OuterProductMeanConfig, global_config: GlobalConfig, num_output_channel: int,
                 name: str = "outer_product_mean"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config
        self.num_output_channel = num_output_channel

    def __call__(self, msa_act: jnp.ndarray, msa_mask: jnp.ndarray) -> jnp.ndarray:
        num_outer = self.config.num_outer_channel
        mask = msa_mask[..., None]
        msa_act = LayerNorm(name="layer_norm_input")(msa_act)
        left = mask * Linear(num_outer, name="left_projection")(msa_act)
        right = mask * Linear(num_outer, name="right_projection")(msa_act)

        if self.global_config.zero_init:
            output_init = hk.initializers.Constant(0.0)
        else:
            output_init = hk.initializers.VarianceScaling(scale=2.0, mode="fan_in")
        output_w = hk.get_parameter("output_w", (num_outer, num_outer, self.num_output_channel), msa_act.dtype,
                                    output_init)
        output_b = hk.get_parameter("output_b", (self.num_output_channel,), msa_act.dtype,
                                    hk.initializers.Constant(0.0))

        def pair_rows(left_rows: jnp.ndarray) -> jnp.ndarray:
            # left_rows [N_seq, rows, c]: sum over sequences of the outer products, then project c x c -> c_z.
            outer = jnp.einsum("sic,sje->jcei", left_rows, right)
            return jnp.einsum("jcei,cef->ijf", outer, output_w) + output_b

        update = apply_in_chunks(pair_rows, (left,), self.config.chunk_size, in_axis=1, out_axis=0)
        num_pairs = jnp.einsum("si,sj->ij", msa_mask, msa_mask)[..., None]
        return update / (1e-3 + num_pairs)
