"""``snakefold complex-features``: its pairing summary, and input problems named by file and chain."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from snakefold.cli import main
from tests.complexes import cases
from tests.complexes.test_parity import run_complex_features, unpack_case


@pytest.fixture
def heterodimer(tmp_path):
    return unpack_case("hetero_A24_B32", tmp_path / "case")


def test_summary_counts_the_paired_rows_and_their_species(heterodimer, tmp_path):
    fasta, msas = heterodimer
    features, summary = run_complex_features(fasta, msas, tmp_path)
    # paired rows run across all chains: in the bert mask they are the leading rows of ones (query first)
    leading_full_rows = int(np.argmin(features["bert_mask"].all(axis=1)))
    assert summary["paired"] is True
    assert summary["paired_rows"] == leading_full_rows - 1
    assert sum(entry["rows"] for entry in summary["species"]) == summary["paired_rows"]
    assert all(entry["species"] for entry in summary["species"])
    assert [chain["chain_id"] for chain in summary["chains"]] == ["A", "B"]
    assert summary["records"] == {"A": "A", "B": "B"}
    assert summary["msa_rows"] == int(features["num_alignments"])


def test_a_homomer_is_not_paired(tmp_path):
    fasta, msas = unpack_case("homodimer_A40", tmp_path / "case")
    features, summary = run_complex_features(fasta, msas, tmp_path)
    assert summary["paired"] is False and "species" not in summary
    assert not (msas / "B").exists()  # AlphaFold2 searched the repeated sequence once, in A/
    assert np.count_nonzero(features["cluster_bias_mask"]) == 1


def run_failing(capsys, fasta, msas, tmp_path, *extra) -> str:
    status = main(["complex-features", "--fasta", str(fasta), "--msas", str(msas),
                   "--out", str(tmp_path / "merged.npz"), *extra])
    assert status == 1
    assert not (tmp_path / "merged.npz").exists()
    return capsys.readouterr().err


def test_a_missing_uniprot_msa_of_a_heteromer_chain_is_named(heterodimer, tmp_path, capsys):
    fasta, msas = heterodimer
    (msas / "B" / "uniprot_hits.sto").unlink()
    error = run_failing(capsys, fasta, msas, tmp_path)
    assert f"{msas / 'B' / 'uniprot_hits.sto'}: missing" in error and "chain B" in error


def test_a_directory_made_for_another_fasta_is_rejected(heterodimer, tmp_path, capsys):
    fasta, msas = heterodimer
    chain_map = json.loads((msas / "chain_id_map.json").read_text())
    chain_map["B"]["sequence"] = "MKV" + chain_map["B"]["sequence"][3:]
    (msas / "chain_id_map.json").write_text(json.dumps(chain_map))
    error = run_failing(capsys, fasta, msas, tmp_path)
    assert "chain_id_map.json: chain B" in error


def test_an_msa_of_another_sequence_is_named(heterodimer, tmp_path, capsys):
    fasta, msas = heterodimer
    (msas / "chain_id_map.json").unlink()
    records = fasta.read_text().splitlines()
    fasta.write_text("\n".join([records[2], records[3], records[0], records[1]]) + "\n")  # B first, then A
    error = run_failing(capsys, fasta, msas, tmp_path)
    assert f"{msas / 'A' / 'uniref90_hits.sto'}: its first row is not chain A's sequence" in error


def test_template_hits_need_the_mmcif_directory(heterodimer, tmp_path, capsys):
    fasta, msas = heterodimer
    (msas / "A" / "pdb_hits.sto").write_text(
        "# STOCKHOLM 1.0\n#=GS 1abc_A/1-3 DE [subseq from] mol:protein length:9  X\n1abc_A/1-3 "
        + "A" * 24 + "\n//\n")
    error = run_failing(capsys, fasta, msas, tmp_path)
    assert "pdb_hits.sto: chain A has 1 template hit(s)" in error and "--mmcif-dir" in error


def test_summary_says_what_became_of_each_template_hit(tmp_path):
    fasta, msas = unpack_case(cases.TEMPLATE_CASE, tmp_path / "case")
    features, summary = run_complex_features(fasta, msas, tmp_path, "--mmcif-dir", str(tmp_path / "case" / "mmcif"),
                                             "--max-template-date", cases.MAX_TEMPLATE_DATE)
    fates = {chain_id: {hit["hit"]: (hit["kept"], hit["reason"]) for hit in hits}
             for chain_id, hits in summary["template_hits"].items()}
    assert fates["A"]["1tma_A"][0] and fates["A"]["2tmb_A"][0] and fates["B"]["3tmc_C"][0]
    assert "same template sequence" in fates["A"]["1tma_B"][1]  # the entry's second, identical chain
    assert "near-duplicate" in fates["B"]["4tmd_A"][1]
    assert "after max_template_date" in fates["B"]["5tme_A"][1]
    # chain A keeps two templates, chain B one: the merged slots hold A's second template beside B's padding
    first_chain = features["asym_id"] == 1
    kept_residues = features["template_all_atom_mask"].sum(axis=-1) > 0
    assert kept_residues[1][first_chain].any() and not kept_residues[1][~first_chain].any()
    assert int(features["num_templates"]) == 2


def test_hhsearch_template_hits_of_a_monomer_style_run_are_featurised(shared_data, tmp_path):
    """An msas/ directory holding pdb_hits.hhr (hhsearch against PDB70) instead of hmmsearch's pdb_hits.sto."""
    source = shared_data / cases.OPENFOLD_MSAS / "query_unknown73"
    chain_dir = tmp_path / "msas" / "A"
    chain_dir.mkdir(parents=True)
    for name in ("uniref90_hits.sto", "mgnify_hits.sto", "bfd_uniclust_hits.a3m"):
        shutil.copyfile(source / name, chain_dir / name)
    shutil.copyfile(source / "pdb70_hits.hhr", chain_dir / "pdb_hits.hhr")
    sequence = cases.stockholm_query(chain_dir / "uniref90_hits.sto")
    fasta = tmp_path / "homodimer.fasta"
    fasta.write_text(f">first\n{sequence}\n>second\n{sequence}\n")
    mmcif = tmp_path / "mmcif"
    mmcif.mkdir()
    for entry, file_name in cases.TEMPLATE_STRUCTURES.items():
        shutil.copyfile(shared_data / "structures" / file_name, mmcif / f"{entry}.cif")
    features, summary = run_complex_features(fasta, tmp_path / "msas", tmp_path, "--mmcif-dir", str(mmcif))
    hits = {hit["hit"].split()[0]: hit for hit in summary["template_hits"]["A"]}
    assert {"1HF9_B", "2CRB_A", "4ZEY_A"} <= set(hits)
    assert not hits["1HF9_B"]["kept"] and "no mmCIF file" in hits["1HF9_B"]["reason"]
    kept = sum(hit["kept"] for hit in hits.values())
    assert int(features["num_templates"]) == min(kept, 4)
    assert summary["paired"] is False


def test_a_colabfold_record_gives_the_features_of_one_record_per_chain(tmp_path):
    fasta, msas = unpack_case("A2B_trimer", tmp_path / "case")
    chains = [line for line in fasta.read_text().splitlines() if line and not line.startswith(">")]
    joined = tmp_path / "joined.fasta"
    joined.write_text(f">a2b description\n{':'.join(chains)}\n")
    (tmp_path / "per_chain").mkdir()
    (tmp_path / "joined").mkdir()
    per_chain, _ = run_complex_features(fasta, msas, tmp_path / "per_chain")
    features, summary = run_complex_features(joined, msas, tmp_path / "joined")
    assert sorted(features) == sorted(per_chain)
    assert all(np.array_equal(features[key], per_chain[key]) for key in per_chain)
    assert summary["records"] == {"A": "a2b", "B": "a2b", "C": "a2b"}


def test_a_colabfold_record_beside_other_records_is_refused(heterodimer, tmp_path, capsys):
    fasta, msas = heterodimer
    sequences = [line for line in fasta.read_text().splitlines() if line and not line.startswith(">")]
    fasta.write_text(f">one\n{sequences[0]}\n>both\n{sequences[0]}:{sequences[1]}\n")
    error = run_failing(capsys, fasta, msas, tmp_path)
    assert f"{fasta}:3:both holds chains separated by ':'" in error
