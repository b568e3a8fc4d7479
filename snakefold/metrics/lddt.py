"""lDDT: the local distance difference test (Mariani et al. 2013), superposition-free.

Every pair of atoms (a, b) of *different* residues of the reference closer than the inclusion radius
R0 = 15 A is a reference distance d_ref(a, b). A distance is preserved at threshold t when the same two
atoms in the model are at |d_model(a, b) - d_ref(a, b)| < t; the thresholds are 0.5, 1, 2 and 4 A. Then

    lDDT = (1 / |D|) * sum over distances in D of (1/4) * sum_t [preserved at t],

where D is the set of reference distances, and a residue's lDDT uses the distances that involve one of
its atoms. Distances to atoms the model lacks (residues it does not have, missing side chains) count as
not preserved, so an incomplete model is penalised. The CA variant uses CA atoms only; the all-atom
variant all heavy atoms, where the names of chemically equivalent atoms (ASP OD1/OD2, GLU OE1/OE2,
PHE and TYR CD1/CD2 with CE1/CE2) are swapped in the model residue if that preserves more distances.
Model atoms are matched to reference atoms through residues paired by sequence alignment
(:mod:`snakefold.metrics.pairing`) and the atom name; side-chain atoms only where the residue types agree.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial import cKDTree

from snakefold.common import residue_constants as rc
from snakefold.common.protein import Protein
from snakefold.metrics.pairing import ResiduePairs, pair_residues

INCLUSION_RADIUS = 15.0
THRESHOLDS = (0.5, 1.0, 2.0, 4.0)
_CA = rc.atom_order["CA"]
_BACKBONE_SLOTS = [rc.atom_order[name] for name in ("N", "CA", "C", "O")]

#: Residue type -> pairs of atom37 slots whose names are interchangeable by symmetry.
_EQUIVALENT_ATOMS: dict[int, tuple[tuple[int, int], ...]] = {
    rc.restype_order[letter]: tuple((rc.atom_order[a], rc.atom_order[b]) for a, b in swaps)
    for letter, swaps in {"D": (("OD1", "OD2"),), "E": (("OE1", "OE2"),),
                          "F": (("CD1", "CD2"), ("CE1", "CE2")), "Y": (("CD1", "CD2"), ("CE1", "CE2"))}.items()
}


@dataclasses.dataclass(frozen=True)
class LDDTResult:
    score: float  # global lDDT in [0, 1]
    per_residue: np.ndarray  # [L_reference] lDDT of each reference residue (NaN where it has no distances)
    num_distances: int


def _atoms_of_reference(model: Protein, reference: Protein, pairs: ResiduePairs, ca_only: bool):
    """Reference atoms (residue, slot), their coordinates, and the matched model coordinates (NaN if absent)."""
    model_of_reference = np.full(reference.num_residues, -1)
    model_of_reference[pairs.reference] = pairs.model
    present = reference.atom_mask > 0.5
    if ca_only:
        only_ca = np.zeros_like(present)
        only_ca[:, _CA] = True
        present &= only_ca
    residue, slot = np.nonzero(present)
    reference_xyz = reference.atom_positions[residue, slot].astype(np.float64)
    model_residue = model_of_reference[residue]
    paired = model_residue >= 0
    safe_residue = np.where(paired, model_residue, 0)
    same_type = model.aatype[safe_residue] == reference.aatype[residue]
    comparable = paired & (same_type | np.isin(slot, _BACKBONE_SLOTS))
    has_atom = comparable & (model.atom_mask[safe_residue, slot] > 0.5)
    model_xyz = np.where(has_atom[:, None], model.atom_positions[safe_residue, slot].astype(np.float64), np.nan)
    return residue, slot, reference_xyz, model_xyz, has_atom


def _preserved(model_xyz: np.ndarray, first: np.ndarray, second: np.ndarray, reference_distance: np.ndarray):
    """Fraction of thresholds at which each distance is preserved (0 where a model atom is missing)."""
    model_distance = np.linalg.norm(model_xyz[first] - model_xyz[second], axis=-1)
    error = np.abs(model_distance - reference_distance)
    with np.errstate(invalid="ignore"):
        fractions = np.mean([error < threshold for threshold in THRESHOLDS], axis=0)
    return np.where(np.isnan(error), 0.0, fractions)


def lddt(model: Protein, reference: Protein, atoms: str = "ca", pairs: ResiduePairs | None = None,
         inclusion_radius: float = INCLUSION_RADIUS) -> LDDTResult:
    """lDDT of ``model`` against ``reference``: ``atoms='ca'`` (lDDT-CA) or ``'all'`` (all heavy atoms)."""
    if atoms not in ("ca", "all"):
        raise ValueError(f"atoms must be 'ca' or 'all', not {atoms!r}")
    pairs = pair_residues(model, reference) if pairs is None else pairs
    residue, slot, reference_xyz, model_xyz, has_atom = _atoms_of_reference(
        model, reference, pairs, ca_only=atoms == "ca")
    per_residue = np.full(reference.num_residues, np.nan)
    if len(reference_xyz) < 2:
        return LDDTResult(score=0.0, per_residue=per_residue, num_distances=0)
    candidate = cKDTree(reference_xyz).query_pairs(inclusion_radius, output_type="ndarray")
    first, second = candidate[:, 0], candidate[:, 1]
    reference_distance = np.linalg.norm(reference_xyz[first] - reference_xyz[second], axis=-1)
    keep = (residue[first] != residue[second]) & (reference_distance < inclusion_radius)
    first, second, reference_distance = first[keep], second[keep], reference_distance[keep]

    if atoms == "all":
        model_xyz = _resolve_equivalent_atoms(reference, residue, slot, model_xyz, has_atom, first, second,
                                              reference_distance)
    preserved = _preserved(model_xyz, first, second, reference_distance)
    if len(preserved) == 0:
        return LDDTResult(score=0.0, per_residue=per_residue, num_distances=0)
    score_sum = np.bincount(residue[first], preserved, reference.num_residues) + np.bincount(
        residue[second], preserved, reference.num_residues)
    count = np.bincount(residue[first], minlength=reference.num_residues) + np.bincount(
        residue[second], minlength=reference.num_residues)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_residue = np.where(count > 0, score_sum / count, np.nan)
    return LDDTResult(score=float(preserved.mean()), per_residue=per_residue, num_distances=int(len(preserved)))


def _resolve_equivalent_atoms(reference: Protein, residue: np.ndarray, slot: np.ndarray, model_xyz: np.ndarray,
                              has_atom: np.ndarray, first: np.ndarray, second: np.ndarray,
                              reference_distance: np.ndarray) -> np.ndarray:
    """Model coordinates with equivalent atom names swapped in each residue where that scores better."""
    model_xyz = model_xyz.copy()
    atom_index = {(r, s): index for index, (r, s) in enumerate(zip(residue.tolist(), slot.tolist()))}
    for reference_residue in np.flatnonzero(np.isin(reference.aatype, list(_EQUIVALENT_ATOMS))):
        swap_atoms = []
        for slot_a, slot_b in _EQUIVALENT_ATOMS[int(reference.aatype[reference_residue])]:
            a = atom_index.get((int(reference_residue), slot_a))
            b = atom_index.get((int(reference_residue), slot_b))
            if a is not None and b is not None and has_atom[a] and has_atom[b]:
                swap_atoms.append((a, b))
        if not swap_atoms:
            continue
        involved = np.flatnonzero((residue[first] == reference_residue) | (residue[second] == reference_residue))
        pair_args = (first[involved], second[involved], reference_distance[involved])
        swapped_xyz = model_xyz.copy()
        for a, b in swap_atoms:
            swapped_xyz[[a, b]] = model_xyz[[b, a]]
        if _preserved(swapped_xyz, *pair_args).sum() > _preserved(model_xyz, *pair_args).sum():
            model_xyz = swapped_xyz
    return model_xyz
