"""Pairing a model's residues with a reference's by sequence alignment, so numbering never matters.

Each model chain is paired with the reference chain in the same position (chain order), or the single
chain of each; the chains' sequences are aligned globally (Biopython's PairwiseAligner, BLOSUM62, gap open
-11, extend -1, free end gaps, so a model covering a longer construct than the observed reference aligns
cleanly) and every aligned column with a residue on both sides becomes a pair. Residue numbers, insertion
codes and chain IDs play no part.

:func:`paired_atoms` turns pairs into matched coordinates: CA atoms, or all heavy atoms present in both
(side-chain atoms only where the residue types agree, since same-named atoms of different residues are
not the same atom).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import Protein

_BACKBONE_SLOTS = np.array([rc.atom_order[name] for name in ("N", "CA", "C", "O")])
_CA = rc.atom_order["CA"]


@dataclasses.dataclass(frozen=True)
class ResiduePairs:
    """Matched residues: model position ``model[k]`` corresponds to reference position ``reference[k]``."""

    model: np.ndarray  # [P] int, increasing
    reference: np.ndarray  # [P] int, increasing

    def __len__(self) -> int:
        return int(self.model.shape[0])


@functools.lru_cache(maxsize=1)
def _aligner():
    from Bio import Align
    from Bio.Align import substitution_matrices

    aligner = Align.PairwiseAligner()
    aligner.mode = "global"
    aligner.substitution_matrix = substitution_matrices.load("BLOSUM62")
    aligner.open_gap_score = -11.0
    aligner.extend_gap_score = -1.0
    aligner.end_gap_score = 0.0
    return aligner


def align_sequences(model_sequence: str, reference_sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices (model, reference) of the residues a global alignment of the two sequences pairs."""
    if not model_sequence or not reference_sequence:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    alignment = _aligner().align(model_sequence, reference_sequence)[0]
    model_index, reference_index = alignment.indices
    both = (model_index >= 0) & (reference_index >= 0)
    return model_index[both].astype(int), reference_index[both].astype(int)


def pair_residues(model: Protein, reference: Protein) -> ResiduePairs:
    """Pair residues chain by chain (in chain order) by sequence alignment."""
    if len(model.chain_ids) != len(reference.chain_ids):
        raise SnakefoldError(f"the model has {len(model.chain_ids)} chain(s) ({', '.join(model.chain_ids)}) and "
                             f"the reference {len(reference.chain_ids)} ({', '.join(reference.chain_ids)}); "
                             f"choose one chain of each (--model-chain, --reference-chain)")
    model_pairs, reference_pairs = [], []
    for chain in range(len(model.chain_ids)):
        model_positions = np.flatnonzero(model.chain_index == chain)
        reference_positions = np.flatnonzero(reference.chain_index == chain)
        model_sequence = "".join(rc.restypes_with_x[t] for t in model.aatype[model_positions])
        reference_sequence = "".join(rc.restypes_with_x[t] for t in reference.aatype[reference_positions])
        in_model, in_reference = align_sequences(model_sequence, reference_sequence)
        model_pairs.append(model_positions[in_model])
        reference_pairs.append(reference_positions[in_reference])
    return ResiduePairs(model=np.concatenate(model_pairs), reference=np.concatenate(reference_pairs))


def paired_atoms(model: Protein, reference: Protein, pairs: ResiduePairs,
                 atoms: str = "ca") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matched coordinates ([N, 3] model, [N, 3] reference, float64) and each atom's pair index [N].

    ``atoms`` is ``ca`` (CA of each pair where both have one) or ``heavy`` (every heavy atom present in
    both; side-chain atoms only where both residues are of the same type).
    """
    if atoms not in ("ca", "heavy"):
        raise ValueError(f"atoms must be 'ca' or 'heavy', not {atoms!r}")
    shared = (model.atom_mask[pairs.model] > 0.5) & (reference.atom_mask[pairs.reference] > 0.5)  # [P, 37]
    if atoms == "ca":
        keep = np.zeros_like(shared)
        keep[:, _CA] = True
    else:
        same_type = model.aatype[pairs.model] == reference.aatype[pairs.reference]
        keep = np.repeat(same_type[:, None], rc.atom_type_num, axis=1)
        keep[:, _BACKBONE_SLOTS] = True
    pair_index, slot = np.nonzero(shared & keep)
    model_xyz = model.atom_positions[pairs.model[pair_index], slot].astype(np.float64)
    reference_xyz = reference.atom_positions[pairs.reference[pair_index], slot].astype(np.float64)
    return model_xyz, reference_xyz, pair_index
