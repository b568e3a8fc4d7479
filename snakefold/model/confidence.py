"""Confidence scores from the head logits: pLDDT, predicted aligned error, pTM (ranking: snakefold.common.ranking).

- **pLDDT** (supplement section 1.9.6, Algorithm 29): the predicted lDDT-CA of each residue, the
  expectation of the predicted lDDT distribution over 50 equal bins of [0, 1], times 100.
- **Predicted aligned error** (section 1.9.7): the expected error (Angstrom) of residue j's position
  when the prediction and the true structure are aligned on residue i's frame, from 64 bins: 63
  edges evenly spaced on [0, 31] Angstrom (bin width 0.5) and a last, open bin. Each bin counts as
  its centre; the open bin's centre, 31.75 Angstrom, is the largest error the head can express.
- **pTM** (section 1.9.7): the expected TM-score of the prediction, maximised over the
  alignment residue i: ptm = max_i sum_j w_j E[f(e_ij)] / sum_j w_j, with f(d) = 1 / (1 + (d/d0)^2)
  and d0(N) = 1.24 (N - 15)^(1/3) - 1.8, N the sum of the residue weights clipped below at 19 so that
  d0 stays positive (Yang & Skolnick 2004, eq. 5).
- **ipTM** (AlphaFold-Multimer): pTM scored over pairs of residues in different chains only; complexes
  are ranked by 0.8 ipTM + 0.2 pTM. Beyond AlphaFold2: the ipTM of every pair of chains
  (:func:`chain_pair_iptm`) and the mean PAE between every pair of chains (:func:`interface_pae`).

The functions accept numpy or JAX arrays and compute with the same library as their input (so they can
run inside a jitted model, or on saved logits).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

#: pLDDT categories of the AlphaFold Protein Structure Database: (name, exclusive lower bound), best first.
PLDDT_CATEGORIES: tuple[tuple[str, float], ...] = (
    ("very high", 90.0), ("confident", 70.0), ("low", 50.0), ("very low", -np.inf),
)


def _array_module(*arrays):
    return jnp if any(isinstance(array, jax.Array) for array in arrays) else np


def _softmax(logits, xp):
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)
    exponentials = xp.exp(shifted)
    return exponentials / xp.sum(exponentials, axis=-1, keepdims=True)


def plddt(logits):
    """Per-residue pLDDT [..., N] in [0, 100] from predicted-lDDT logits [..., N, num_bins]."""
    xp = _array_module(logits)
    num_bins = logits.shape[-1]
    bin_centers = (xp.arange(num_bins, dtype=logits.dtype) + 0.5) / num_bins
    return 100.0 * xp.sum(_softmax(logits, xp) * bin_centers, axis=-1)


def plddt_category(plddt_value: float) -> str:
    """The AlphaFold DB category of a pLDDT value: 'very high' (> 90), 'confident' (70-90], 'low' (50-70],
    'very low' (<= 50)."""
    for name, lower_bound in PLDDT_CATEGORIES:
        if plddt_value > lower_bound:
            return name
    raise ValueError(f"pLDDT {plddt_value!r} is not a number")


def aligned_error_bin_centers(breaks):
    """Centres [num_bins] of the aligned-error bins from their inner edges ``breaks`` [num_bins - 1].

    Bins are [breaks[k-1], breaks[k]) with an open last bin; each counts as the middle of its edges,
    the last one as half a bin width past the last edge.
    """
    xp = _array_module(breaks)
    step = breaks[1] - breaks[0]
    centers = breaks + step / 2
    return xp.concatenate([centers, centers[-1:] + step])


def predicted_aligned_error(logits, breaks) -> dict:
    """Predicted aligned error from PAE-head logits [N, N, num_bins] and bin edges [num_bins - 1].

    Returns ``aligned_confidence_probs`` [N, N, num_bins], ``predicted_aligned_error`` [N, N] (Angstrom;
    row = aligned-on residue i, column = residue j) and ``max_predicted_aligned_error`` (scalar, the
    centre of the open last bin).
    """
    xp = _array_module(logits, breaks)
    probabilities = _softmax(logits, xp)
    centers = aligned_error_bin_centers(breaks)
    return {
        "aligned_confidence_probs": probabilities,
        "predicted_aligned_error": xp.sum(probabilities * centers, axis=-1),
        "max_predicted_aligned_error": centers[-1],
    }


def tm_score_d0(num_residues):
    """TM-score distance scale d0 (Angstrom) for ``num_residues`` residues, which are clipped below at 19."""
    xp = _array_module(num_residues)
    clipped = xp.maximum(num_residues, 19)
    return 1.24 * (clipped - 15) ** (1.0 / 3.0) - 1.8


def ptm(logits, breaks, residue_weights=None, asym_id=None):
    """Predicted TM-score (scalar) from PAE-head logits [N, N, num_bins] and bin edges [num_bins - 1].

    ``residue_weights`` [N] in [0, 1] (default all 1; pass the sequence mask to ignore padding) weight
    both the residues scored and the choice of the alignment residue. With ``asym_id`` [N] (chain of each
    residue) only pairs of residues in different chains are scored: the interface score ipTM of
    AlphaFold-Multimer (d0 still from all weighted residues).
    """
    xp = _array_module(logits, breaks, residue_weights)
    if residue_weights is None:
        residue_weights = xp.ones(logits.shape[0], dtype=logits.dtype)
    d0 = tm_score_d0(xp.sum(residue_weights))
    tm_per_bin = 1.0 / (1.0 + xp.square(aligned_error_bin_centers(breaks)) / xp.square(d0))
    expected_tm = xp.sum(_softmax(logits, xp) * tm_per_bin, axis=-1)  # [N, N]
    pair_weights = residue_weights[None, :] * residue_weights[:, None]
    if asym_id is not None:
        different_chains = (asym_id[:, None] != asym_id[None, :]).astype(expected_tm.dtype)
        expected_tm = expected_tm * different_chains
        pair_weights = pair_weights * different_chains
    normalized_weights = pair_weights / (1e-8 + xp.sum(pair_weights, axis=-1, keepdims=True))
    per_alignment = xp.sum(expected_tm * normalized_weights, axis=-1)  # [N]
    return xp.max(per_alignment * residue_weights)


def chain_pair_iptm(logits, breaks, asym_id, residue_weights=None):
    """[C, C] predicted TM-scores of every pair of chains (chains in the order of their ``asym_id`` values).

    Entry (a, b), a != b, is the ipTM of chains a and b on their own (residues of other chains weigh 0);
    entry (a, a) is chain a's pTM on its own. d0 follows the residues of the pair.
    """
    logits, breaks, asym_id = np.asarray(logits), np.asarray(breaks), np.asarray(asym_id)
    weights = np.ones(len(asym_id), np.float32) if residue_weights is None else np.asarray(residue_weights)
    chains = np.unique(asym_id[weights > 0])
    scores = np.zeros((len(chains), len(chains)), np.float32)
    for row, first in enumerate(chains):
        for column, second in enumerate(chains):
            in_pair = weights * np.isin(asym_id, [first, second]).astype(weights.dtype)
            scores[row, column] = ptm(logits, breaks, in_pair, asym_id=None if first == second else asym_id)
    return scores


def interface_pae(predicted_aligned_error, asym_id, residue_weights=None):
    """[C, C] mean predicted aligned error (Angstrom) of residues of chain b aligned on chain a's residues."""
    pae, asym_id = np.asarray(predicted_aligned_error), np.asarray(asym_id)
    weights = np.ones(len(asym_id), np.float32) if residue_weights is None else np.asarray(residue_weights)
    chains = np.unique(asym_id[weights > 0])
    means = np.zeros((len(chains), len(chains)), np.float32)
    for row, first in enumerate(chains):
        for column, second in enumerate(chains):
            pair_weights = np.outer(weights * (asym_id == first), weights * (asym_id == second))
            means[row, column] = np.sum(pae * pair_weights) / np.sum(pair_weights)
    return means

