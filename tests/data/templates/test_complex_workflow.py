"""Complexes through the real snakemake up to their merged features: each distinct chain searched once (MSA,
UniProt and hmmsearch template searches with the real tools on databases built here), one merge job per
complex, nothing run again; and AlphaFold2's own msas/ directories as input (msa.mode precomputed), merged
as the official AlphaFold2 v2.3.2 data path merges them."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from snakefold.common import residue_constants
from snakefold.common.fasta import sequence_key
from snakefold.plan.cache import invalid_reason
from snakefold.plan.run import plan_run
from tests.complexes import cases
from tests.complexes.test_parity import assert_features_equal, unpack_case
from tests.data.conftest import PROTEIN_G, UBIQUITIN
from tests.data.templates.conftest import observed_ca
from tests.data.test_complex_searches import HBA, complex_config, write_uniprot
from tests.workflow.conftest import job_counts, run_snakemake, write_config

pytestmark = pytest.mark.slow

CA = residue_constants.atom_order["CA"]


def load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def searched_config(tmp_path: Path, template_db, records: dict[str, str]) -> dict:
    uniprot = tmp_path / "uniprot.fasta"
    if not uniprot.exists():
        write_uniprot(uniprot)
    config = complex_config(tmp_path, uniprot, records,
                            # the query's own PDB entry is kept as its template (not skipped as a near-duplicate)
                            templates={"enabled": True, "max_subsequence_ratio": 1.0})
    config.update(results_dir="results", cache_dir="cache", inputs=["in.fasta"])
    config["databases"].update(pdb_seqres=str(template_db.pdb_seqres), pdb_mmcif=str(template_db.mmcif_dir),
                               obsolete_pdbs=str(template_db.prefix.parent / "obsolete.dat"))
    return config


def test_complexes_sharing_chains_search_each_chain_once_and_merge_once_each(template_db, structures_dir,
                                                                              tmp_path):
    records = {"X": f"{UBIQUITIN}:{PROTEIN_G}", "Y": f"{PROTEIN_G}:{HBA}", "Z": f"{UBIQUITIN}:{HBA}:{HBA}"}
    settings = searched_config(tmp_path, template_db, records)
    config = write_config(tmp_path, settings)
    result = run_snakemake(tmp_path, "all_features", "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout + result.stderr)
    # three distinct chains: each searched once by every search; one merge per complex
    assert {rule: counts.get(rule) for rule in ("query_fasta", "msa_tiny", "msa_uniprot", "complex_templates",
                                                "complex_features")} == {
        "query_fasta": 3, "msa_tiny": 3, "msa_uniprot": 3, "complex_templates": 3, "complex_features": 3}, counts

    plan = plan_run(copy.deepcopy({**settings, "results_dir": str(tmp_path / "results"),
                                   "cache_dir": str(tmp_path / "cache"), "inputs": [str(tmp_path / "in.fasta")]}),
                    main_process=False)
    merged = {}
    for name in records:
        key = plan.features.complex_keys[name]
        entry = Path(plan.layout.complex_features_entry(key, "npz"))
        summary_path = Path(plan.layout.complex_features_entry(key, "summary.json"))
        assert invalid_reason(entry) is None and invalid_reason(summary_path) is None
        merged[name] = (load(entry), json.loads(summary_path.read_text()))

    features, summary = merged["Z"]
    assert features["entity_id"].tolist() == [1] * len(UBIQUITIN) + [2] * (2 * len(HBA))
    assert features["asym_id"].tolist() == [1] * len(UBIQUITIN) + [2] * len(HBA) + [3] * len(HBA)
    assert int(features["assembly_num_chains"]) == 3
    assert summary["records"] == {"A": "Z", "B": "Z", "C": "Z"}
    # ubiquitin and protein G homologues share species in the UniProt-style database: X pairs rows by species
    features, summary = merged["X"]
    assert summary["paired"] and summary["paired_rows"] > 0
    assert {entry["species"] for entry in summary["species"]} <= {"HUMAN", "MOUSE", "YEAST", "ECOLI", "ARATH"}
    assert all(chain["paired_rows"] == summary["paired_rows"] for chain in summary["chains"])
    # hmmsearch found ubiquitin's own entry in pdb_seqres; its coordinates are 1UBQ's (read by Biopython)
    ubiquitin = features["asym_id"] == 1
    positions = features["template_all_atom_positions"][0][ubiquitin][:, CA]
    assert features["template_all_atom_mask"][0][ubiquitin][:, CA].all()
    np.testing.assert_allclose(positions, observed_ca(structures_dir / "1UBQ.pdb", "A"), atol=1e-3)
    hits = Path(plan.layout.chain_template_entry(plan.chain_templates.keys[sequence_key(UBIQUITIN)], "sto"))
    assert "1ubq_A/" in hits.read_text()
    # HBA has no homologue in the UniProt-style database: only the query row, nothing paired with it
    _, summary = merged["Y"]
    assert summary["paired_rows"] == 0

    again = run_snakemake(tmp_path, "all_features", "-n", "--configfile", str(config))
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout + again.stderr

    # a new complex of chains already searched: its merge job only
    records["V"] = f"{PROTEIN_G}:{UBIQUITIN}"
    config = write_config(tmp_path, searched_config(tmp_path, template_db, records))
    result = run_snakemake(tmp_path, "all_features", "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("complex_features") == 1 and "msa_tiny" not in counts and "complex_templates" not in counts


def test_alphafold_msas_directories_give_alphafolds_merged_features(tmp_path):
    """msa.mode precomputed: a complex's AlphaFold2 msas/ directory (with hmmsearch template hits) merged in the
    DAG equals the official v2.3.2 data path's features of that directory."""
    case_dir = tmp_path / "case"
    fasta, msas = unpack_case(cases.TEMPLATE_CASE, case_dir)
    chains = [line.strip() for line in fasta.read_text().splitlines() if line.strip() and not line.startswith(">")]
    (tmp_path / "in.fasta").write_text(f">tmpl_dimer\n{':'.join(chains)}\n")
    precomputed = tmp_path / "af2_output"
    (precomputed / "tmpl_dimer").mkdir(parents=True)
    shutil.move(msas, precomputed / "tmpl_dimer" / "msas")
    (tmp_path / "obsolete.dat").write_text(" LIST OF OBSOLETE COORDINATE ENTRIES AND SUCCESSORS\n")
    config = {"inputs": ["in.fasta"], "results_dir": "results", "cache_dir": "cache",
              "msa": {"mode": "precomputed", "precomputed_dir": str(precomputed)},
              "templates": {"enabled": True, "max_template_date": cases.MAX_TEMPLATE_DATE},
              "databases": {"pdb_mmcif": str(case_dir / "mmcif"), "obsolete_pdbs": str(tmp_path / "obsolete.dat")}}
    path = write_config(tmp_path, config)
    result = run_snakemake(tmp_path, "all_features", "--cores", "1", "--configfile", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("complex_features") == 1 and not any(rule.startswith("msa_") for rule in counts), counts

    (entry,) = (tmp_path / "cache" / "complex_features").glob("*.npz")
    with np.load(cases.FIXTURES / f"{cases.TEMPLATE_CASE}_feat.npz", allow_pickle=False) as archive:
        expected = {key: archive[key] for key in archive.files}
    assert_features_equal(load(entry), expected)
    summary = json.loads(entry.with_name(entry.name.replace(".npz", ".summary.json")).read_text())
    assert summary["template_hits"]["A"] and summary["paired"]
    assert str(precomputed / "tmpl_dimer" / "msas" / "B" / "pdb_hits.sto") in summary["files"]["B"]

    # a changed file of the directory is a new key: the complex is merged again
    mgnify = precomputed / "tmpl_dimer" / "msas" / "B" / "mgnify_hits.sto"
    mgnify.write_text(mgnify.read_text() + "\n")
    again = run_snakemake(tmp_path, "all_features", "-n", "--configfile", str(path))
    assert job_counts(again.stdout).get("complex_features") == 1, again.stdout + again.stderr
