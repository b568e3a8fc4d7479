"""Algorithm 10 "OuterProductMean": the MSA's channel-wise co-variation, averaged over sequences, updates the pair.

For residues i, j: z_ij += W (mean_s a_si (x) b_sj) + bias, with a and b two masked linear projections of
the layer-normalised MSA to ``num_outer_channel`` channels each. The mean divides by the number of
sequences where both residues are present (plus 1e-3), so padded rows and columns count for nothing.
Shapes: MSA [N_seq, N_res, c_m], mask [N_seq, N_res] -> update [N_res, N_res, c_z]. The MSA is
normalised and projected ``GlobalConfig.subbatch_size`` sequences at a time, and the outer products
[rows, N_res, c, c] are formed ``chunk_size`` residue rows at a time (``"auto"``: as many as the chunk
budget holds).
"""

from __future__ import annotations

import haiku as hk
import jax.numpy as jnp

from snakefold.model.hyperparameters import GlobalConfig, OuterProductMeanConfig
from snakefold.model.primitives import LayerNorm, Linear, apply_in_chunks, chunk_size_for


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
        num_seq, num_res, num_channel = msa_act.shape
        norm = LayerNorm(name="layer_norm_input")
        left_projection = Linear(num_outer, name="left_projection")
        right_projection = Linear(num_outer, name="right_projection")

        def project(msa_rows: jnp.ndarray, mask_rows: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
            normalised = norm(msa_rows)
            mask = mask_rows[..., None].astype(msa_rows.dtype)
            return mask * left_projection(normalised), mask * right_projection(normalised)

        # Per MSA row: the normalised row and both projections.
        projection_bytes = num_res * (num_channel + 2 * num_outer) * 4
        left, right = apply_in_chunks(project, (msa_act, msa_mask), chunk_size_for(
            self.global_config.subbatch_size, num_seq, projection_bytes, self.global_config))

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
            outer = jnp.einsum("sic,sje->icje", left_rows, right, preferred_element_type=jnp.float32)
            return jnp.einsum("icje,cef->ijf", outer, output_w) + output_b

        row_bytes = num_res * (num_outer * num_outer + self.num_output_channel) * 4
        chunk_size = chunk_size_for(self.config.chunk_size, num_res, row_bytes, self.global_config)
        update = apply_in_chunks(pair_rows, (left,), chunk_size, in_axis=1, out_axis=0)
        msa_mask = msa_mask.astype(jnp.float32)
        num_pairs = jnp.einsum("si,sj->ij", msa_mask, msa_mask)[..., None]
        return update / (1e-3 + num_pairs)
