"""The atom37 Protein container: reading real PDB / mmCIF files, writing PDB, round trips."""

from __future__ import annotations

import dataclasses
import gzip
import re

import numpy as np
import pytest
from Bio.PDB import PDBParser

from snakefold.common import residue_constants as rc
from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import Protein, from_pdb_string, from_structure_file, peptide_bond_mask, to_pdb

# Residue counts that differ from PROVENANCE.md's 'observed' on purpose: 1EJG lists both residue types of
# its two microheterogeneous positions (we keep the first), 1HRC counts its N-terminal acetyl cap and
# 3KCS its chromophore (neither is an amino acid we read).
_KNOWN_DIFFERENCES = {("1EJG", "A"): 46, ("1HRC", "A"): 104, ("3KCS", "A"): 214}


def _fasta_headers(shared_data):
    headers = {}
    for line in (shared_data / "sequences.fasta").read_text().splitlines():
        match = re.match(r">(\w+)_(\w+) length=(\d+) observed=(\d+)", line)
        if match:
            headers[(match.group(1), match.group(2))] = int(match.group(4))
    return headers


def test_every_curated_structure_reads_with_its_observed_residue_count(shared_data):
    headers = _fasta_headers(shared_data)
    files = {path.name.split(".")[0]: path for path in (shared_data / "structures").iterdir()}
    assert len(files) == 40
    for (pdb_id, chain), observed in headers.items():
        if pdb_id not in files:
            continue
        protein = from_structure_file(files[pdb_id], chain_id=chain)
        assert protein.num_residues == _KNOWN_DIFFERENCES.get((pdb_id, chain), observed), pdb_id
        assert protein.chain_ids == (chain,)
        # heavy atoms only, and only atoms a residue of that type has
        allowed = rc.STANDARD_ATOM37_MASK[protein.aatype].copy()
        allowed[:, rc.atom_order["OXT"]] = 1.0
        allowed[protein.aatype == rc.unknown_restype_index, :5] = 1.0
        assert np.all(protein.atom_mask <= allowed), pdb_id


def test_pdb_reading_matches_ubiquitin(shared_data):
    protein = from_structure_file(shared_data / "structures" / "1UBQ.pdb")
    assert protein.sequence == "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
    assert protein.residue_index.tolist() == list(range(1, 77))
    assert protein.atom_positions.shape == (76, 37, 3) and protein.atom_positions.dtype == np.float32
    # ATOM      1  N   MET A   1      27.340  24.430   2.614  1.00  9.67           N
    np.testing.assert_allclose(protein.atom_positions[0, rc.atom_order["N"]], [27.340, 24.430, 2.614], atol=1e-3)
    assert protein.b_factors[0, rc.atom_order["N"]] == pytest.approx(9.67)
    assert int(protein.atom_mask.sum()) == 602  # 602 heavy atoms of chain A, waters dropped


def test_nmr_mmcif_models_hydrogens_and_range(shared_data):
    path = shared_data / "structures" / "1L2Y.cif"
    first, last = from_structure_file(path, model=0), from_structure_file(path, model=37)
    assert first.sequence == last.sequence == "NLYIQWLKDGGPSSGRPPPS"
    assert not np.allclose(first.atom_positions, last.atom_positions)
    assert int(first.atom_mask.sum()) == 154  # the file's hydrogens are dropped
    with pytest.raises(SnakefoldError, match="model 38 requested, but the file has 38 model"):
        from_structure_file(path, model=38)


def test_microheterogeneity_keeps_the_first_residue_type(shared_data):
    protein = from_structure_file(shared_data / "structures" / "1EJG.cif")
    assert protein.sequence == "TTCCPSIVARSNFNVCRLPGTPEALCATYTGCIIIPGATCPGDYAN"


def test_selenomethionine_reads_as_methionine(shared_data):
    protein = from_structure_file(shared_data / "structures" / "1A8O.pdb")
    methionines = np.flatnonzero(protein.aatype == rc.restype_order["M"])
    assert len(methionines) == protein.sequence.count("M") > 0
    assert np.all(protein.atom_mask[methionines, rc.atom_order["SD"]] == 1.0)
    assert "MSE" in (shared_data / "structures" / "1A8O.pdb").read_text()


def test_gzip_and_chain_selection(shared_data):
    path = shared_data / "structures" / "1TIM.pdb.gz"
    both = from_structure_file(path)
    chain_b = from_structure_file(path, chain_id="B")
    assert both.chain_ids == ("A", "B") and both.num_residues == 494
    assert chain_b.chain_ids == ("B",) and chain_b.num_residues == 247
    np.testing.assert_array_equal(chain_b.atom_positions, both.atom_positions[both.chain_index == 1])
    with pytest.raises(SnakefoldError, match=r"chain 'Q' not found; the file has chains 'A', 'B'"):
        from_structure_file(path, chain_id="Q")


def test_unreadable_inputs_name_the_file_and_line(tmp_path):
    broken = tmp_path / "broken.pdb"
    broken.write_text("ATOM      1  N   MET A   x      27.340  24.430   2.614  1.00  9.67           N\n")
    with pytest.raises(SnakefoldError, match=r"broken.pdb, line 1: malformed ATOM record"):
        from_structure_file(broken)
    empty = tmp_path / "empty.pdb"
    empty.write_text("HEADER    NOTHING\nEND\n")
    with pytest.raises(SnakefoldError, match="no ATOM or HETATM records"):
        from_structure_file(empty)
    with pytest.raises(SnakefoldError, match="cannot read structure file"):
        from_structure_file(tmp_path / "missing.pdb")


def test_pdb_round_trip_keeps_everything(shared_data, tmp_path):
    original = from_structure_file(shared_data / "structures" / "1TIM.pdb.gz")
    plddt = np.round(np.random.default_rng(0).uniform(20, 99, size=original.num_residues), 2)
    original = dataclasses.replace(original, b_factors=original.atom_mask * plddt[:, None])
    text = to_pdb(original, remarks=("model 3 of 5", "pLDDT in the B-factor column"))
    assert text.splitlines()[:2] == ["REMARK 250 model 3 of 5", "REMARK 250 pLDDT in the B-factor column"]
    again = from_pdb_string(text)
    assert again.chain_ids == original.chain_ids
    np.testing.assert_array_equal(again.residue_index, original.residue_index)
    np.testing.assert_array_equal(again.aatype, original.aatype)
    np.testing.assert_array_equal(again.atom_mask, original.atom_mask)
    np.testing.assert_allclose(again.atom_positions, original.atom_positions, atol=5e-4)
    np.testing.assert_allclose(again.b_factors, original.b_factors, atol=5e-3)
    # a gzip file of the same text reads the same
    (tmp_path / "model.pdb.gz").write_bytes(gzip.compress(text.encode()))
    np.testing.assert_array_equal(from_structure_file(tmp_path / "model.pdb.gz").atom_mask, again.atom_mask)


def test_written_pdb_is_read_by_biopython_column_for_column(shared_data, tmp_path):
    protein = from_structure_file(shared_data / "structures" / "1PGA.pdb")
    path = tmp_path / "out.pdb"
    path.write_text(to_pdb(protein))
    structure = PDBParser(QUIET=True).get_structure("out", path)
    atoms = list(structure.get_atoms())
    assert len(atoms) == int(protein.atom_mask.sum())
    first_residue = next(structure.get_residues())
    assert first_residue.get_resname() == "MET" and first_residue.id[1] == protein.residue_index[0]
    assert {atom.element for atom in atoms} == {"C", "N", "O", "S"}
    ca = first_residue["CA"]
    np.testing.assert_allclose(ca.coord, protein.atom_positions[0, rc.atom_order["CA"]], atol=5e-4)
    assert ca.bfactor == pytest.approx(protein.b_factors[0, rc.atom_order["CA"]], abs=5e-3)
    lines = path.read_text().splitlines()
    assert lines[-1] == "END" and lines[-2].startswith("TER")
    assert all(len(line) == 80 for line in lines if line.startswith("ATOM"))


def test_pdb_writer_refuses_what_the_format_cannot_hold(shared_data):
    protein = from_structure_file(shared_data / "structures" / "1L2Y.cif")
    with pytest.raises(SnakefoldError, match="chain ID 'AB'"):
        to_pdb(dataclasses.replace(protein, chain_ids=("AB",)))
    with pytest.raises(SnakefoldError, match="residue numbers outside"):
        to_pdb(dataclasses.replace(protein, residue_index=protein.residue_index + 10000))


def test_protein_checks_its_shapes():
    length = 3
    fields = dict(atom_positions=np.zeros((length, 37, 3)), aatype=np.zeros(length), atom_mask=np.zeros((length, 37)),
                  residue_index=np.arange(length), chain_index=np.zeros(length), b_factors=np.zeros((length, 37)))
    assert Protein(**fields).num_residues == 3
    with pytest.raises(ValueError, match=r"atom_mask has shape \(3, 14\)"):
        Protein(**{**fields, "atom_mask": np.zeros((length, 14))})
    with pytest.raises(ValueError, match="chain_index must index chain_ids"):
        Protein(**{**fields, "chain_index": np.array([0, 0, 1])})


def test_peptide_bond_mask_follows_numbering_and_chains(shared_data):
    protein = from_structure_file(shared_data / "structures" / "1TIM.pdb.gz")
    mask = peptide_bond_mask(protein)
    assert mask.shape == (protein.num_residues - 1,)
    assert not mask[246]  # last residue of chain A -> first of chain B
    gapped = dataclasses.replace(protein, residue_index=np.where(np.arange(protein.num_residues) >= 10,
                                                                   protein.residue_index + 5, protein.residue_index))
    assert peptide_bond_mask(gapped).sum() == mask.sum() - 1
