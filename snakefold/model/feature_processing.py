"""Raw features -> the model's processed features, in NumPy (supplement section 1.2, AlphaFold2's input pipeline).

Raw features are what the data pipeline writes for one chain: ``aatype`` [L, 21] (one-hot, or [L] indices),
``residue_index`` [L], ``between_segment_residues`` [L], ``msa`` [N, L] (HHblits alphabet, the query
first), ``deletion_matrix_int`` [N, L] (or ``deletion_matrix``), and for template presets
``template_aatype`` [T, L, 22] (one-hot, HHblits alphabet), ``template_all_atom_positions`` [T, L, 37, 3],
``template_all_atom_masks`` [T, L, 37], best template first.

Processing, per AlphaFold2 (section 1.2.5-1.2.9):

1. residue types to AlphaFold2's order; the MSA profile over all sequences;
2. cluster centres: the query and a random sample of the other sequences, ``num_msa_clusters`` in all; the
   rest is the extra MSA (Algorithm 2's ``extra_msa``);
3. masked-MSA corruption of the centres (:class:`~snakefold.model.hyperparameters.MaskedMsaConfig`);
4. every extra sequence joins its nearest centre (most identical residues, gaps and unknowns not counted);
   each cluster's residue-type profile and mean deletion count include its centre;
5. a random ``max_extra_msa`` of the extra sequences are kept;
6. ``msa_feat`` [N_clust, L, 49] = one-hot token (23), has-deletion, scaled deletion count
   (2/pi arctan(d/3)), cluster profile (23), scaled cluster mean deletion; ``target_feat`` [L, 22] =
   segment break and one-hot residue type (21);
7. templates: the first ``max_templates``; residue types to AlphaFold2's order; pseudo-beta positions;
8. everything padded to fixed sizes: the cluster count, ``max_extra_msa``, ``max_templates``, and the
   residue count up to its bucket (:func:`bucket_length`); masks are zero in the padding.

Steps 2-6 repeat for every recycling iteration with fresh random draws (``resample_msa_in_recycling``),
so processed features carry a leading dimension of ``num_recycle + 1``. Draws come from a NumPy
generator seeded with (seed, iteration): the same seed gives the same features.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.errors import SnakefoldError
from snakefold.common.residue_geometry import atom14_atom37_maps
from snakefold.model.hyperparameters import FeatureConfig, MaskedMsaConfig
from snakefold.model.length_buckets import bucket_length

#: MSA token classes: 20 amino acids, unknown (20), gap (21), mask token (22).
NUM_MSA_TOKENS = 23
GAP_TOKEN = 21
MASK_TOKEN = 22
#: Extra sequences compared with the cluster centres at a time (bounds the one-hot buffers).
ASSIGNMENT_BLOCK = 512

PROCESSED_FEATURES: tuple[str, ...] = (
    "aatype", "residue_index", "seq_mask", "seq_length", "msa_feat", "target_feat", "msa_mask", "msa_row_mask",
    "bert_mask", "true_msa", "extra_msa", "extra_has_deletion", "extra_deletion_value", "extra_msa_mask",
    "extra_msa_row_mask", "atom14_atom_exists", "atom37_atom_exists", "residx_atom14_to_atom37",
    "residx_atom37_to_atom14",
)
PROCESSED_TEMPLATE_FEATURES: tuple[str, ...] = (
    "template_aatype", "template_all_atom_positions", "template_all_atom_masks", "template_mask",
    "template_pseudo_beta", "template_pseudo_beta_mask",
)

_HHBLITS_TO_AF2 = np.array(rc.MAP_HHBLITS_AATYPE_TO_OUR_AATYPE, dtype=np.int32)


def _one_hot(indices: np.ndarray, num_classes: int) -> np.ndarray:
    return (indices[..., None] == np.arange(num_classes)).astype(np.float32)


def _scaled_deletions(deletions: np.ndarray) -> np.ndarray:
    return (np.arctan(deletions / 3.0) * (2.0 / np.pi)).astype(np.float32)


def _pseudo_beta(aatype: np.ndarray, positions: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    is_glycine = aatype == rc.restype_order["G"]
    ca, cb = rc.atom_order["CA"], rc.atom_order["CB"]
    position = np.where(is_glycine[..., None], positions[..., ca, :], positions[..., cb, :])
    mask = np.where(is_glycine, masks[..., ca], masks[..., cb])
    return position.astype(np.float32), mask.astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# Steps that do not depend on random draws
# ---------------------------------------------------------------------------------------------------------

def _require(raw: Mapping[str, np.ndarray], key: str, source: str) -> np.ndarray:
    if key not in raw:
        raise SnakefoldError(f"{source}: raw features lack {key!r}; remake them with `snakefold features`")
    return np.asarray(raw[key])


def _sequence_and_msa(raw: Mapping[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    aatype = _require(raw, "aatype", source)
    if aatype.ndim == 2:
        aatype = np.argmax(aatype, axis=-1)
    aatype = aatype.astype(np.int32)
    num_res = aatype.shape[0]
    msa = _require(raw, "msa", source).astype(np.int32)
    if "deletion_matrix_int" in raw:
        deletions = np.asarray(raw["deletion_matrix_int"], dtype=np.float32)
    else:
        deletions = _require(raw, "deletion_matrix", source).astype(np.float32)
    if msa.ndim != 2 or msa.shape[0] == 0 or msa.shape[1] != num_res:
        raise SnakefoldError(f"{source}: 'msa' has shape {msa.shape}; it must be [num_sequences >= 1, {num_res}] "
                             f"with the query sequence as its first row")
    if deletions.shape != msa.shape:
        raise SnakefoldError(f"{source}: the deletion matrix has shape {deletions.shape}, the MSA {msa.shape}")
    if msa.min() < 0 or msa.max() > GAP_TOKEN:
        raise SnakefoldError(f"{source}: 'msa' holds token {msa.min() if msa.min() < 0 else msa.max()}, outside "
                             f"the HHblits alphabet 0..21")
    if "residue_index" in raw:
        residue_index = np.asarray(raw["residue_index"]).astype(np.int32).reshape(num_res)
    else:
        residue_index = np.arange(num_res, dtype=np.int32)
    if "between_segment_residues" in raw:
        segment_break = np.asarray(raw["between_segment_residues"]).astype(np.float32).reshape(num_res)
    else:
        segment_break = np.zeros(num_res, np.float32)
    msa = _HHBLITS_TO_AF2[msa]
    return {
        "aatype": aatype,
        "residue_index": residue_index,
        "between_segment_residues": segment_break,
        "msa": msa,
        "deletion_matrix": deletions,
        "msa_profile": _one_hot(msa, 22).mean(axis=0),
    }


def _templates(raw: Mapping[str, np.ndarray], num_res: int, max_templates: int, source: str) -> dict[str, np.ndarray]:
    aatype = _require(raw, "template_aatype", source)
    positions = _require(raw, "template_all_atom_positions", source).astype(np.float32)
    masks = _require(raw, "template_all_atom_masks", source).astype(np.float32)
    num_templates = aatype.shape[0]
    if (positions.shape != (num_templates, num_res, 37, 3) or masks.shape != (num_templates, num_res, 37)
            or aatype.shape[1:2] != (num_res,)):
        raise SnakefoldError(
            f"{source}: template features have shapes {aatype.shape}, {positions.shape}, {masks.shape}; "
            f"expected [T, {num_res}, 22], [T, {num_res}, 37, 3], [T, {num_res}, 37]")
    keep = min(num_templates, max_templates)
    aatype = aatype[:keep]
    if aatype.ndim == 3:
        aatype = np.argmax(aatype, axis=-1)
    aatype = _HHBLITS_TO_AF2[aatype.astype(np.int32)]
    pseudo_beta, pseudo_beta_mask = _pseudo_beta(aatype, positions[:keep], masks[:keep])
    return {
        "template_aatype": aatype,
        "template_all_atom_positions": positions[:keep],
        "template_all_atom_masks": masks[:keep],
        "template_mask": np.ones(keep, np.float32),
        "template_pseudo_beta": pseudo_beta,
        "template_pseudo_beta_mask": pseudo_beta_mask,
    }


# ---------------------------------------------------------------------------------------------------------
# Random steps, repeated for every recycling iteration
# ---------------------------------------------------------------------------------------------------------

def sample_clusters(num_seq: int, num_clusters: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the cluster centres (the query, row 0, first) and of the remaining sequences."""
    order = np.concatenate([[0], 1 + rng.permutation(num_seq - 1)]).astype(np.int64)
    num_selected = min(num_clusters, num_seq)
    return order[:num_selected], order[num_selected:]


def mask_msa(msa: np.ndarray, profile: np.ndarray, config: MaskedMsaConfig,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Masked-MSA corruption (section 1.2.7) of ``msa`` [N, L]; returns (corrupted msa, bert_mask).

    At each position chosen with probability ``replace_fraction`` the token is redrawn from: a uniform
    amino acid (``uniform_prob``), the MSA ``profile`` [L, 22] (``profile_prob``), the same token
    (``same_prob``), or the mask token (the rest).
    """
    replacement_probs = (config.uniform_prob * np.array([0.05] * 20 + [0.0, 0.0], np.float32)
                         + config.profile_prob * profile[None]
                         + config.same_prob * _one_hot(msa, 22))
    mask_column = np.full(msa.shape + (1,), config.mask_token_prob, np.float32)
    replacement_probs = np.concatenate([replacement_probs, mask_column], axis=-1)
    cumulative = np.cumsum(replacement_probs, axis=-1)
    draws = rng.random(msa.shape + (1,)) * cumulative[..., -1:]
    replacement = np.minimum(np.sum(cumulative <= draws, axis=-1), MASK_TOKEN).astype(np.int32)
    chosen = rng.random(msa.shape) < config.replace_fraction
    return np.where(chosen, replacement, msa).astype(np.int32), chosen.astype(np.float32)


def assign_to_clusters(cluster_msa: np.ndarray, cluster_mask: np.ndarray, extra_msa: np.ndarray,
                       extra_mask: np.ndarray) -> np.ndarray:
    """Index of the nearest cluster centre [N_extra] for each extra sequence.

    Similarity = number of positions where both hold the same amino acid or unknown (tokens 0-20; gaps
    and mask tokens count nothing), both present per the masks. Ties go to the lower centre index.
    """
    num_res = cluster_msa.shape[1]
    centres = (_one_hot(cluster_msa, 21) * cluster_mask[..., None]).reshape(cluster_msa.shape[0], num_res * 21)
    assignment = np.zeros(extra_msa.shape[0], np.int32)
    for start in range(0, extra_msa.shape[0], ASSIGNMENT_BLOCK):
        block = slice(start, start + ASSIGNMENT_BLOCK)
        extra = (_one_hot(extra_msa[block], 21) * extra_mask[block, :, None]).reshape(-1, num_res * 21)
        assignment[block] = np.argmax(extra @ centres.T, axis=1)
    return assignment


def summarize_clusters(cluster_msa: np.ndarray, cluster_mask: np.ndarray, cluster_deletions: np.ndarray,
                       extra_msa: np.ndarray, extra_mask: np.ndarray, extra_deletions: np.ndarray,
                       assignment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cluster profiles [N_clust, L, 23] and mean deletion counts [N_clust, L], each centre included."""
    num_clusters, num_res = cluster_msa.shape
    member_counts = np.zeros((num_clusters, num_res), np.float32)
    np.add.at(member_counts, assignment, extra_mask)
    counts = 1e-6 + cluster_mask + member_counts
    flat_index = (assignment[:, None] * num_res + np.arange(num_res)[None, :]) * NUM_MSA_TOKENS + extra_msa
    token_sums = np.bincount(flat_index.ravel(), weights=extra_mask.ravel(),
                             minlength=num_clusters * num_res * NUM_MSA_TOKENS)
    token_sums = token_sums.reshape(num_clusters, num_res, NUM_MSA_TOKENS).astype(np.float32)
    token_sums += _one_hot(cluster_msa, NUM_MSA_TOKENS)
    deletion_sums = np.zeros((num_clusters, num_res), np.float32)
    np.add.at(deletion_sums, assignment, extra_mask * extra_deletions)
    deletion_sums += cluster_deletions
    return token_sums / counts[..., None], deletion_sums / counts


def _msa_slice(base: Mapping[str, np.ndarray], config: FeatureConfig,
               rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Steps 2-6 for one recycling iteration (unpadded)."""
    msa, deletions = base["msa"], base["deletion_matrix"]
    cluster_rows, extra_rows = sample_clusters(msa.shape[0], config.num_msa_clusters, rng)
    true_msa = msa[cluster_rows]
    cluster_deletions = deletions[cluster_rows]
    cluster_mask = np.ones(true_msa.shape, np.float32)
    cluster_msa, bert_mask = mask_msa(true_msa, base["msa_profile"], config.masked_msa, rng)

    extra_msa = msa[extra_rows]
    extra_deletions = deletions[extra_rows]
    extra_mask = np.ones(extra_msa.shape, np.float32)
    assignment = assign_to_clusters(cluster_msa, cluster_mask, extra_msa, extra_mask)
    profile, deletion_mean = summarize_clusters(cluster_msa, cluster_mask, cluster_deletions, extra_msa,
                                                extra_mask, extra_deletions, assignment)
    kept = rng.permutation(extra_msa.shape[0])[:config.max_extra_msa]
    extra_msa, extra_deletions, extra_mask = extra_msa[kept], extra_deletions[kept], extra_mask[kept]

    msa_feat = np.concatenate([
        _one_hot(cluster_msa, NUM_MSA_TOKENS),
        np.clip(cluster_deletions, 0.0, 1.0)[..., None],
        _scaled_deletions(cluster_deletions)[..., None],
        profile,
        _scaled_deletions(deletion_mean)[..., None],
    ], axis=-1)
    return {
        "msa_feat": msa_feat.astype(np.float32),
        "msa_mask": cluster_mask,
        "msa_row_mask": np.ones(cluster_msa.shape[0], np.float32),
        "bert_mask": bert_mask,
        "true_msa": true_msa,
        "extra_msa": extra_msa.astype(np.int32),
        "extra_has_deletion": np.clip(extra_deletions, 0.0, 1.0).astype(np.float32),
        "extra_deletion_value": _scaled_deletions(extra_deletions),
        "extra_msa_mask": extra_mask,
        "extra_msa_row_mask": np.ones(extra_msa.shape[0], np.float32),
    }


def _pad(array: np.ndarray, sizes: tuple[int | None, ...]) -> np.ndarray:
    """Zero-pad the leading axes of ``array`` to ``sizes`` (None keeps an axis)."""
    if array.ndim == 0:
        return array
    widths = [(0, 0 if size is None else size - dim) for dim, size in zip(array.shape, sizes)]
    widths += [(0, 0)] * (array.ndim - len(sizes))
    return np.pad(array, widths)


def _padded(features: dict[str, np.ndarray], num_res: int, num_clusters: int, num_extra: int,
            num_templates: int) -> dict[str, np.ndarray]:
    """Step 8: pad every feature to the fixed sizes."""
    sizes = {
        "aatype": (num_res,), "residue_index": (num_res,), "seq_mask": (num_res,), "seq_length": (),
        "target_feat": (num_res,), "msa_feat": (num_clusters, num_res), "msa_mask": (num_clusters, num_res),
        "msa_row_mask": (num_clusters,), "bert_mask": (num_clusters, num_res), "true_msa": (num_clusters, num_res),
        "extra_msa": (num_extra, num_res), "extra_has_deletion": (num_extra, num_res),
        "extra_deletion_value": (num_extra, num_res), "extra_msa_mask": (num_extra, num_res),
        "extra_msa_row_mask": (num_extra,), "atom14_atom_exists": (num_res,), "atom37_atom_exists": (num_res,),
        "residx_atom14_to_atom37": (num_res,), "residx_atom37_to_atom14": (num_res,),
        "template_aatype": (num_templates, num_res), "template_all_atom_positions": (num_templates, num_res),
        "template_all_atom_masks": (num_templates, num_res), "template_mask": (num_templates,),
        "template_pseudo_beta": (num_templates, num_res), "template_pseudo_beta_mask": (num_templates, num_res),
    }
    return {name: _pad(value, sizes[name]) for name, value in features.items()}


def process_features(raw: Mapping[str, np.ndarray], config: FeatureConfig, num_recycle: int, seed: int,
                     source: str = "raw features") -> dict[str, np.ndarray]:
    """Processed features with a leading dimension of ``num_recycle + 1`` (module docstring).

    ``source`` names the input in error messages (a file path).
    """
    if num_recycle < 0:
        raise SnakefoldError(f"num_recycle must be at least 0, not {num_recycle}")
    if seed < 0:
        raise SnakefoldError(f"the feature-processing seed must be a non-negative integer, not {seed}")
    base = _sequence_and_msa(raw, source)
    num_res = base["aatype"].shape[0]
    fixed = {
        "aatype": base["aatype"],
        "residue_index": base["residue_index"],
        "seq_mask": np.ones(num_res, np.float32),
        "seq_length": np.array(num_res, np.int32),
        "target_feat": np.concatenate([np.clip(base["between_segment_residues"], 0.0, 1.0)[:, None],
                                       _one_hot(base["aatype"], 21)], axis=-1).astype(np.float32),
        **atom14_atom37_maps(base["aatype"]),
    }
    if config.use_templates:
        fixed.update(_templates(raw, num_res, config.max_templates, source))

    padded_res = bucket_length(num_res, config.residue_buckets) if config.residue_buckets else num_res
    slices = []
    for iteration in range(num_recycle + 1):
        draw = iteration if config.resample_msa_in_recycling else 0
        rng = np.random.default_rng([seed, draw])
        features = {**fixed, **_msa_slice(base, config, rng)}
        slices.append(_padded(features, padded_res, config.num_msa_clusters, config.max_extra_msa,
                              config.max_templates))
    return {name: np.stack([features[name] for features in slices]) for name in slices[0]}
