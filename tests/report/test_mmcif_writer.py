"""The mmCIF writer: files Biopython and mdtraj read back with the sequence, metadata and scores intact."""

from __future__ import annotations

import dataclasses

import mdtraj
import numpy as np
import pytest
from Bio.PDB import MMCIFParser
from Bio.PDB.MMCIF2Dict import MMCIF2Dict

from snakefold.common import residue_constants as rc
from snakefold.common.errors import SnakefoldError
from snakefold.common.mmcif_writer import GlobalScore, ModelRecord, write_mmcif
from snakefold.common.protein import Protein, to_pdb
from snakefold.report.structures import load_chain
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
