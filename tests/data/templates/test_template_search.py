"""Acceptance: a PDB70-style database built from real structures finds the structure a mutated query came
from, and the template features put its CA atoms where the structure file has them.

Real hhmake, cstranslate, ffindex, hhsearch and kalign; CA coordinates checked against an independent
Biopython reading of the original files.
"""

from __future__ import annotations

import datetime
import json
import random
import re
import shutil

import numpy as np
import pytest

from snakefold.cli import main
from snakefold.common import residue_constants
from snakefold.common.errors import SnakefoldError
from snakefold.install.databases import check_database
from snakefold.plan.cache import invalid_reason
from snakefold.templates.database import build_template_database
from snakefold.templates.featurise import TemplateFeaturizer
from snakefold.templates.hhr import parse_hhr
from snakefold.templates.mmcif import read_mmcif
from snakefold.templates.search import TemplateSettings, search_templates
from snakefold.tools import ffindex
from tests.data.templates.conftest import default_filters, observed_ca

CA = residue_constants.atom_order["CA"]
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"


def mutated_copy(sequence: str, fraction: float, seed: int) -> tuple[str, list[int]]:
    """``sequence`` with ``fraction`` of its residues replaced by another amino acid."""
    rng = random.Random(seed)
    positions = sorted(rng.sample(range(len(sequence)), round(fraction * len(sequence))))
    letters = list(sequence)
    for position in positions:
        letters[position] = rng.choice([letter for letter in AMINO_ACIDS if letter != letters[position]])
    return "".join(letters), positions


def settings_for(template_db, **filters) -> TemplateSettings:
    return TemplateSettings(database=str(template_db.prefix), mmcif_dir=str(template_db.mmcif_dir),
                            obsolete=str(template_db.prefix.parent / "obsolete.dat"),
                            filters=default_filters(**filters), hhsearch_options={"maxseq": 1000000})


def test_database_layout(template_db):
    assert template_db.entries == 9
    # 4HHB's four chains hold two distinct sequences: chains A and B are entered.
    names = [line.split("\t")[:2] for line in (template_db.prefix.parent / "chains.tsv").read_text().splitlines()[1:]]
    assert ["4hhb", "A"] in names and ["4hhb", "B"] in names and ["4hhb", "C"] not in names
    assert len(names) == template_db.chains == 10
    assert sorted(path.name for path in template_db.mmcif_dir.iterdir()) == [
        "1a8o.cif", "1ejg.cif", "1pga.cif", "1ubq.cif", "2crb.cif", "2lzm.cif", "3o5r.cif", "4hhb.cif", "4zey.cif"]
    assert check_database("pdb70", "hhsuite", template_db.prefix) == []
    assert check_database("obsolete_pdbs", "file", template_db.prefix.parent / "obsolete.dat") == []


@pytest.mark.parametrize("source, chain_id, seed", [("2LZM.pdb", "A", 1), ("3O5R.cif", "A", 2)])
def test_mutated_query_finds_its_structure(shared_data, template_db, tmp_path, source, chain_id, seed):
    entry_id = source[:4].lower()
    chain = read_mmcif(template_db.mmcif_dir / f"{entry_id}.cif").chains[chain_id]
    query, mutated = mutated_copy(chain.sequence, 0.15, seed)
    result = search_templates(query, settings_for(template_db), tmp_path / "search.log", timeout_s=600)

    features = result.features
    names = features["template_domain_names"].tolist()
    assert names[0] == f"{entry_id}_{chain_id}".encode()
    sum_probs = features["template_sum_probs"][:, 0]
    assert list(sum_probs) == sorted(sum_probs, reverse=True)
    assert parse_hhr(result.hhr)[0].name.startswith(f"{entry_id}_{chain_id} ")

    # The whole chain aligns residue for residue; every observed CA sits where the file has it.
    template_sequence = features["template_sequence"][0].decode()
    aligned = [index for index, letter in enumerate(template_sequence) if letter != "-"]
    assert len(aligned) >= 0.95 * len(query)
    assert all(template_sequence[index] == chain.sequence[index] for index in aligned)
    assert all(template_sequence[index] != query[index] for index in mutated if index in aligned)
    masks = features["template_all_atom_masks"][0]
    placed_ca = features["template_all_atom_positions"][0][masks[:, CA] > 0, CA]
    expected_ca = observed_ca(shared_data / "structures" / source, chain_id)
    assert placed_ca.shape == expected_ca.shape
    np.testing.assert_allclose(placed_ca, expected_ca, atol=1e-3)


def test_real_pdb70_hits_featurise_against_real_mmcif_files(shared_data, tmp_path):
    """openfold's hhsearch result for a 73-residue query against the real PDB70: three of its hits have
    mmCIF files here (2CRB, 4ZEY, 3U8V); the others are skipped as missing."""
    mmcif_dir = tmp_path / "mmcif"
    mmcif_dir.mkdir()
    for name in ("2CRB", "4ZEY", "3U8V"):
        shutil.copy(shared_data / "structures" / f"{name}.cif", mmcif_dir / f"{name.lower()}.cif")
    folder = shared_data / "msas" / "openfold" / "query_unknown73"
    query = "".join(line.strip() for line in (folder / "short.fasta").read_text().splitlines()[1:])
    hits = parse_hhr((folder / "pdb70_hits.hhr").read_text())
    features, outcomes = TemplateFeaturizer(mmcif_dir, default_filters(), {}, tmp_path / "kalign.log").featurize(
        query, hits)
    # Hits by decreasing Sum_probs: 3U8V_A 15.8, 1HF9_B 13.1, 2CRB_A 11.0, 4ZEY_A 10.8, 1PSM_A 8.0, ...
    assert [outcome.name.split()[0] for outcome in outcomes if outcome.kept] == ["3U8V_A", "2CRB_A", "4ZEY_A"]
    assert features["template_domain_names"].tolist() == [b"3u8v_A", b"2crb_A", b"4zey_A"]
    assert features["template_sum_probs"][:, 0].tolist() == pytest.approx([15.8, 11.0, 10.8])
    # 4ZEY_A: query 11-30 aligned to template residues 26-45 (1-based) of the 84-residue chain.
    zey = observed_ca(shared_data / "structures" / "4ZEY.cif", "A")
    np.testing.assert_allclose(features["template_all_atom_positions"][2, 10:30, CA], zey[25:45], atol=1e-3)
    assert features["template_all_atom_masks"][2, :, CA].nonzero()[0].tolist() == list(range(10, 30))
    zey_sequence = read_mmcif(mmcif_dir / "4zey.cif").chains["A"].sequence
    assert features["template_sequence"][2].decode()[10:30] == zey_sequence[25:45]


def test_command_writes_sealed_features_and_hits(template_db, tmp_path):
    query, _ = mutated_copy(read_mmcif(template_db.mmcif_dir / "1ubq.cif").chains["A"].sequence, 0.1, 3)
    (tmp_path / "query.fasta").write_text(f">q\n{query}\n")
    parts = {"kind": "templates", "sequence": query}
    status = main(["templates", "--query-fasta", str(tmp_path / "query.fasta"), "--database", str(template_db.prefix),
                   "--mmcif-dir", str(template_db.mmcif_dir), "--max-template-date", "2000-01-01",
                   "--timeout-minutes", "10", "--output", str(tmp_path / "t.npz"), "--hhr", str(tmp_path / "t.hhr"),
                   "--log", str(tmp_path / "t.log"), "--seal-parts", json.dumps(parts)])
    assert status == 0
    with np.load(tmp_path / "t.npz", allow_pickle=False) as archive:
        assert archive["template_domain_names"][0] == b"1ubq_A"
        assert archive["template_aatype"].shape[1:] == (76, 22)
    assert invalid_reason(tmp_path / "t.npz") is None and invalid_reason(tmp_path / "t.hhr") is None
    log = (tmp_path / "t.log").read_text()
    assert "1ubq_A\tkept" in log
    # Weaker hits to later structures are tried and skipped (4ZEY, released 2015, is one of them).
    assert "4zey_A\tskipped\treleased 2015-05-06, after max_template_date 2000-01-01" in log


def test_query_msa_must_start_with_the_query(template_db, tmp_path):
    (tmp_path / "other.a3m").write_text(">x\nACDEFGHIKLMNPQRSTVWY\n")
    with pytest.raises(SnakefoldError, match="was searched with another sequence than this query"):
        search_templates("MQIFVKTLTGKTITLEVEPSDTIENV", settings_for(template_db), tmp_path / "log",
                         timeout_s=600, query_msa=tmp_path / "other.a3m")


def test_build_refuses_undated_and_duplicate_entries(shared_data, tmp_path):
    folder = tmp_path / "structures"
    folder.mkdir()
    atoms = [line for line in (shared_data / "structures" / "1PGA.pdb").read_text().splitlines()
             if line.startswith("ATOM")]
    (folder / "design1.pdb").write_text("\n".join(atoms) + "\nEND\n")
    shutil.copy(shared_data / "structures" / "1UBQ.pdb", folder / "1UBQ.pdb")
    shutil.copy(shared_data / "structures" / "1UBQ.pdb", folder / "ubiquitin_copy.pdb")
    with pytest.raises(SnakefoldError) as error:
        build_template_database(folder, tmp_path / "db", log_path=tmp_path / "build.log")
    message = str(error.value)
    assert "2 problem(s)" in message and "design1.pdb: no release date" in message
    assert "ubiquitin_copy.pdb and" in message and "are both entry '1ubq'" in message
    assert not (tmp_path / "db").exists()

    (folder / "ubiquitin_copy.pdb").unlink()
    database = build_template_database(folder, tmp_path / "db", log_path=tmp_path / "build.log",
                                       undated_release_date=datetime.date(2020, 1, 1))
    assert database.entries == 2
    design = read_mmcif(database.mmcif_dir / "design1.cif")
    assert design.release_date == datetime.date(2020, 1, 1)
    assert design.chains["A"].sequence == "MTYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE"


@pytest.mark.slow
def test_chain_msas_searched_in_a_sequence_database(shared_data, tmp_path):
    """With chain_msa_database, each chain's entry is its hhblits MSA (here against HMMER's 45 globins)."""
    assert main(["build-db", "--format", "hhsuite", "--no-cluster", "--threads", "2", "--output",
                 str(tmp_path / "globins"), "--input", str(shared_data / "msas" / "hmmer" / "globins45.fa")]) == 0
    folder = tmp_path / "structures"
    folder.mkdir()
    for name in ("1A6M.pdb", "1UBQ.pdb"):
        shutil.copy(shared_data / "structures" / name, folder / name)
    database = build_template_database(folder, tmp_path / "db", chain_msa_database=tmp_path / "globins", threads=2,
                                       log_path=tmp_path / "build.log")
    entries = dict(ffindex.read_entries(f"{database.prefix}_a3m.ffdata", f"{database.prefix}_a3m.ffindex"))
    assert entries["1a6m_A"].startswith(b">1a6m_A mol:protein length:151\nVLSEGEWQLVLHVWAKVEAD")
    assert entries["1a6m_A"].count(b">") > 10  # myoglobin finds the globins
    assert entries["1ubq_A"].count(b">") == 1  # ubiquitin finds none

    myoglobin = read_mmcif(database.mmcif_dir / "1a6m.cif").chains["A"]
    query, _ = mutated_copy(myoglobin.sequence, 0.2, 4)
    result = search_templates(query, settings_for(database), tmp_path / "search.log", timeout_s=600)
    assert result.features["template_domain_names"].tolist()[0] == b"1a6m_A"
    masks = result.features["template_all_atom_masks"][0]
    np.testing.assert_allclose(result.features["template_all_atom_positions"][0][masks[:, CA] > 0, CA],
                               observed_ca(shared_data / "structures" / "1A6M.pdb", "A"), atol=1e-3)


def test_search_starts_from_a_real_uniref90_msa(shared_data, template_db, tmp_path):
    """AlphaFold2 searches PDB70 with the query's jackhmmer UniRef90 MSA (Stockholm, made a3m): openfold's
    MSA for 4ZEY chain A finds 4ZEY."""
    msa = shared_data / "msas" / "openfold" / "4zey_A" / "uniref90_hits.sto"
    sequence = read_mmcif(template_db.mmcif_dir / "4zey.cif").chains["A"].sequence
    # The query is 4ZEY's own sequence: let the exact copy through the near-duplicate filter.
    result = search_templates(sequence, settings_for(template_db, max_subsequence_ratio=1.0), tmp_path / "search.log",
                              timeout_s=600, query_msa=msa)
    searched = re.search(r"^No_of_seqs\s+(\d+) out of (\d+)", result.hhr, re.MULTILINE)
    assert int(searched[2]) > 400  # hhsearch read the MSA's hundreds of rows, not the sequence alone
    assert result.features["template_domain_names"].tolist()[0] == b"4zey_A"
    masks = result.features["template_all_atom_masks"][0]
    np.testing.assert_allclose(result.features["template_all_atom_positions"][0][masks[:, CA] > 0, CA],
                               observed_ca(shared_data / "structures" / "4ZEY.cif", "A"), atol=1e-3)
