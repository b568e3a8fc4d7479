"""Config validation and intake as a user meets them: real snakemake runs, messages without tracebacks."""

from __future__ import annotations

import csv

import pytest

from tests.predict.params import write_small_params
from tests.workflow.conftest import NO_DATABASES, job_counts, run_snakemake, write_config

GB1 = "MTYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE"
VILLIN = "MLSDEDFKAVFGMTRSAFANLPLWKQQNLKKEKGLF"


def assert_clean_failure(result, *fragments):
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in output, output
    assert "Job stats" not in output and "rule " not in result.stdout, "a job was scheduled"


@pytest.mark.parametrize("config_update, fragments", [
    ({"on_invlid": "skip"}, ["config key 'on_invlid' is not a known setting (did you mean 'on_invalid'?)"]),
    ({"min_length": "ten"}, ["config key 'min_length' must be of type integer, but it is a string ('ten')"]),
    ({"on_invalid": "stop"}, ["config key 'on_invalid' must be one of 'fail', 'skip', not 'stop'"]),
    ({"inputs": []}, ["config key 'inputs'"]),
])
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, config_update, fragments):
    (tmp_path / "in.fasta").write_text(f">gb1\n{GB1}\n")
    config = write_config(tmp_path, {**NO_DATABASES, "inputs": ["in.fasta"], **config_update})
    result = run_snakemake(tmp_path, "-n", "--configfile", str(config))
    assert_clean_failure(result, *fragments)


def test_missing_required_key(tmp_path):
    config = write_config(tmp_path, {**NO_DATABASES, "results_dir": "out"})
    assert_clean_failure(run_snakemake(tmp_path, "-n", "--configfile", str(config)),
                         "config key 'inputs' is required but missing")


def test_invalid_record_stops_everything_by_default(tmp_path):
    (tmp_path / "in.fasta").write_text(f">gb1\n{GB1}\n>broken\nACDE1FGHIKLMN\n")
    config = write_config(tmp_path, {**NO_DATABASES, "inputs": ["in.fasta"]})
    result = run_snakemake(tmp_path, "--cores", "1", "--configfile", str(config))
    assert_clean_failure(result, "in.fasta:4: record 'broken': column 5: '1' is a digit",
                         "Nothing was run")
    assert not (tmp_path / "results").exists()


def test_skip_runs_valid_targets_and_lists_rejected(tmp_path):
    (tmp_path / "in.fasta").write_text(f">gb1\n{GB1}\n>broken\nACDE1FGHIKLMN\n>villin\n{VILLIN}\n")
    config = write_config(tmp_path, {**NO_DATABASES, "inputs": ["in.fasta"], "on_invalid": "skip"})
    result = run_snakemake(tmp_path, "intake", "--cores", "1", "--configfile", str(config))
    assert result.returncode == 0, result.stderr
    assert "in.fasta:4: record 'broken'" in result.stderr
    with open(tmp_path / "results" / "rejected.tsv") as handle:
        rejected = list(csv.DictReader(handle, delimiter="\t"))
    assert rejected == [{"target": "broken", "file": "in.fasta", "line": "4",
                         "reason": "column 5: '1' is a digit; sequences hold amino-acid letters only "
                                   "(remove numbering)"}]
    with open(tmp_path / "results" / "targets.tsv") as handle:
        targets = [row["target"] for row in csv.DictReader(handle, delimiter="\t")]
    assert targets == ["gb1", "villin"]


def test_dry_run_lists_every_job(tmp_path):
    (tmp_path / "in.fasta").write_text(f">gb1\n{GB1}\n>gb1_copy\n{GB1}\n>villin\n{VILLIN}\n")
    params = write_small_params(tmp_path / "params", ["model_3"])
    config = write_config(tmp_path, {**NO_DATABASES, "inputs": ["in.fasta"],
                                     "model": {"presets": ["model_3"], "params_dir": str(params)}})
    result = run_snakemake(tmp_path, "-n", "--configfile", str(config))
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts["intake"] == 1
    assert (counts["predict"], counts["relax"], counts["report_target"]) == (2, 2, 3)
