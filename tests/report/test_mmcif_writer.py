"""The mmCIF writer: files Biopython and mdtraj read back with the sequence, metadata and scores intact."""

from __future__ import annotations

import dataclasses

import mdtraj
import numpy as np
import pytest
from Bio.PDB import MMCIFParser, PDBParser
from Bio.PDB.MMCIF2Dict import MMCIF2Dict

from snakefold.common import residue_constants as rc
from snakefold.common.errors import SnakefoldError
from snakefold.common.mmcif_writer import ChainRecord, GlobalScore, ModelRecord, write_mmcif
from snakefold.common.protein import Protein, to_pdb
from snakefold.report.structures import load_chain, load_model, write_ranked_model
from tests.report.synthetic import random_atom37


def _structure(tmp_path, sequence, seed=0):
    positions, mask = random_atom37(sequence, np.random.default_rng(seed))
    length = len(sequence)
    protein = Protein(positions, rc.sequence_to_aatype(sequence), mask, np.arange(1, length + 1),
                      np.zeros(length), np.full((length, 37), 70.0) * mask)
    path = tmp_path / "model.pdb"
    path.write_text(to_pdb(protein))
    return load_chain(path, sequence), positions, mask


def test_long_sequence_odd_text_round_trip(tmp_path):
    sequence = ("ACDEFGHIKLMNPQRSTVWY" * 9)[:170]
    structure, positions, mask = _structure(tmp_path, sequence)
    description = "it's a \"designed\" protein; _not_ natural # really"
    record = ModelRecord(entry_id="design-1.v2", title="design-1.v2: model 'x'", sequence=sequence,
                         description=description, details="line one\nline two: parameters are untrained",
                         plddt=tuple(np.linspace(10, 95, len(sequence))),
                         global_scores=(GlobalScore("pLDDT", "pLDDT", "mean pLDDT", 52.5),
                                        GlobalScore("pTM", "pTM", "predicted TM-score", 0.61)),
                         software=(("snakefold", "0.1.0", "pipeline"),))
    path = tmp_path / "model.cif"
    write_mmcif(path, structure, record)

    table = MMCIF2Dict(str(path))
    assert table["data_"] == "design-1.v2"
    assert table["_entity.pdbx_description"] == [description]
    assert table["_struct.title"] == ["design-1.v2: model 'x'"]
    assert "parameters are untrained" in table["_struct.pdbx_model_details"][0]
    assert table["_entity_poly.pdbx_seq_one_letter_code_can"][0].replace("\n", "") == sequence
    assert max(len(line) for line in path.read_text().splitlines()) <= 200
    assert table["_entity_poly_seq.mon_id"] == [rc.restype_1to3[letter] for letter in sequence]
    assert [float(v) for v in table["_ma_qa_metric_local.metric_value"]] == pytest.approx(
        record.plddt, abs=0.006)
    assert list(zip(table["_ma_qa_metric.name"], table["_ma_qa_metric.mode"])) == [
        ("pLDDT", "local"), ("pLDDT", "global"), ("pTM", "global")]
    assert [float(v) for v in table["_ma_qa_metric_global.metric_value"]] == pytest.approx([52.5, 0.61])

    parsed = MMCIFParser(QUIET=True).get_structure("x", str(path))
    atoms = list(parsed.get_atoms())
    assert len(atoms) == int(mask.sum())
    ca = [atom for atom in atoms if atom.get_id() == "CA"]
    assert np.allclose([atom.coord for atom in ca], positions[:, 1], atol=1e-3)

    trajectory = mdtraj.load(str(path))
    assert trajectory.n_atoms == int(mask.sum())
    assert trajectory.topology.to_fasta() == [sequence]
    assert np.allclose(trajectory.xyz[0] * 10, [atom.coord for atom in atoms], atol=2e-3)


def test_residue_mismatch_is_refused(tmp_path):
    structure, _, _ = _structure(tmp_path, "ACDEFG")
    record = ModelRecord(entry_id="t", title="t", sequence="ACDEFW")
    with pytest.raises(ValueError, match="residue 6 is GLY in the structure but TRP in the sequence"):
        write_mmcif(tmp_path / "bad.cif", structure, record)
    assert not (tmp_path / "bad.cif").exists()


def test_unknown_residue_without_atoms_keeps_the_numbering(tmp_path):
    """AlphaFold2's atom masks give an unknown residue (X) no atoms, so a model has none for it: the other
    residues keep their positions in the sequence, and the files list the whole sequence."""
    sequence = "MKVLAXGDEWTR"
    positions, mask = random_atom37(sequence, np.random.default_rng(3))
    mask[5] = 0.0
    length = len(sequence)
    protein = Protein(positions, rc.sequence_to_aatype(sequence), mask, np.arange(1, length + 1),
                      np.zeros(length), np.full((length, 37), 70.0) * mask)
    (tmp_path / "model.pdb").write_text(to_pdb(protein))
    structure = load_chain(tmp_path / "model.pdb", sequence)
    assert [residue.id[1] for residue in structure.get_residues()] == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    record = ModelRecord(entry_id="x", title="x", sequence=sequence, plddt=tuple(np.linspace(30, 90, length)))
    write_mmcif(tmp_path / "model.cif", structure, record)
    table = MMCIF2Dict(str(tmp_path / "model.cif"))
    assert table["_entity_poly_seq.mon_id"][5] == "UNK" and len(table["_entity_poly_seq.mon_id"]) == length
    assert sorted({int(number) for number in table["_atom_site.label_seq_id"]}) == [1, 2, 3, 4, 5, 7, 8, 9, 10,
                                                                                    11, 12]
    mask[6] = 0.0  # a missing residue that is not X does not fit the sequence
    (tmp_path / "gap.pdb").write_text(to_pdb(dataclasses.replace(protein, atom_mask=mask)))
    with pytest.raises(SnakefoldError, match="11 residues|10 residues"):
        load_chain(tmp_path / "gap.pdb", sequence)


def test_a_complex_is_written_with_its_chains_entities_and_plddt(tmp_path):
    """An A2B complex (chains A and B share a sequence): PDB with chains A, B, C and a TER after each, mmCIF
    with two entities (two copies, one), three asyms, residues numbered within each chain, pLDDT per residue
    of every chain in the B-factors and ModelCIF's local scores."""
    alpha, beta = "MKTAYIAKQR", "GSHMLEDPVA"
    chains = (ChainRecord("A", alpha, "HBA"), ChainRecord("B", alpha, "HBA"), ChainRecord("C", beta, "HBB"))
    sequence = alpha + alpha + beta
    positions, mask = random_atom37(sequence, np.random.default_rng(3))
    chain_index = np.repeat([0, 1, 2], [len(alpha), len(alpha), len(beta)])
    residue_index = np.concatenate([np.arange(1, len(chain.sequence) + 1) for chain in chains])
    source = tmp_path / "unrelaxed.pdb"
    source.write_text(to_pdb(Protein(positions, rc.sequence_to_aatype(sequence), mask, residue_index, chain_index,
                                     np.zeros((len(sequence), 37)), chain_ids=("A", "B", "C"))))
    plddt = tuple(np.linspace(20, 90, len(sequence)))
    record = ModelRecord(entry_id="hb", title="hb", sequence=sequence, plddt=plddt, chains=chains)
    write_ranked_model(source, tmp_path / "ranked_0.pdb", tmp_path / "ranked_0.cif", record)

    pdb = PDBParser(QUIET=True).get_structure("x", str(tmp_path / "ranked_0.pdb"))
    assert [chain.id for chain in pdb[0]] == ["A", "B", "C"]
    assert [len(chain) for chain in pdb[0]] == [10, 10, 10]
    lines = (tmp_path / "ranked_0.pdb").read_text().splitlines()
    assert sum(line.startswith("TER") for line in lines) == 3
    assert [line[11] for line in lines if line.startswith("SEQRES")] == ["A", "B", "C"]
    bfactors = [residue["CA"].get_bfactor() for chain in pdb[0] for residue in chain]
    assert bfactors == pytest.approx(plddt, abs=0.006)

    table = MMCIF2Dict(str(tmp_path / "ranked_0.cif"))
    assert table["_entity.id"] == ["1", "2"] and table["_entity.pdbx_number_of_molecules"] == ["2", "1"]
    assert table["_entity.pdbx_description"] == ["HBA", "HBB"]
    assert table["_entity_poly.pdbx_strand_id"] == ["A,B", "C"]
    assert list(zip(table["_struct_asym.id"], table["_struct_asym.entity_id"])) == [("A", "1"), ("B", "1"),
                                                                                     ("C", "2")]
    assert len(table["_entity_poly_seq.num"]) == len(alpha) + len(beta)
    assert list(zip(table["_ma_qa_metric_local.label_asym_id"], table["_ma_qa_metric_local.label_seq_id"]))[9:11] == [
        ("A", "10"), ("B", "1")]
    assert [float(value) for value in table["_ma_qa_metric_local.metric_value"]] == pytest.approx(plddt, abs=0.006)
    cif = MMCIFParser(QUIET=True).get_structure("x", str(tmp_path / "ranked_0.cif"))
    assert [chain.id for chain in cif[0]] == ["A", "B", "C"]
    assert len(list(cif.get_atoms())) == int(mask.sum())


def test_a_complex_model_with_other_chains_is_refused(tmp_path):
    sequence = "MKTAYIAKQRGSHMLEDPVA"
    positions, mask = random_atom37(sequence, np.random.default_rng(4))
    source = tmp_path / "unrelaxed.pdb"
    source.write_text(to_pdb(Protein(positions, rc.sequence_to_aatype(sequence), mask, np.arange(1, 21),
                                     np.zeros(20, dtype=int), np.zeros((20, 37)))))
    chains = (ChainRecord("A", sequence[:10]), ChainRecord("B", sequence[10:]))
    with pytest.raises(SnakefoldError, match=r"unrelaxed.pdb: a predicted model of 2 chain\(s\), this file has 1"):
        load_model(source, chains)
