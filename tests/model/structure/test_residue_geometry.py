"""Ideal residue geometry and the all-atom construction: chemistry that the tables must reproduce."""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest

from snakefold.common import residue_constants as rc
from snakefold.common import residue_geometry as geometry
from snakefold.model.all_atom import (
    atom14_to_atom37,
    atom37_to_torsion_angles,
    frames_to_atom14_positions,
    torsion_angles_to_frames,
)
from snakefold.model.rigid import Rigid

RESIDUES = [rc.restype_1to3[letter] for letter in rc.restypes]

#: Literature bond lengths (mean, standard deviation; Angstrom), as tabulated for AlphaFold2's stereochemistry
#: checks (Engh & Huber): bonds in every residue, and side-chain bonds set by the element pair or the
#: aromatic ring. The ideal coordinates must reproduce them within two standard deviations.
BACKBONE_BONDS = {("N", "CA"): (1.459, 0.020), ("CA", "C"): (1.525, 0.026), ("C", "O"): (1.229, 0.019),
                  ("CA", "CB"): (1.530, 0.022)}
SIDE_CHAIN_BONDS = {
    ("CYS", "CB", "SG"): (1.812, 0.016), ("MET", "CG", "SD"): (1.807, 0.026), ("MET", "SD", "CE"): (1.774, 0.056),
    ("SER", "CB", "OG"): (1.418, 0.013), ("THR", "CB", "OG1"): (1.428, 0.020), ("LYS", "CE", "NZ"): (1.486, 0.025),
    ("PHE", "CG", "CD1"): (1.383, 0.015), ("PHE", "CD1", "CE1"): (1.388, 0.020), ("PHE", "CE1", "CZ"): (1.369, 0.019),
    ("TYR", "CZ", "OH"): (1.374, 0.017), ("ASP", "CG", "OD1"): (1.249, 0.023), ("ASN", "CG", "OD1"): (1.235, 0.022),
    ("ASN", "CG", "ND2"): (1.324, 0.025), ("ARG", "CZ", "NH1"): (1.326, 0.013), ("LEU", "CB", "CG"): (1.521, 0.029),
}


@jax.jit
def _build_atom37(aatype, sin_cos, residx_atom37_to_atom14, atom37_atom_exists):
    frames = torsion_angles_to_frames(aatype, Rigid.identity(aatype.shape), sin_cos)
    return atom14_to_atom37(frames_to_atom14_positions(aatype, frames), residx_atom37_to_atom14, atom37_atom_exists)


def build_atom37(aatype: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Atom37 coordinates of residues with identity backbone frames and torsion ``angles`` [N, 7] (rad)."""
    sin_cos = np.stack([np.sin(angles), np.cos(angles)], axis=-1).astype(np.float32)
    maps = geometry.atom14_atom37_maps(aatype)
    return np.asarray(_build_atom37(aatype, sin_cos, maps["residx_atom37_to_atom14"], maps["atom37_atom_exists"]))


def dihedral(a, b, c, d) -> float:
    b0, b1, b2 = a - b, c - b, d - c
    b1 = b1 / np.linalg.norm(b1)
    v = b0 - np.dot(b0, b1) * b1
    w = b2 - np.dot(b2, b1) * b1
    return float(np.arctan2(np.dot(np.cross(b1, v), w), np.dot(v, w)))


@pytest.fixture(scope="module")
def random_residues():
    rng = np.random.default_rng(7)
    aatype = np.repeat(np.arange(20, dtype=np.int32), 3)
    angles = rng.uniform(-np.pi, np.pi, size=(len(aatype), 7))
    return aatype, angles, build_atom37(aatype, angles)


def test_atom14_atom37_maps_are_inverse_and_match_the_atom_names():
    for restype, residue in enumerate(RESIDUES):
        names = rc.restype_name_to_atom14_names[residue]
        assert geometry.RESTYPE_ATOM14_MASK[restype].sum() == len(names)
        assert geometry.RESTYPE_ATOM37_MASK[restype].sum() == len(names)
        for slot, name in enumerate(names):
            atom37 = geometry.RESTYPE_ATOM14_TO_ATOM37[restype, slot]
            assert rc.atom_types[atom37] == name
            assert geometry.RESTYPE_ATOM37_TO_ATOM14[restype, atom37] == slot
            assert geometry.RESTYPE_ATOM37_MASK[restype, atom37] == 1.0
    unknown = rc.unknown_restype_index
    assert not geometry.RESTYPE_ATOM14_MASK[unknown].any() and not geometry.RESTYPE_ATOM37_MASK[unknown].any()
    maps = geometry.atom14_atom37_maps(np.array([0, 20, 17]))
    assert maps["residx_atom14_to_atom37"].shape == (3, 14) and maps["atom37_atom_exists"].shape == (3, 37)
    assert maps["atom14_atom_exists"][2].sum() == 14  # tryptophan fills all fourteen slots


def test_every_atom_has_a_rigid_group_and_an_ideal_position():
    for restype, residue in enumerate(RESIDUES):
        atoms = geometry.IDEAL_ATOM_POSITIONS[residue]
        assert set(atoms) == set(rc.restype_name_to_atom14_names[residue])
        num_chis = len(geometry.CHI_ANGLE_ATOMS[residue])
        groups = {group for group, _ in atoms.values()}
        assert groups <= {geometry.BACKBONE_GROUP, geometry.PSI_GROUP} | set(
            range(geometry.CHI1_GROUP, geometry.CHI1_GROUP + num_chis))
        assert atoms["CA"] == (geometry.BACKBONE_GROUP, (0.0, 0.0, 0.0))
        assert geometry.RESTYPE_CHI_ANGLES_MASK[restype].sum() == num_chis


def test_default_frames_are_proper_rotations():
    rotations = geometry.RESTYPE_DEFAULT_FRAME_ROTATIONS.astype(np.float64)
    identity = np.broadcast_to(np.eye(3), rotations.shape)
    np.testing.assert_allclose(rotations @ np.swapaxes(rotations, -1, -2), identity, atol=1e-6)
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-6)


def test_built_atoms_have_ideal_bond_lengths(random_residues):
    aatype, _, atoms = random_residues

    def assert_bond(index: int, first: str, second: str, mean: float, stddev: float) -> None:
        distance = np.linalg.norm(atoms[index, rc.atom_order[first]] - atoms[index, rc.atom_order[second]])
        assert abs(distance - mean) <= 2 * stddev, (RESIDUES[aatype[index]], first, second, distance)

    for index, restype in enumerate(aatype):
        residue = RESIDUES[restype]
        for (first, second), (mean, stddev) in BACKBONE_BONDS.items():
            if not (residue == "GLY" and "CB" in (first, second)):
                assert_bond(index, first, second, mean, stddev)
        for (bond_residue, first, second), (mean, stddev) in SIDE_CHAIN_BONDS.items():
            if bond_residue == residue:
                assert_bond(index, first, second, mean, stddev)


def test_extended_residues_are_covalently_connected_without_overlaps():
    aatype = np.arange(20, dtype=np.int32)
    angles = np.full((20, 7), np.pi)  # side chains all-trans
    angles[:, 2] = np.radians(135.0)  # a beta-strand psi
    atoms = build_atom37(aatype, angles)
    for index, restype in enumerate(aatype):
        names = rc.restype_name_to_atom14_names[RESIDUES[restype]]
        xyz = np.stack([atoms[index, rc.atom_order[name]] for name in names])
        distances = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1) + np.diag(np.full(len(names), np.inf))
        nearest = distances.min(axis=1)
        assert np.all(nearest > 1.2) and np.all(nearest < 1.85), (RESIDUES[restype], nearest)


def test_cb_position_has_l_chirality(random_residues):
    aatype, _, atoms = random_residues
    n, ca, c, cb = (rc.atom_order[name] for name in ("N", "CA", "C", "CB"))
    for index, restype in enumerate(aatype):
        if RESIDUES[restype] == "GLY":
            continue
        # The improper dihedral CA-N-C-CB is about +34 degrees for L-amino acids (-34 for D).
        improper = np.degrees(dihedral(atoms[index, ca], atoms[index, n], atoms[index, c], atoms[index, cb]))
        assert 28 < improper < 40, (RESIDUES[restype], improper)


def test_torsion_angles_of_built_atoms_are_the_angles_they_were_built_from(random_residues):
    aatype, angles, atoms = random_residues
    mask = geometry.RESTYPE_ATOM37_MASK[aatype]
    torsions = jax.jit(atom37_to_torsion_angles)(aatype[None], atoms[None], mask[None])
    measured = np.asarray(torsions["torsion_angles_sin_cos"][0])
    defined = np.asarray(torsions["torsion_angles_mask"][0])
    # Residues are built independently: pre-omega and phi span two residues and are not compared.
    for index, restype in enumerate(aatype):
        num_chis = len(geometry.CHI_ANGLE_ATOMS[RESIDUES[restype]])
        for torsion in [2] + list(range(3, 3 + num_chis)):
            assert defined[index, torsion] == 1.0
            np.testing.assert_allclose(measured[index, torsion], [np.sin(angles[index, torsion]),
                                                                 np.cos(angles[index, torsion])], atol=1e-4)
        assert not defined[index, 3 + num_chis:].any()
    # psi is measured on the carbonyl oxygen, which sits trans to N: dihedral(N, CA, C, O) = psi + 180.
    n, ca, c, o = (rc.atom_order[name] for name in ("N", "CA", "C", "O"))
    for index in range(len(aatype)):
        expected = np.angle(np.exp(1j * (angles[index, 2] + np.pi)))
        measured_o = dihedral(atoms[index, n], atoms[index, ca], atoms[index, c], atoms[index, o])
        assert np.angle(np.exp(1j * (measured_o - expected))) == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("residue, chi, pairs", [
    ("ASP", 1, [("OD1", "OD2")]),
    ("GLU", 2, [("OE1", "OE2")]),
    ("PHE", 1, [("CD1", "CD2"), ("CE1", "CE2")]),
    ("TYR", 1, [("CD1", "CD2"), ("CE1", "CE2")]),
])
def test_pi_periodic_chis_swap_equivalent_atoms(residue, chi, pairs):
    restype = rc.restype_order[rc.restype_3to1[residue]]
    assert geometry.RESTYPE_CHI_PI_PERIODIC[restype, chi] == 1.0
    angles = np.zeros((2, 7))
    angles[:, 3:] = 1.0
    angles[1, 3 + chi] += np.pi
    atoms = build_atom37(np.full(2, restype, np.int32), angles)
    for first, second in pairs:
        np.testing.assert_allclose(atoms[0, rc.atom_order[first]], atoms[1, rc.atom_order[second]], atol=0.05)
    assert geometry.RESTYPE_CHI_PI_PERIODIC.sum() == 4


def test_unknown_residues_have_no_atoms_and_identity_frames():
    atoms = build_atom37(np.array([20], np.int32), np.zeros((1, 7)))
    assert not atoms.any()
    np.testing.assert_array_equal(geometry.RESTYPE_DEFAULT_FRAME_ROTATIONS[20], np.tile(np.eye(3), (8, 1, 1)))


def test_atom37_to_torsion_angles_masks_missing_atoms_and_uses_placeholders(random_residues):
    aatype, _, atoms = random_residues
    index = int(np.flatnonzero(aatype == rc.restype_order["K"])[0])  # lysine: four chis
    mask = geometry.RESTYPE_ATOM37_MASK[aatype].copy()
    mask[index, rc.atom_order["CE"]] = 0.0  # breaks chi3 (CB-CG-CD-CE) and chi4 (CG-CD-CE-NZ)
    result = jax.jit(functools.partial(atom37_to_torsion_angles, placeholder_for_undefined=True))(aatype, atoms, mask)
    np.testing.assert_array_equal(np.asarray(result["torsion_angles_mask"][index]), [1, 1, 1, 1, 1, 0, 0])
    np.testing.assert_allclose(np.asarray(result["torsion_angles_sin_cos"][index, 5:]), [[1.0, 0.0]] * 2)
    assert not np.asarray(result["torsion_angles_mask"][0, :2]).any()  # no residue before the first
