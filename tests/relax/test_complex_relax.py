"""Relaxation of complexes with real OpenMM: chains stay apart (issue #17).

The real two-chain structure is the homodimer 2RBG (chains A and B, residues 3-126 each). The OpenMM and
relaxation tests take a 30-residue stretch of each chain across the dimer interface (A:97-126, the real
C-terminus of chain A, and B:62-91) so that a full relaxation stays within seconds. Crambin (1EJG) cut into
two chains whose three disulfide bonds then join the chains shows which bond between chains is kept.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial import cKDTree

from snakefold.common import residue_constants as rc
from snakefold.common.mmcif_writer import ChainRecord
from snakefold.common.protein import Protein, from_structure_file, peptide_bond_mask
from snakefold.relax import amber
from snakefold.relax.violations import find_violations
from snakefold.report.structures import load_model
from tests.relax.test_relax import relax_perturbed

N, C = rc.atom_order["N"], rc.atom_order["C"]
#: chain -> (first, last) residue number of the interface stretch of 2RBG relaxed here
INTERFACE_STRETCHES = {"A": (97, 126), "B": (62, 91)}


def _residues(protein: Protein, keep: np.ndarray) -> Protein:
    """The residues of ``protein`` where ``keep`` [L] is True, chain IDs unchanged."""
    return dataclasses.replace(protein, atom_positions=protein.atom_positions[keep], aatype=protein.aatype[keep],
                               atom_mask=protein.atom_mask[keep], residue_index=protein.residue_index[keep],
                               chain_index=protein.chain_index[keep], b_factors=protein.b_factors[keep])


def _heavy_atoms(protein: Protein, chain: int) -> np.ndarray:
    present = (protein.atom_mask > 0.5) & (protein.chain_index == chain)[:, None]
    return protein.atom_positions[present].astype(np.float64)


@pytest.fixture(scope="module")
def dimer(shared_data) -> Protein:
    protein = from_structure_file(shared_data / "structures" / "2RBG.pdb")
    assert protein.chain_ids == ("A", "B")
    return protein


@pytest.fixture(scope="module")
def interface_pair(dimer) -> Protein:
    keep = np.zeros(dimer.num_residues, dtype=bool)
    for chain, (first, last) in INTERFACE_STRETCHES.items():
        keep |= ((dimer.chain_index == dimer.chain_ids.index(chain)) & (dimer.residue_index >= first)
                 & (dimer.residue_index <= last))
    pair = _residues(dimer, keep)
    assert pair.num_residues == 60 and peptide_bond_mask(pair).sum() == 58, "each stretch is one unbroken chain"
    closest = cKDTree(_heavy_atoms(pair, 0)).query(_heavy_atoms(pair, 1))[0].min()
    assert closest < 4.0, f"the two stretches must touch across the dimer interface (closest {closest:.1f} A)"
    return pair


def _chain_of_atom(structure: amber.PreparedStructure, protein: Protein) -> np.ndarray:
    return protein.chain_index[structure.residue_of_atom]


def _numbered_on(protein: Protein) -> Protein:
    """``protein`` (two chains) with chain B renumbered to continue chain A: only the chain tells them apart."""
    first_of_b = int(np.flatnonzero(protein.chain_index == 1)[0])
    shift = protein.residue_index[first_of_b - 1] + 1 - protein.residue_index[first_of_b]
    return dataclasses.replace(protein, residue_index=np.where(protein.chain_index == 1, protein.residue_index + shift,
                                                               protein.residue_index))


def test_a_break_between_chains_is_no_peptide_bond_violation(dimer):
    last_of_a = int(np.flatnonzero(dimer.chain_index == 0)[-1])
    junction = np.linalg.norm(dimer.atom_positions[last_of_a, C] - dimer.atom_positions[last_of_a + 1, N])
    assert junction > 10.0, "the test needs chain A's C-terminus far from chain B's N-terminus"
    continued = _numbered_on(dimer)  # chain B numbered 127, 128, ...
    assert continued.residue_index[last_of_a + 1] == continued.residue_index[last_of_a] + 1
    for two_chains in (dimer, continued):
        violations = find_violations(two_chains)
        assert (violations.num_bond_length, violations.num_bond_angle, violations.num_violating_residues) == (0, 0, 0)

    # the same coordinates as one chain: the stretched "peptide bond" at the junction is a violation
    one_chain = dataclasses.replace(continued, chain_index=np.zeros(dimer.num_residues), chain_ids=("A",))
    violations = find_violations(one_chain)
    assert violations.num_bond_length == 1
    assert np.flatnonzero(violations.bond_length).tolist() == [last_of_a, last_of_a + 1]


def test_openmm_topology_has_each_chain_terminated_and_no_bond_between_chains(interface_pair):
    interface_pair = _numbered_on(interface_pair)  # A:97-126, B:127-156
    structure = amber.prepare(interface_pair)
    topology = structure.topology
    chain_of_atom = _chain_of_atom(structure, interface_pair)
    residue_of_atom = structure.residue_of_atom
    bonds = [(bond.atom1.index, bond.atom2.index) for bond in topology.bonds()]
    atoms = list(topology.atoms())

    assert topology.getNumChains() == 2
    assert [len(list(chain.residues())) for chain in topology.chains()] == [30, 30]
    assert sum(chain_of_atom[first] != chain_of_atom[second] for first, second in bonds) == 0
    # the bonds between residues are the 29 peptide bonds of each chain (no disulfides in these stretches)
    between_residues = [(first, second) for first, second in bonds if residue_of_atom[first] != residue_of_atom[second]]
    assert len(between_residues) == 2 * 29
    assert all(abs(int(residue_of_atom[first]) - int(residue_of_atom[second])) == 1
               for first, second in between_residues)

    # each chain's N-terminus is NH3+ (NH2+ for proline), its C-terminus COO- with OXT; inner residues neither
    hydrogens_on_n = np.zeros(interface_pair.num_residues, dtype=int)
    for first, second in bonds:
        for nitrogen, other in ((first, second), (second, first)):
            if atoms[nitrogen].name == "N" and atoms[other].element.symbol == "H":
                hydrogens_on_n[residue_of_atom[nitrogen]] += 1
    has_oxt = np.zeros(interface_pair.num_residues, dtype=bool)
    has_oxt[[residue_of_atom[atom.index] for atom in atoms if atom.name == "OXT"]] = True
    amide_hydrogens = np.where(interface_pair.aatype == rc.restype_order["P"], 0, 1)
    starts = np.flatnonzero(np.diff(interface_pair.chain_index, prepend=-1))
    ends = np.flatnonzero(np.diff(interface_pair.chain_index, append=2))
    expected_hydrogens = amide_hydrogens.copy()
    expected_hydrogens[starts] += 2
    np.testing.assert_array_equal(hydrogens_on_n, expected_hydrogens)
    assert np.flatnonzero(has_oxt).tolist() == ends.tolist() == [29, 59]
    assert sorted(structure.added_heavy_atoms) == ["A:126 OXT", "B:156 OXT"]


def test_disulfide_bonds_between_chains_are_kept(shared_data):
    crambin = from_structure_file(shared_data / "structures" / "1EJG.cif")
    # chain A: residues 1-19, chain B: 21-46 (20 left out); disulfides 3-40, 4-32 and 16-26 now join the chains
    keep = crambin.residue_index != 20
    cut = _residues(crambin, keep)
    cut = dataclasses.replace(cut, chain_index=(cut.residue_index > 20).astype(np.int32), chain_ids=("A", "B"))
    structure = amber.prepare(cut)
    chain_of_atom = _chain_of_atom(structure, cut)
    between_chains = [(bond.atom1, bond.atom2) for bond in structure.topology.bonds()
                      if chain_of_atom[bond.atom1.index] != chain_of_atom[bond.atom2.index]]
    assert sorted(sorted(int(cut.residue_index[structure.residue_of_atom[atom.index]]) for atom in pair)
                  for pair in between_chains) == [[3, 40], [4, 32], [16, 26]]
    assert all(atom.name == "SG" for pair in between_chains for atom in pair)


def test_complex_relaxes_with_chains_numbers_and_termini_kept(interface_pair, tmp_path):
    unrelaxed, before, metrics = relax_perturbed(interface_pair, 11, tmp_path)
    assert metrics["relaxed"] is True
    assert metrics["violations_before"]["violating_residues"] == before.num_violating_residues
    assert metrics["violations_after"]["violating_residues"] == 0
    assert metrics["heavy_atom_rmsd_to_unrelaxed_angstrom"] < 0.5
    assert sorted(metrics["added_heavy_atoms"]) == ["A:126 OXT", "B:91 OXT"]

    # the relaxed PDB: chain A's atoms, TER, chain B's atoms, TER
    lines = (tmp_path / "relaxed.pdb").read_text().splitlines()
    records = [line for line in lines if line.startswith(("ATOM", "TER"))]
    ter_lines = [index for index, line in enumerate(records) if line.startswith("TER")]
    assert len(ter_lines) == 2 and ter_lines[-1] == len(records) - 1
    chain_column = [line[21] for line in records[:ter_lines[0]]] + [line[21] for line in records[ter_lines[0] + 1:-1]]
    assert chain_column == ["A"] * ter_lines[0] + ["B"] * (ter_lines[1] - ter_lines[0] - 1)
    for ter, (chain, (_first, last)) in zip(ter_lines, INTERFACE_STRETCHES.items()):
        assert records[ter][21] == chain and int(records[ter][22:26]) == last
        assert records[ter - 1][12:16].strip() == "OXT" and int(records[ter - 1][22:26]) == last
    oxt_atoms = [(line[21], int(line[22:26])) for line in records if line[12:16].strip() == "OXT"]
    assert oxt_atoms == [(chain, last) for chain, (_first, last) in INTERFACE_STRETCHES.items()]

    # read back: chains, numbering and residue types as in the input; geometry relaxed, close to the input
    relaxed = from_structure_file(tmp_path / "relaxed.pdb")
    assert relaxed.chain_ids == ("A", "B")
    np.testing.assert_array_equal(relaxed.chain_index, unrelaxed.chain_index)
    np.testing.assert_array_equal(relaxed.residue_index, unrelaxed.residue_index)
    np.testing.assert_array_equal(relaxed.aatype, unrelaxed.aatype)
    assert find_violations(relaxed).num_violating_residues == 0
    shared = (unrelaxed.atom_mask > 0.5) & (relaxed.atom_mask > 0.5)
    assert shared.sum() == (unrelaxed.atom_mask > 0.5).sum()
    deviation = relaxed.atom_positions[shared].astype(np.float64) - unrelaxed.atom_positions[shared]
    rmsd = float(np.sqrt(np.mean(np.sum(deviation**2, axis=-1))))
    assert rmsd < 0.5 and rmsd == pytest.approx(metrics["heavy_atom_rmsd_to_unrelaxed_angstrom"], abs=2e-3)
    # chain A's C-terminus and chain B's first residue were not pulled together
    last_of_a = int(np.flatnonzero(unrelaxed.chain_index == 0)[-1])
    gap = [np.linalg.norm(protein.atom_positions[last_of_a, C] - protein.atom_positions[last_of_a + 1, N])
           for protein in (unrelaxed, relaxed)]
    assert gap[1] == pytest.approx(gap[0], abs=0.5)
    # the report reads the relaxed complex as it reads a prediction: both chains, in order, with their IDs
    sequences = ["".join(rc.restypes[aatype] for aatype in unrelaxed.aatype[unrelaxed.chain_index == index])
                 for index in range(len(unrelaxed.chain_ids))]
    chains = [ChainRecord(chain, sequence) for chain, sequence in zip(unrelaxed.chain_ids, sequences)]
    loaded = load_model(tmp_path / "relaxed.pdb", chains)
    assert [(chain.id, len(chain)) for chain in loaded[0]] == [("A", 30), ("B", 30)]
    print(f"2RBG A:97-126 + B:62-91: energy {metrics['initial_energy_kcal_per_mol']:.0f} -> "
          f"{metrics['final_energy_kcal_per_mol']:.0f} kcal/mol, RMSD {rmsd:.3f} A, violating residues "
          f"{before.num_violating_residues} -> 0, rounds {len(metrics['rounds'])}, {metrics['wall_time_s']:.1f} s")
