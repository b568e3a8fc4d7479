"""Reading template structures from real mmCIF and PDB files: sequences, release dates, atom37 coordinates."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from snakefold.common import residue_constants
from snakefold.common.errors import SnakefoldError
from snakefold.templates.mmcif import pdb_to_mmcif, read_mmcif, write_mmcif_dict
from tests.data.templates.conftest import observed_ca

CA, SD, CB = (residue_constants.atom_order[name] for name in ("CA", "SD", "CB"))


def read_fasta(path):
    records, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            records[name] = ""
        elif name:
            records[name] += line.strip()
    return records


def test_selenomethionine_is_methionine_with_its_selenium_as_sd(shared_data):
    entry = read_mmcif(shared_data / "structures" / "4ZEY.cif")
    assert entry.release_date == datetime.date(2015, 5, 6)  # the first of three revisions
    chain = entry.chains["A"]
    assert chain.sequence == read_fasta(shared_data / "sequences.fasta")["4ZEY_A"]
    assert chain.residue_names[1] == "MSE" and chain.sequence[1] == "M"
    # HETATM ... SE . MSE A 1 2 ? (label_seq_id 2): the selenium sits in the SD slot.
    text = (shared_data / "structures" / "4ZEY.cif").read_text().splitlines()
    selenium = next(line.split() for line in text if line.startswith("HETATM") and " SE " in line
                    and line.split()[5] == "MSE" and line.split()[8] == "2")
    assert chain.atom_mask[1, SD] == 1.0
    np.testing.assert_allclose(chain.atom_positions[1, SD], [float(value) for value in selenium[10:13]], atol=1e-4)


def test_alternative_locations_keep_the_most_occupied(shared_data):
    chain = read_mmcif(shared_data / "structures" / "3O5R.cif").chains["A"]
    # GLU label_seq_id 8: CA altloc A (occupancy 0.75) at 46.352 -3.160 2.845, altloc B (0.25) elsewhere.
    np.testing.assert_allclose(chain.atom_positions[7, CA], [46.352, -3.160, 2.845], atol=1e-4)
    observed = chain.atom_mask[:, CA] > 0
    expected = observed_ca(shared_data / "structures" / "3O5R.cif", "A")
    np.testing.assert_allclose(chain.atom_positions[observed, CA], expected, atol=1e-3)


def test_microheterogeneity_takes_the_first_residue(shared_data):
    entry = read_mmcif(shared_data / "structures" / "1EJG.cif")
    chain = entry.chains["A"]
    # _entity_poly_seq lists PRO and SER at 22, LEU and ILE at 25: the first of each is the residue.
    assert len(chain.sequence) == 46
    assert chain.sequence == read_fasta(shared_data / "sequences.fasta")["1EJG_A"]
    assert (chain.sequence[21], chain.sequence[24]) == ("P", "L")
    np.testing.assert_allclose(chain.atom_positions[21, CA], [6.042, 13.429, -2.601], atol=1e-4)  # PRO altloc A
    assert chain.atom_mask[21, residue_constants.atom_order["OG"]] == 0.0  # the serine's atoms are not mixed in
    # Files written before _pdbx_audit_revision_history give the release as _database_PDB_rev.date.
    assert entry.release_date == datetime.date(2000, 4, 5)


def test_nmr_entry_reads_model_one_and_missing_residues_stay_masked(shared_data):
    nmr = read_mmcif(shared_data / "structures" / "2CRB.cif").chains["A"]
    np.testing.assert_allclose(nmr.atom_positions[nmr.atom_mask[:, CA] > 0, CA],
                               observed_ca(shared_data / "structures" / "2CRB.cif", "A"), atol=1e-3)
    partial = read_mmcif(shared_data / "structures" / "3U8V.cif")
    assert set(partial.chains) == {"A", "B"}
    chain = partial.chains["A"]
    assert len(chain.sequence) == 93 and int(chain.atom_mask[:, CA].sum()) == 83


def test_pdb_files_convert_to_mmcif_that_reads_back(shared_data, tmp_path):
    sequences = read_fasta(shared_data / "sequences.fasta")
    for name, chain_id, observed in (("1A8O.pdb", "A", 70), ("2CI2.pdb", "I", 65), ("4HHB.pdb", "A", 141)):
        mmcif, idcode, release = pdb_to_mmcif(shared_data / "structures" / name)
        assert idcode == name[:4]
        path = tmp_path / f"{idcode.lower()}.cif"
        write_mmcif_dict(mmcif, path)
        entry = read_mmcif(path)
        assert entry.release_date == release
        chain = entry.chains[chain_id]
        assert chain.sequence == sequences[f"{name[:4]}_{chain_id}"]
        assert int(chain.atom_mask[:, CA].sum()) == observed
        np.testing.assert_allclose(chain.atom_positions[chain.atom_mask[:, CA] > 0, CA],
                                   observed_ca(shared_data / "structures" / name, chain_id), atol=1e-3)
    # 1A8O: REVDAT 1 14-OCT-98; selenomethionine in HETATM records.
    entry = read_mmcif(tmp_path / "1a8o.cif")
    assert entry.release_date == datetime.date(1998, 10, 14)
    assert entry.chains["A"].residue_names[0] == "MSE" and entry.chains["A"].atom_mask[0, SD] == 1.0
    # 2CI2: the first 18 SEQRES residues are disordered; ASN 19 is SEQRES residue 19, not the earlier ASN 11.
    chain = read_mmcif(tmp_path / "2ci2.cif").chains["I"]
    assert not chain.atom_mask[:18].any() and chain.atom_mask[18, CA] == 1.0 and chain.sequence[18] == "N"


def test_pdb_file_without_header_takes_its_observed_residues(shared_data, tmp_path):
    atoms = [line for line in (shared_data / "structures" / "1UBQ.pdb").read_text().splitlines()
             if line.startswith("ATOM")]
    headerless = tmp_path / "design.pdb"
    headerless.write_text("\n".join(atoms) + "\nEND\n")
    mmcif, idcode, release = pdb_to_mmcif(headerless)
    assert (idcode, release) == ("", None)
    path = tmp_path / "design.cif"
    write_mmcif_dict(mmcif, path)
    entry = read_mmcif(path)
    assert entry.release_date is None
    assert entry.chains["A"].sequence == "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


def test_unreadable_files_are_named(tmp_path):
    empty = tmp_path / "x.cif"
    empty.write_text("data_x\n_entry.id x\n")
    with pytest.raises(SnakefoldError, match="x.cif: the mmCIF file has no _entity_poly_seq"):
        read_mmcif(empty)
    water = tmp_path / "w.pdb"
    water.write_text("HETATM    1  O   HOH A   1       1.000   2.000   3.000  1.00 10.00           O\nEND\n")
    with pytest.raises(SnakefoldError, match="w.pdb: the PDB file has no protein chain"):
        pdb_to_mmcif(water)
