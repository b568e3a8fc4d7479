"""Structural violation checks: bond lengths, bond angles and steric clashes (AlphaFold2 suppl. 1.9.11).

A structure violates stereochemistry where

- a covalent bond length l deviates from its ideal value: |l - l_ideal| > tolerance_factor * sigma_l
  (bonds within each residue, and the peptide bond C(i)-N(i+1) between residues joined in sequence: in
  the same chain, residue numbers differing by 0 or 1; never across chains of a complex or a chain break);
- a bond angle theta deviates likewise: |theta - theta_ideal| > tolerance_factor * sigma_theta (angles
  within each residue, and CA(i)-C(i)-N(i+1), C(i)-N(i+1)-CA(i+1) at each peptide bond);
- two heavy atoms clash: their distance is below r_vdW(a) + r_vdW(b) - overlap_tolerance, for every pair
  not already constrained by a bond length or angle (atoms one or two bonds apart are excluded, across
  peptide bonds too) and not two cysteine SG atoms (which may form a disulfide bond).

Ideal values, standard deviations and radii come from :mod:`snakefold.common.stereochemistry`;
tolerance factor 12 and overlap 1.5 A are AlphaFold2's defaults. Unlike AlphaFold2, angles are compared
in degrees against their own standard deviation. A residue is marked violating when any of its atoms
takes part in a violation (both residues for a peptide-bond term or an inter-residue clash).

Shapes: a protein of L residues in atom37 layout, positions [L, 37, 3]; every per-residue mask is [L].
Clash candidates are found with a k-d tree, so the cost grows with the number of atoms, not its square.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial import cKDTree

from snakefold.common import residue_constants as rc
from snakefold.common import stereochemistry as stereo
from snakefold.common.protein import Protein, peptide_bond_mask

_NUM_RESTYPES = rc.restype_num + 1  # with unknown (20), which carries a bare backbone
_UNKNOWN_BONDS = (("N", "CA"), ("CA", "C"), ("C", "O"), ("C", "OXT"))
_PRO = rc.restype_order["P"]
_CYS = rc.restype_order["C"]
_N, _CA, _C = (rc.atom_order[name] for name in ("N", "CA", "C"))
_SG = rc.atom_order["SG"]


def _slots(*names: str) -> tuple[int, ...]:
    return tuple(rc.atom_order[name] for name in names)


def _restype_name(restype: int) -> str:
    return rc.restype_1to3[rc.restypes[restype]] if restype < rc.restype_num else rc.unknown_residue_name


def _bonded_neighbours(bonds) -> dict[str, set[str]]:
    neighbours: dict[str, set[str]] = {}
    for atom1, atom2 in bonds:
        neighbours.setdefault(atom1, set()).add(atom2)
        neighbours.setdefault(atom2, set()).add(atom1)
    return neighbours


def _within_two_bonds(neighbours: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Atom pairs one or two bonds apart (1-2 and 1-3 pairs) in a bond graph."""
    pairs = set()
    for atom, bonded in neighbours.items():
        for other in bonded:
            pairs.add((atom, other))
            for second in neighbours[other]:
                if second != atom:
                    pairs.add((atom, second))
    return pairs


def _exclusion_tables() -> tuple[np.ndarray, np.ndarray]:
    """[21, 37, 37] pairs within a residue and [2, 37, 37] pairs across a peptide bond exempt from clashes.

    The peptide table is indexed by (next residue is proline) and (slot in residue i, slot in residue i+1).
    """
    within = np.zeros((_NUM_RESTYPES, rc.atom_type_num, rc.atom_type_num), dtype=bool)
    for restype in range(_NUM_RESTYPES):
        name = _restype_name(restype)
        bonds = stereo.COVALENT_BONDS.get(name, _UNKNOWN_BONDS)
        for atom1, atom2 in _within_two_bonds(_bonded_neighbours(bonds)):
            within[restype, rc.atom_order[atom1], rc.atom_order[atom2]] = True
    across = np.zeros((2, rc.atom_type_num, rc.atom_type_num), dtype=bool)
    for next_is_proline in (0, 1):
        first = [(f"{a}", f"{b}") for a, b in _UNKNOWN_BONDS]
        second = [(f"{a}'", f"{b}'") for a, b in _UNKNOWN_BONDS] + ([("N'", "CD'")] if next_is_proline else [])
        neighbours = _bonded_neighbours(first + second + [("C", "N'")])
        for atom1, atom2 in _within_two_bonds(neighbours):
            if not atom1.endswith("'") and atom2.endswith("'"):
                across[next_is_proline, rc.atom_order[atom1], rc.atom_order[atom2.rstrip("'")]] = True
    return within, across


_WITHIN_RESIDUE_EXEMPT, _ACROSS_PEPTIDE_EXEMPT = _exclusion_tables()
_ATOM_RADIUS = np.array([stereo.VAN_DER_WAALS_RADIUS[name[0]] for name in rc.atom_types], dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class Violations:
    """Violations of one structure: per-residue masks [L] and counts of violating terms."""

    bond_length: np.ndarray  # [L] bool: residue takes part in a bond-length violation
    bond_angle: np.ndarray  # [L] bool: residue takes part in a bond-angle violation
    clash: np.ndarray  # [L] bool: residue has an atom in a clash
    num_bond_length: int  # number of violating bonds
    num_bond_angle: int  # number of violating angles
    num_clash: int  # number of clashing atom pairs

    @property
    def per_residue(self) -> np.ndarray:
        """[L] bool: residue takes part in any violation."""
        return self.bond_length | self.bond_angle | self.clash

    @property
    def num_violating_residues(self) -> int:
        return int(self.per_residue.sum())

    def summary(self, protein: Protein) -> dict:
        """JSON-ready counts, the per-residue mask (0/1 per residue) and the violating residues' labels."""
        return {
            "violating_residues": self.num_violating_residues,
            "bond_length_violations": self.num_bond_length,
            "bond_angle_violations": self.num_bond_angle,
            "clashes": self.num_clash,
            "per_residue": [int(flag) for flag in self.per_residue],
            "residues": [protein.residue_label(position) for position in np.flatnonzero(self.per_residue)],
        }


def _angle_degrees(a: np.ndarray, vertex: np.ndarray, c: np.ndarray) -> np.ndarray:
    u, v = a - vertex, c - vertex
    cosine = np.sum(u * v, axis=-1) / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-12)
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def _residue_table_violations(protein: Protein, tolerance_factor: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Bond-length and bond-angle violations within residues: ([L] bool, [L] bool, count, count)."""
    length_mask = np.zeros(protein.num_residues, dtype=bool)
    angle_mask = np.zeros(protein.num_residues, dtype=bool)
    num_lengths = num_angles = 0
    positions, present = protein.atom_positions.astype(np.float64), protein.atom_mask > 0.5
    for restype in np.unique(protein.aatype):
        if restype >= rc.restype_num:
            continue
        name = _restype_name(restype)
        residues = np.flatnonzero(protein.aatype == restype)
        bonds = stereo.BOND_LENGTHS[name]
        first, second = (np.array(slots) for slots in zip(*(_slots(a, b) for a, b, _m, _s in bonds)))
        mean = np.array([bond[2] for bond in bonds])
        std = np.array([bond[3] for bond in bonds])
        length = np.linalg.norm(positions[residues][:, first] - positions[residues][:, second], axis=-1)
        exists = present[residues][:, first] & present[residues][:, second]
        bad = exists & (np.abs(length - mean) > tolerance_factor * std)  # [n, bonds]
        length_mask[residues] |= bad.any(axis=1)
        num_lengths += int(bad.sum())

        angles = stereo.BOND_ANGLES[name]
        a, b, c = (np.array(slots) for slots in zip(*(_slots(x, y, z) for x, y, z, _m, _s in angles)))
        mean = np.array([angle[3] for angle in angles])
        std = np.array([angle[4] for angle in angles])
        theta = _angle_degrees(positions[residues][:, a], positions[residues][:, b], positions[residues][:, c])
        exists = present[residues][:, a] & present[residues][:, b] & present[residues][:, c]
        bad = exists & (np.abs(theta - mean) > tolerance_factor * std)
        angle_mask[residues] |= bad.any(axis=1)
        num_angles += int(bad.sum())
    return length_mask, angle_mask, num_lengths, num_angles


def _peptide_bond_violations(protein: Protein, tolerance_factor: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Peptide bond length and angle violations between consecutive residues."""
    length_mask = np.zeros(protein.num_residues, dtype=bool)
    angle_mask = np.zeros(protein.num_residues, dtype=bool)
    first = np.flatnonzero(peptide_bond_mask(protein))
    second = first + 1
    positions, present = protein.atom_positions.astype(np.float64), protein.atom_mask > 0.5
    ca_i, c_i = positions[first, _CA], positions[first, _C]
    n_j, ca_j = positions[second, _N], positions[second, _CA]
    to_proline = protein.aatype[second] == _PRO
    mean = np.where(to_proline, stereo.PEPTIDE_BOND_LENGTH["PRO"][0], stereo.PEPTIDE_BOND_LENGTH["other"][0])
    std = np.where(to_proline, stereo.PEPTIDE_BOND_LENGTH["PRO"][1], stereo.PEPTIDE_BOND_LENGTH["other"][1])
    has_bond = present[first, _C] & present[second, _N]
    bad_length = has_bond & (np.abs(np.linalg.norm(c_i - n_j, axis=-1) - mean) > tolerance_factor * std)

    angle_mean, angle_std = stereo.PEPTIDE_BOND_ANGLES["CA-C-N"]
    bad_ca_c_n = (has_bond & present[first, _CA]
                  & (np.abs(_angle_degrees(ca_i, c_i, n_j) - angle_mean) > tolerance_factor * angle_std))
    angle_mean, angle_std = stereo.PEPTIDE_BOND_ANGLES["C-N-CA"]
    bad_c_n_ca = (has_bond & present[second, _CA]
                  & (np.abs(_angle_degrees(c_i, n_j, ca_j) - angle_mean) > tolerance_factor * angle_std))
    bad_angle = bad_ca_c_n | bad_c_n_ca
    for residues in (first, second):
        length_mask[residues] |= bad_length
        angle_mask[residues] |= bad_angle
    return length_mask, angle_mask, int(bad_length.sum()), int(bad_ca_c_n.sum() + bad_c_n_ca.sum())


def _clashes(protein: Protein, overlap_tolerance: float) -> tuple[np.ndarray, int]:
    """Heavy-atom clashes: ([L] bool, number of clashing pairs)."""
    residue_of, slot_of = np.nonzero(protein.atom_mask > 0.5)
    coordinates = protein.atom_positions[residue_of, slot_of].astype(np.float64)
    clash_mask = np.zeros(protein.num_residues, dtype=bool)
    reach = 2 * _ATOM_RADIUS.max() - overlap_tolerance
    if len(coordinates) < 2 or reach <= 0:
        return clash_mask, 0
    pairs = cKDTree(coordinates).query_pairs(reach, output_type="ndarray")
    if len(pairs) == 0:
        return clash_mask, 0
    u, v = pairs[:, 0], pairs[:, 1]
    # Order each pair so that u is the earlier residue (atoms are listed residue by residue).
    u, v = np.minimum(u, v), np.maximum(u, v)
    res_u, res_v, slot_u, slot_v = residue_of[u], residue_of[v], slot_of[u], slot_of[v]
    distance = np.linalg.norm(coordinates[u] - coordinates[v], axis=-1)
    lower_bound = _ATOM_RADIUS[slot_u] + _ATOM_RADIUS[slot_v] - overlap_tolerance

    exempt = (res_u == res_v) & _WITHIN_RESIDUE_EXEMPT[protein.aatype[res_u], slot_u, slot_v]
    bonded_next = np.zeros(protein.num_residues, dtype=bool)
    bonded_next[:-1] = peptide_bond_mask(protein)
    neighbours = (res_v == res_u + 1) & bonded_next[res_u]
    next_is_proline = (protein.aatype[res_v] == _PRO).astype(int)
    exempt |= neighbours & _ACROSS_PEPTIDE_EXEMPT[next_is_proline, slot_u, slot_v]
    exempt |= ((slot_u == _SG) & (slot_v == _SG) & (protein.aatype[res_u] == _CYS)
               & (protein.aatype[res_v] == _CYS))

    clashing = ~exempt & (distance < lower_bound)
    clash_mask[res_u[clashing]] = True
    clash_mask[res_v[clashing]] = True
    return clash_mask, int(clashing.sum())


def find_violations(protein: Protein, tolerance_factor: float = stereo.VIOLATION_TOLERANCE_FACTOR,
                    overlap_tolerance: float = stereo.CLASH_OVERLAP_TOLERANCE) -> Violations:
    """Every bond-length, bond-angle and clash violation of ``protein`` (definitions in the module docstring)."""
    length_in, angle_in, num_length_in, num_angle_in = _residue_table_violations(protein, tolerance_factor)
    length_pep, angle_pep, num_length_pep, num_angle_pep = _peptide_bond_violations(protein, tolerance_factor)
    clash_mask, num_clash = _clashes(protein, overlap_tolerance)
    return Violations(bond_length=length_in | length_pep, bond_angle=angle_in | angle_pep, clash=clash_mask,
                      num_bond_length=num_length_in + num_length_pep,
                      num_bond_angle=num_angle_in + num_angle_pep, num_clash=num_clash)
