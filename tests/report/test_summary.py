"""The batch summary: every record listed with its status; failures with their error and log, never missing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from snakefold.common.fasta import Target
from snakefold.report.summary import (
    COLUMNS,
    BatchTarget,
    JobFailure,
    RejectedRecord,
    error_in_log,
    job_failure,
    read_summary,
    summarise_batch,
    write_summary,
)
from snakefold.report.target_report import write_target_report
from tests.report.conftest import UBIQUITIN, VILLIN
from tests.report.synthetic import write_sequence_outputs

SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def test_error_in_log_finds_the_command_error_or_the_exception(tmp_path):
    cli = tmp_path / "cli.log"
    cli.write_text("loading model\nsnakefold predict: outputs.npz: the key 'plddt' is missing;\n"
                   "  re-run the predict stage\n")
    assert error_in_log(cli) == "snakefold predict: outputs.npz: the key 'plddt' is missing; re-run the predict stage"
    traceback = tmp_path / "traceback.log"
    traceback.write_text("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
                         "    boom()\nMemoryError: cannot allocate 2 GiB\n")
    assert error_in_log(traceback) == "MemoryError: cannot allocate 2 GiB"
    quiet = tmp_path / "quiet.log"
    quiet.write_text("all fine\n")
    assert error_in_log(quiet) is None and error_in_log(tmp_path / "absent.log") is None
    assert job_failure("features", [str(quiet)], ["run.log"]).error == (
        "rule features failed; its log shows no error message; see run.log")


def test_every_record_is_listed_with_its_status(tmp_path):
    results = tmp_path / "results"
    raw = write_sequence_outputs(tmp_path / "work", VILLIN, models=("model_1_ptm_seed0",))
    write_target_report(Target("villin", "villin", "", VILLIN, "batch.fasta", 1), raw["ranking"], raw["features"],
                        results / "villin", raw["relaxed"])
    log = tmp_path / "predict.log"
    log.write_text("snakefold predict: out of memory on the GPU; lower model.max_length\n")
    targets = [BatchTarget("villin", raw["work_dir"].name, len(VILLIN)),
               BatchTarget("ubiquitin", "0" * 16, len(UBIQUITIN)),
               BatchTarget("ubiquitin_again", "0" * 16, len(UBIQUITIN)),
               BatchTarget("gb1", "1" * 16, 56)]
    failure = job_failure("predict", [str(log)])
    rows = summarise_batch(targets, [RejectedRecord("broken", "in.fasta", 4, "column 5: '1' is a digit")],
                           results, {"ubiquitin": [failure], "ubiquitin_again": [failure]})
    path = tmp_path / "summary.tsv"
    write_summary(path, rows)
    table = {row["target"]: row for row in read_summary(path)}
    assert list(read_summary(path)[0]) == list(COLUMNS)
    assert list(table) == ["villin", "ubiquitin", "ubiquitin_again", "gb1", "broken"]

    villin = table["villin"]
    ranking = json.loads((results / "villin" / "ranking.json").read_text())
    assert villin["status"] == "ok" and villin["best_model"] == "model_1_ptm_seed0"
    assert villin["mean_plddt"] == f"{ranking['models'][0]['mean_plddt']:.2f}"
    assert villin["ptm"] == f"{ranking['models'][0]['ptm']:.3f}"
    assert villin["msa_depth"] == "40" and villin["length"] == "36" and villin["relaxed"] == "yes"
    assert villin["note"] == "parameters are untrained (random); structures are meaningless"

    for name in ("ubiquitin", "ubiquitin_again"):
        assert table[name]["status"] == "failed"
        assert table[name]["error"] == "snakefold predict: out of memory on the GPU; lower model.max_length"
        assert table[name]["log"] == str(log)
    assert table["gb1"]["status"] == "incomplete" and table["gb1"]["error"] == ""
    assert table["broken"] == {**table["broken"], "status": "rejected", "log": "in.fasta:4",
                               "error": "column 5: '1' is a digit"}


def test_outputs_of_another_sequence_under_the_same_name_are_not_reported_as_ok(tmp_path):
    results = tmp_path / "results"
    raw = write_sequence_outputs(tmp_path / "work", VILLIN, models=("model_1_ptm_seed0",))
    write_target_report(Target("villin", "villin", "", VILLIN, "batch.fasta", 1), raw["ranking"], raw["features"],
                        results / "villin", raw["relaxed"])
    rows = summarise_batch([BatchTarget("villin", "f" * 16, 40)], [], results)
    assert rows[0]["status"] == "incomplete"
    earlier = JobFailure("predict", ("p.log",), "snakefold predict: boom", earlier_run=True)
    rows = summarise_batch([BatchTarget("villin", raw["work_dir"].name, 36)], [], results, {"villin": [earlier]})
    assert rows[0]["status"] == "failed"
    assert rows[0]["note"].startswith("the job failed in an earlier run and has not run since; the files in ")


FAILING_WORKFLOW = """
from snakefold.report.run_outcome import failures_by_target
from snakefold.report.summary import BatchTarget, describe, summarise_batch, write_summary

TARGETS = {"alpha": "a" * 16, "beta": "b" * 16, "beta_copy": "b" * 16, "gamma": "c" * 16}

rule all:
    input: expand("results/{target}/ranking.json", target=TARGETS)

rule msa:
    output: "cache/msa/{key}.a3m"
    log: "logs/msa/{key}.log"
    shell:
        "echo searching > {log}; if [ {wildcards.key} = key_b ]; then"
        " echo 'snakefold msa: database uniref90 is truncated; run snakefold download' >> {log}; exit 1; fi;"
        " touch {output}"

rule predict:
    input: lambda wildcards: "cache/msa/key_" + wildcards.seq[0] + ".a3m"
    output: "work/{seq}/ranking.json"
    log: "logs/predict/{seq}.log"
    shell:
        "if [ {wildcards.seq} = cccccccccccccccc ]; then"
        " python -c 'raise MemoryError(\\"no memory left\\")' 2> {log}; fi; touch {output}"

rule report_target:
    input: lambda wildcards: f"work/{TARGETS[wildcards.target]}/ranking.json"
    output: "results/{target}/ranking.json"
    log: "logs/report/{target}.log"
    shell: "echo '{{\\"seq_key\\": \\"x\\"}}' > {output}"

def summary(snakemake_logs):
    targets = [BatchTarget(name, key, 10) for name, key in TARGETS.items()]
    rows = summarise_batch(targets, [], "results", failures_by_target(workflow, snakemake_logs))
    write_summary("results/summary.tsv", rows)
    print(describe(rows, "results/summary.tsv"))

onsuccess:
    summary(log)

onerror:
    summary(log)
"""


def _run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SNAKEMAKE), "--cores", "1", *args], cwd=workdir, capture_output=True, text=True,
                          timeout=300)


def test_failed_jobs_are_attributed_to_every_target_downstream(tmp_path):
    (tmp_path / "Snakefile").write_text(textwrap.dedent(FAILING_WORKFLOW))
    result = _run(tmp_path, "--keep-going")
    assert result.returncode != 0, "a failed job must fail the run"
    rows = {row["target"]: row for row in read_summary(tmp_path / "results" / "summary.tsv")}
    assert rows["alpha"]["status"] == "incomplete", "its report wrote no valid ranking.json"
    for name in ("beta", "beta_copy"):
        assert rows[name]["status"] == "failed"
        assert rows[name]["error"] == "snakefold msa: database uniref90 is truncated; run snakefold download"
        assert rows[name]["log"] == "logs/msa/key_b.log"
    assert rows["gamma"]["status"] == "failed"
    assert rows["gamma"]["error"] == "MemoryError: no memory left"
    assert rows["gamma"]["log"] == "logs/predict/cccccccccccccccc.log"
    assert "beta failed: snakefold msa: database uniref90 is truncated" in result.stdout + result.stderr

    # A second run without --keep-going stops at the first failure: the other failed job does not run again,
    # and the summary still names its error, from the job's log of the earlier run.
    result = _run(tmp_path)
    assert result.returncode != 0
    rows = {row["target"]: row for row in read_summary(tmp_path / "results" / "summary.tsv")}
    assert {rows[name]["status"] for name in ("beta", "beta_copy", "gamma")} == {"failed"}
    earlier = [row for row in rows.values() if "earlier run" in row["note"]]
    assert len(earlier) >= 1
