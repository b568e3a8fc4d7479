"""Structural violation checks on real structures and on controlled distortions of them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from snakefold.common import residue_constants as rc
from snakefold.common import stereochemistry as stereo
from snakefold.common.protein import from_structure_file
from snakefold.relax.violations import find_violations

N, CA, C, CB, O = (rc.atom_order[name] for name in ("N", "CA", "C", "CB", "O"))  # noqa: E741 (the atom's name)


@pytest.fixture(scope="module")
def ubiquitin(shared_data):
    return from_structure_file(shared_data / "structures" / "1UBQ.pdb")


def _moved(protein, residue, slot, new_position):
    positions = protein.atom_positions.copy()
    positions[residue, slot] = new_position
    return dataclasses.replace(protein, atom_positions=positions)


@pytest.mark.parametrize("name", ["1UBQ.pdb", "1PGA.pdb", "4PTI.pdb", "3EBX.pdb", "1L2Y.cif", "2CPL.pdb"])
def test_well_refined_structures_have_no_violations(shared_data, name):
    protein = from_structure_file(shared_data / "structures" / name)
    violations = find_violations(protein)
    assert violations.num_violating_residues == 0, violations.summary(protein)["residues"]


def test_disulfide_bonds_are_not_clashes(shared_data):
    protein = from_structure_file(shared_data / "structures" / "4PTI.pdb")
    sg = protein.atom_positions[:, rc.atom_order["SG"]][protein.aatype == rc.restype_order["C"]]
    distances = np.linalg.norm(sg[:, None] - sg[None], axis=-1)
    assert np.sum(distances[np.triu_indices(len(sg), 1)] < 2.2) == 3  # BPTI's three disulfides
    assert find_violations(protein).num_clash == 0


def _side_chain(protein, residue):
    return [slot for slot in np.flatnonzero(protein.atom_mask[residue]) if slot not in (N, CA, C, O)]


def test_stretched_side_chain_bond_flags_only_its_residue(ubiquitin):
    residue = 6  # THR 7
    assert ubiquitin.aatype[residue] == rc.restype_order["T"]
    direction = ubiquitin.atom_positions[residue, CB] - ubiquitin.atom_positions[residue, CA]
    length = np.linalg.norm(direction)
    direction /= length
    # CA-CB of THR: 1.529 +- 0.026 A, so 12 sigma = 0.312 A. Sliding the whole side chain along CA->CB
    # changes that bond length only (no angle): 1.529 + 0.30 A passes, 1.529 + 0.33 A violates.
    for extra, expected in ((0.30, 0), (0.33, 1), (-0.30, 0), (-0.33, 1)):
        positions = ubiquitin.atom_positions.copy()
        positions[residue, _side_chain(ubiquitin, residue)] += (1.529 + extra - length) * direction
        violations = find_violations(dataclasses.replace(ubiquitin, atom_positions=positions))
        assert violations.num_bond_length == expected and violations.num_bond_angle == 0
        assert np.flatnonzero(violations.per_residue).tolist() == ([residue] if expected else [])


def test_broken_peptide_bond_flags_both_residues_unless_numbering_has_a_gap(ubiquitin):
    positions = ubiquitin.atom_positions.copy()
    bond = positions[40, N] - positions[39, C]
    positions[40:] += bond / np.linalg.norm(bond)  # pull residues 41.. 1 A away from 40 along the C-N bond
    pulled = dataclasses.replace(ubiquitin, atom_positions=positions)
    violations = find_violations(pulled)
    assert np.flatnonzero(violations.bond_length).tolist() == [39, 40]
    assert violations.num_bond_length == 1
    renumbered = dataclasses.replace(pulled, residue_index=np.where(np.arange(76) >= 40, ubiquitin.residue_index + 1,
                                                                      ubiquitin.residue_index))
    assert find_violations(renumbered).num_violating_residues == 0


def test_bent_angle_is_an_angle_violation(ubiquitin):
    residue = 20  # ASP 21
    assert ubiquitin.aatype[residue] == rc.restype_order["D"]
    n, ca, cb = (ubiquitin.atom_positions[residue, slot].astype(np.float64) for slot in (N, CA, CB))
    # rotate the side chain rigidly about CA, in the N-CA-CB plane, until N-CA-CB is 145 degrees (ideal
    # 110.6 +- 1.8, so 12 sigma = 21.6 degrees): bond lengths stay, angles at CA change
    axis = np.cross(n - ca, cb - ca)
    axis /= np.linalg.norm(axis)
    current = np.degrees(np.arccos(np.dot(n - ca, cb - ca) / np.linalg.norm(n - ca) / np.linalg.norm(cb - ca)))
    angle = np.radians(145.0 - current)
    positions = ubiquitin.atom_positions.copy()
    for slot in _side_chain(ubiquitin, residue):
        v = positions[residue, slot] - ca
        positions[residue, slot] = ca + (v * np.cos(angle) + np.cross(axis, v) * np.sin(angle)
                                         + axis * np.dot(axis, v) * (1 - np.cos(angle)))
    bent = dataclasses.replace(ubiquitin, atom_positions=positions)
    violations = find_violations(bent, overlap_tolerance=5.0)  # clashes of the moved side chain not counted
    assert violations.num_bond_length == 0 and violations.num_bond_angle >= 1
    assert np.flatnonzero(violations.per_residue).tolist() == [residue]
    assert find_violations(bent, tolerance_factor=25.0, overlap_tolerance=5.0).num_bond_angle == 0


def test_clash_between_residues(ubiquitin):
    # put the CB of residue 3 (ILE) 1.2 A from the CA of residue 15 (LEU): C-C limit 1.7 + 1.7 - 1.5 = 1.9 A
    target = ubiquitin.atom_positions[14, CA].astype(np.float64)
    offset = ubiquitin.atom_positions[2, CB] - target
    clashing = _moved(ubiquitin, 2, CB, target + 1.2 * offset / np.linalg.norm(offset))
    violations = find_violations(clashing, tolerance_factor=1e6)  # bond checks switched off here
    assert violations.clash[[2, 14]].all()
    assert violations.num_clash >= 1
    summary = violations.summary(clashing)
    assert "A:3" in summary["residues"] and "A:15" in summary["residues"]
    assert summary["per_residue"][2] == 1 and len(summary["per_residue"]) == 76


def test_tolerances_are_the_documented_defaults():
    assert stereo.VIOLATION_TOLERANCE_FACTOR == 12.0 and stereo.CLASH_OVERLAP_TOLERANCE == 1.5
    assert stereo.PEPTIDE_BOND_LENGTH["other"] == (1.329, 0.014)
    # every residue's table names only atoms it has, and every side-chain heavy atom is bonded
    for residue, bonds in stereo.BOND_LENGTHS.items():
        atoms = set(rc.residue_atoms[residue])
        bonded = {atom for bond in bonds for atom in bond[:2]}
        assert bonded == atoms, residue
        assert {atom for angle in stereo.BOND_ANGLES[residue] for atom in angle[:3]} <= atoms


def test_tight_tolerance_finds_violations_in_real_data(ubiquitin):
    assert find_violations(ubiquitin, tolerance_factor=1.0).num_violating_residues > 30
