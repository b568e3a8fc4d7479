"""TM-score: with residues paired by sequence (the TM-score program), and by TM-align's structural alignment.

TM-score (Zhang & Skolnick 2004) of a superposition, over the CA atoms of P paired residues, normalised by
the reference length L (residues of the reference with a CA):

    TM = max over superpositions of (1 / L) * sum_i 1 / (1 + (d_i / d0(L))^2),
    d0(L) = 1.24 * (L - 15)^(1/3) - 1.8   (0.5 for L <= 21, and never below 0.5).

:func:`tm_score` keeps the pairing fixed (sequence alignment, :mod:`snakefold.metrics.pairing`) and finds
the superposition with the seed-and-extend search (:mod:`snakefold.metrics.superposition`), seeds
selecting pairs within d0_search - 1 and extensions within d0_search + 1, d0_search = d0 clamped to
[4.5, 8] A, as the TM-score program does. :func:`tm_align` runs TM-align (tmtools) instead, which also
optimises the pairing, independent of sequence: the score for structures of different proteins.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.protein import Protein
from snakefold.metrics.pairing import ResiduePairs, pair_residues, paired_atoms
from snakefold.metrics.superposition import search_superpositions

_CA = rc.atom_order["CA"]


def tm_d0(length: int) -> float:
    """The distance scale d0 (A) of the TM-score for a reference of ``length`` residues."""
    if length <= 21:
        return 0.5
    return max(1.24 * (length - 15) ** (1.0 / 3.0) - 1.8, 0.5)


def tm_score_of_pairs(model_ca: np.ndarray, reference_ca: np.ndarray, reference_length: int) -> float:
    """TM-score of matched CA coordinates [P, 3], normalised by ``reference_length``."""
    if reference_length == 0:
        return 0.0
    d0 = tm_d0(reference_length)
    d0_search = min(max(d0, 4.5), 8.0)

    def score(distance: np.ndarray) -> np.ndarray:
        return np.sum(1.0 / (1.0 + (distance / d0) ** 2), axis=-1) / reference_length

    return search_superpositions(model_ca, reference_ca, score, first_cut=d0_search - 1.0,
                                 extend_cut=d0_search + 1.0)


def tm_score(model: Protein, reference: Protein, pairs: ResiduePairs | None = None) -> float:
    """TM-score of ``model`` against ``reference`` with residues paired by sequence alignment."""
    pairs = pair_residues(model, reference) if pairs is None else pairs
    model_ca, reference_ca, _ = paired_atoms(model, reference, pairs, "ca")
    return tm_score_of_pairs(model_ca, reference_ca, int((reference.atom_mask[:, _CA] > 0.5).sum()))


@dataclasses.dataclass(frozen=True)
class TMAlignResult:
    tm_score: float  # normalised by the reference length
    tm_score_model_normalised: float  # normalised by the model length
    rmsd: float  # A, over TM-align's aligned pairs
    aligned_model: str  # TM-align's alignment, gapped sequences
    aligned_reference: str


def tm_align(model: Protein, reference: Protein) -> TMAlignResult:
    """TM-align (via tmtools) of the CA traces of ``model`` and ``reference``, sequence-independent."""
    import tmtools

    model_has_ca = model.atom_mask[:, _CA] > 0.5
    reference_has_ca = reference.atom_mask[:, _CA] > 0.5
    result = tmtools.tm_align(model.atom_positions[model_has_ca, _CA].astype(np.float64),
                              reference.atom_positions[reference_has_ca, _CA].astype(np.float64),
                              "".join(rc.restypes_with_x[t] for t in model.aatype[model_has_ca]),
                              "".join(rc.restypes_with_x[t] for t in reference.aatype[reference_has_ca]))
    return TMAlignResult(tm_score=float(result.tm_norm_chain2), tm_score_model_normalised=float(result.tm_norm_chain1),
                         rmsd=float(result.rmsd), aligned_model=result.seqxA, aligned_reference=result.seqyA)
