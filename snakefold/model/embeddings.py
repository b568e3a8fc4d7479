"""Input embeddings of the trunk: the MSA and pair representations before any Evoformer block.

* :class:`InputEmbedder` -- Algorithm 3 "InputEmbedder" lines 1-3 and 5: ``target_feat`` [N_res, 22] and
  ``msa_feat`` [N_clust, N_res, 49] -> MSA [N_clust, N_res, c_m] and pair [N_res, N_res, c_z];
* :class:`RelativePositionEncoding` -- Algorithm 4 "relpos" (Algorithm 3 line 4): clipped residue-index
  offsets, one-hot encoded (Algorithm 5) and projected to the pair;
* :class:`RecyclingEmbedder` -- Algorithm 32 "RecyclingEmbedder": the previous iteration's pseudo-beta
  distogram, first MSA row and pair, fed back into this iteration.

The trunk adds these in AlphaFold2's order: input embedding, recycling, relative positions. All three are
transparent Haiku modules: their parameters sit directly in the trunk's scope (``evoformer/preprocess_1d``
and so on), where the published parameter files have them.
"""

from __future__ import annotations

from typing import NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.common import residue_constants as rc
from snakefold.model.hyperparameters import DistogramFeatureConfig, EmbeddingsAndEvoformerConfig
from snakefold.model.primitives import LayerNorm, Linear


def distance_one_hot(positions: jnp.ndarray, bins: DistogramFeatureConfig) -> jnp.ndarray:
    """One-hot distogram [N, N, num_bins] of points [N, 3].

    Bin b holds squared distances strictly between lower_b^2 and lower_{b+1}^2, the lower edges evenly
    spaced from ``min_bin`` to ``max_bin``; the last bin is open-ended. A distance exactly on an edge falls
    in no bin, as in AlphaFold2.
    """
    lower = jnp.square(jnp.linspace(bins.min_bin, bins.max_bin, bins.num_bins))
    upper = jnp.concatenate([lower[1:], jnp.array([1e8], dtype=lower.dtype)])
    squared_distance = jnp.sum(jnp.square(positions[:, None, :] - positions[None, :, :]), axis=-1, keepdims=True)
    return ((squared_distance > lower) & (squared_distance < upper)).astype(jnp.float32)


def pseudo_beta(aatype: jnp.ndarray, atom37_positions: jnp.ndarray) -> jnp.ndarray:
    """Pseudo-beta positions [..., N, 3]: CB, or CA for glycine, from atom37 positions [..., N, 37, 3]."""
    is_glycine = (aatype == rc.restype_order["G"])[..., None]
    return jnp.where(is_glycine, atom37_positions[..., rc.atom_order["CA"], :],
                     atom37_positions[..., rc.atom_order["CB"], :])


class InputEmbedder(hk.Module):
    """Algorithm 3 lines 1-3 and 5: embeds the target and clustered-MSA features.

    m_si = Linear(msa_feat_si) + Linear(target_feat_i);  z_ij = Linear(target_feat_i) + Linear(target_feat_j).
    Returns (msa [N_clust, N_res, c_m], pair [N_res, N_res, c_z]).
    """

    def __init__(self, config: EmbeddingsAndEvoformerConfig, name: str = "input_embedder"):
        super().__init__(name=name)
        self.config = config

    @hk.transparent
    def __call__(self, target_feat: jnp.ndarray, msa_feat: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        c = self.config
        target_to_msa = Linear(c.msa_channel, name="preprocess_1d")(target_feat)
        msa = target_to_msa[None] + Linear(c.msa_channel, name="preprocess_msa")(msa_feat)
        left = Linear(c.pair_channel, name="left_single")(target_feat)
        right = Linear(c.pair_channel, name="right_single")(target_feat)
        return msa, left[:, None] + right[None, :]


class RelativePositionEncoding(hk.Module):
    """Algorithm 4 "relpos": the offset i - j of residue indices, clipped to [-32, 32], one-hot, projected.

    ``residue_index`` [N_res] -> pair update [N_res, N_res, c_z].
    """

    def __init__(self, config: EmbeddingsAndEvoformerConfig, name: str = "relative_position_encoding"):
        super().__init__(name=name)
        self.config = config

    @hk.transparent
    def __call__(self, residue_index: jnp.ndarray) -> jnp.ndarray:
        max_offset = self.config.max_relative_feature
        offset = residue_index[:, None] - residue_index[None, :]
        clipped = jnp.clip(offset + max_offset, 0, 2 * max_offset)
        one_hot = jax.nn.one_hot(clipped, 2 * max_offset + 1)
        # The published parameter files spell this layer "pair_activiations".
        return Linear(self.config.pair_channel, name="pair_activiations")(one_hot)


class RecyclingUpdates(NamedTuple):
    """The updates :class:`RecyclingEmbedder` returns; None where the configuration turns a part off."""

    pair_from_positions: jnp.ndarray | None  # [N_res, N_res, c_z]
    msa_first_row: jnp.ndarray | None  # [N_res, c_m]
    pair: jnp.ndarray | None  # [N_res, N_res, c_z]

    def added_to(self, msa: jnp.ndarray, pair: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        """``msa`` [N_clust, N_res, c_m] and ``pair`` with the updates added (the MSA's first row only)."""
        if self.pair_from_positions is not None:
            pair += self.pair_from_positions
        if self.msa_first_row is not None:
            msa = msa.at[0].add(self.msa_first_row)
        if self.pair is not None:
            pair += self.pair
        return msa, pair


class RecyclingEmbedder(hk.Module):
    """Algorithm 32 "RecyclingEmbedder": the previous iteration's outputs as updates of this one's inputs.

    ``prev_pos`` [N_res, 37, 3] (atom37 positions) gives a 15-bin pseudo-beta distogram projected to the
    pair (``recycle_pos``); ``prev_msa_first_row`` [N_res, c_m] and ``prev_pair`` [N_res, N_res, c_z] are
    layer-normalised (``recycle_features``).
    """

    def __init__(self, config: EmbeddingsAndEvoformerConfig, name: str = "recycling_embedder"):
        super().__init__(name=name)
        self.config = config

    @hk.transparent
    def __call__(self, aatype: jnp.ndarray, prev_pos: jnp.ndarray, prev_msa_first_row: jnp.ndarray,
                 prev_pair: jnp.ndarray) -> RecyclingUpdates:
        c = self.config
        pair_from_positions = msa_first_row = pair = None
        if c.recycle_pos:
            dgram = distance_one_hot(pseudo_beta(aatype, prev_pos), c.prev_pos)
            pair_from_positions = Linear(c.pair_channel, name="prev_pos_linear")(dgram)
        if c.recycle_features:
            msa_first_row = LayerNorm(name="prev_msa_first_row_norm")(prev_msa_first_row)
            pair = LayerNorm(name="prev_pair_norm")(prev_pair)
        return RecyclingUpdates(pair_from_positions, msa_first_row, pair)
