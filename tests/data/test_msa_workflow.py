"""The MSA and features stages in real snakemake runs on databases built by `snakefold build-db`: the
content-keyed cache across batches, changed sequences, damaged entries, every msa.mode, and the
problems reported before any job runs. Each run asks for the target all_features: the stages after it
(prediction needs model parameters) are not part of these tests."""

from __future__ import annotations

import json
import shutil

import pytest

from snakefold.features.raw import check_raw_features, load_features
from snakefold.msa.formats import read_msa
from snakefold.plan.cache import manifest_path
from tests.data.conftest import PROTEIN_G, UBIQUITIN
from tests.workflow.conftest import job_counts, run_snakemake, write_config

pytestmark = pytest.mark.slow


def full_dbs_config(tiny, inputs, results="results", **msa):
    """AlphaFold2's full_dbs searches with every database pointed at the tiny ones (UniRef30 = BFD's)."""
    return {
        "inputs": inputs, "results_dir": results, "cache_dir": "cache", "templates": {"enabled": False},
        "msa": {"max_hits": {"mgnify": 5}, **msa},
        "databases": {"preset": "full_dbs", "uniref90": str(tiny.fasta), "mgnify": str(tiny.fasta),
                      "bfd": str(tiny.hhsuite), "uniref30": str(tiny.hhsuite)},
    }


def run(workdir, config, *arguments):
    path = write_config(workdir, config)
    result = run_snakemake(workdir, "all_features", "--cores", "2", "--configfile", str(path), *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def feature_file(workdir, sequence):
    [path] = [path for path in (workdir / "cache" / "features").glob("*.npz")
              if path.name.split(".")[0] == feature_keys(workdir)[sequence]]
    return path


def feature_keys(workdir):
    """sequence -> features key, from the sealed manifests."""
    keys = {}
    for manifest in (workdir / "cache" / "features").glob("*.manifest.json"):
        recorded = json.loads(manifest.read_text())
        keys[recorded["parts"]["sequence"]] = recorded["key"]
    return keys


def features_of(workdir, sequence):
    return load_features(feature_file(workdir, sequence))


def msa_entries(workdir, search):
    return sorted((workdir / "cache" / "msa" / search).glob("*.*[!n]"))


def test_batches_share_the_cache_and_damaged_entries_are_redone(tiny_databases, tmp_path):
    (tmp_path / "first.fasta").write_text(f">ubiquitin\n{UBIQUITIN}\n>protein_g\n{PROTEIN_G}\n")
    first = full_dbs_config(tiny_databases, ["first.fasta"])
    dry = run_snakemake(tmp_path, "all_features", "-n", "--configfile", str(write_config(tmp_path, first)))
    assert job_counts(dry.stdout) == {"query_fasta": 2, "msa_uniref90": 2, "msa_bfd_uniref30": 2,
                                      "msa_mgnify": 2, "features": 2, "all_features": 1, "total": 11}
    run(tmp_path, first)

    features = features_of(tmp_path, UBIQUITIN)
    check_raw_features(features)
    family = tiny_databases.families["ubiquitin"]
    assert features["msa"].shape[0] >= len(family.homologs)  # the query and the family, merged, repeats dropped
    species = {code.decode() for code in features["msa_species_identifiers"]}
    assert {"HUMAN", "MOUSE", "YEAST"} <= species  # from jackhmmer's names and hhblits' headers
    mgnify = [path for path in msa_entries(tmp_path, "mgnify") if read_msa(path).query == UBIQUITIN]
    assert len(read_msa(mgnify[0])) == 5  # msa.max_hits.mgnify
    manifest = json.loads(manifest_path(mgnify[0]).read_text())
    assert manifest["parts"]["tool"] == "jackhmmer" and manifest["parts"]["tool_version"].startswith("3.")
    assert manifest["parts"]["options"]["flags"]["E"] == 0.0001

    # A second batch: the same ubiquitin under a new name, protein G changed under its old ID.
    changed_g = PROTEIN_G.replace("KTLKGE", "KTLRGE")
    (tmp_path / "second.fasta").write_text(f">ubiquitin_again\n{UBIQUITIN}\n>protein_g\n{changed_g}\n")
    second = full_dbs_config(tiny_databases, ["second.fasta"], results="results2")
    dry = run_snakemake(tmp_path, "all_features", "-n", "--configfile", str(write_config(tmp_path, second)))
    counts = job_counts(dry.stdout)
    assert (counts["msa_uniref90"], counts["msa_bfd_uniref30"], counts["msa_mgnify"], counts["features"]) == (1,) * 4
    run(tmp_path, second)
    assert features_of(tmp_path, changed_g)["sequence"][0].decode() == changed_g

    # Damage: ubiquitin's UniRef90 MSA cut short and its features' manifest lost (a job interrupted between
    # writing the content and sealing it); protein G's features changed on disk. The MSA and both feature
    # files are redone; the other searches are not.
    uniref90 = [path for path in msa_entries(tmp_path, "uniref90") if read_msa(path).query == UBIQUITIN][0]
    complete = uniref90.read_bytes()
    uniref90.write_bytes(complete[: len(complete) // 2])
    manifest_path(feature_file(tmp_path, UBIQUITIN)).unlink()
    damaged = feature_file(tmp_path, PROTEIN_G)
    damaged.write_bytes(damaged.read_bytes()[:-10] + bytes(10))
    result = run(tmp_path, first)
    counts = job_counts(result.stdout + result.stderr)
    assert (counts["msa_uniref90"], counts["features"]) == (1, 2)
    assert "msa_mgnify" not in counts and "msa_bfd_uniref30" not in counts
    assert result.stderr.count("was removed") == 3 and result.stderr.count("it is computed again") == 3
    assert uniref90.read_bytes() == complete
    run_again = run_snakemake(tmp_path, "all_features", "-n", "--configfile", str(write_config(tmp_path, first)))
    assert "Nothing to be done" in run_again.stdout + run_again.stderr


def test_mmseqs2_on_a_built_database(tiny_databases, tmp_path):
    (tmp_path / "in.fasta").write_text(f">ubiquitin\n{UBIQUITIN}\n")
    config = {"inputs": ["in.fasta"], "templates": {"enabled": False},
              "msa": {"mode": "mmseqs2"},
              "databases": {"preset": "custom", "custom": [
                  {"name": "tiny_fasta", "tool": "jackhmmer", "databases": [str(tiny_databases.fasta)]},
                  {"name": "tiny_mmseqs", "tool": "mmseqs2", "databases": [str(tiny_databases.mmseqs)]}]}}
    result = run(tmp_path, config)
    counts = job_counts(result.stdout + result.stderr)
    assert counts["msa_tiny_mmseqs"] == 1
    assert "msa_tiny_fasta" not in counts  # mode mmseqs2 runs only the preset's mmseqs2 searches
    features = features_of(tmp_path, UBIQUITIN)
    assert features["msa"].shape[0] > len(tiny_databases.families["ubiquitin"].homologs)


def test_precomputed_and_single_sequence_modes(shared_data, tmp_path):
    a3m = shared_data / "msas/openfold/4zey_A/bfd_uniclust_hits.a3m"
    query = read_msa(a3m).query
    (tmp_path / "in.fasta").write_text(f">nrbf2\n{query}\n")
    msas = tmp_path / "msas"
    msas.mkdir()
    shutil.copy(a3m, msas / "nrbf2.a3m")
    config = {"inputs": ["in.fasta"], "templates": {"enabled": False},
              "msa": {"mode": "precomputed", "precomputed_dir": "msas"}}
    result = run(tmp_path, config)
    assert "msa_" not in result.stdout
    features = features_of(tmp_path, query)
    rows = len(dict.fromkeys(read_msa(a3m).sequences))
    assert features["msa"].shape == (rows, len(query)) and features["num_alignments"][0] == rows

    (tmp_path / "in.fasta").write_text(f">nrbf2\n{query[:-1]}W\n")
    result = run_snakemake(tmp_path, "all_features", "-n", "--configfile", str(write_config(tmp_path, config)))
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert "target 'nrbf2': the first row of msas/nrbf2.a3m is not the target's sequence" in output

    config["msa"] = {"mode": "single_sequence"}
    run(tmp_path, config)
    single = features_of(tmp_path, query[:-1] + "W")
    assert single["msa"].shape == (1, len(query)) and single["deletion_matrix_int"].sum() == 0


def test_missing_truncated_and_unsearchable_databases_stop_before_any_job(tiny_databases, tmp_path):
    (tmp_path / "in.fasta").write_text(f">ubiquitin\n{UBIQUITIN}\n")
    damaged = tmp_path / "damaged"
    for file in tiny_databases.hhsuite.parent.glob("tiny_*.ff*"):
        shutil.copy(file, tmp_path / file.name.replace("tiny", "damaged"))
    data = tmp_path / "damaged_hhm.ffdata"
    data.write_bytes(data.read_bytes()[:100])
    config = full_dbs_config(tiny_databases, ["in.fasta"])
    config["databases"].update(bfd=str(tmp_path / "nowhere" / "bfd"), uniref30=str(damaged))
    result = run_snakemake(tmp_path, "all_features", "-n", "--configfile", str(write_config(tmp_path, config)))
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output and "Job stats" not in output
    assert "config key 'databases.bfd' (search 'bfd_uniref30', hhblits): database 'bfd'" in output
    assert "does not exist" in output
    assert "config key 'databases.uniref30'" in output and "damaged_hhm.ffdata" in output and "truncated" in output

    config = full_dbs_config(tiny_databases, ["in.fasta"], mode="mmseqs2")
    result = run_snakemake(tmp_path, "all_features", "-n", "--configfile", str(write_config(tmp_path, config)))
    assert result.returncode != 0
    assert "config key 'msa.mode' is 'mmseqs2', but databases.preset 'full_dbs' has no search with that tool" in (
        result.stdout + result.stderr)
