"""Damaged files, every kind in turn, each way a disk or a hand can damage them: the next run repairs them.

A copy of the uninterrupted run of the demo-like batch (the ``baseline`` of tests/cluster/conftest.py) is
damaged, then run again with the README's command. Damaged are, at once, each kind of file one job writes
for another, for protein G's sequence (the batch file of target records, its query FASTA, MSA and features
cache entries, the model run's outputs.npz, unrelaxed.pdb and scores.json, the relaxed model and its metrics),
and every result file of the target ``ubiquitin_again`` (whose inputs are sound) and the batch summary.
Damage is one of: cut to half its length, one bit flipped in its middle, deleted.

The run must name every truncated or bit-flipped file before any job runs (and remove it), and end with
every target's SHA256SUMS (timings aside) equal to the uninterrupted run's, ``snakefold verify`` content, and
no temporary file left. As with Snakemake's temporary files, a removed intermediate file is computed again
when a job that needs it runs, not for its own sake: protein G's target keeps its sound results, so one of
them (plddt.png) is deleted too, and its report then needs, and gets, every removed file of its sequence
again. Exactly that runs: protein G's chain of jobs, its report and ubiquitin_again's; ubiquitin's results
stay as they are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from snakefold.common.fasta import sequence_key
from tests.cluster.pipeline import MODEL_NAME, PROTEIN_G, TARGETS, checksums_but_timings, leftovers, local_command
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import job_counts, run_snakemake

pytestmark = pytest.mark.slow

SNAKEFOLD = REPO_ROOT / ".venv" / "bin" / "snakefold"
#: The target whose results are damaged; its inputs are sound, so only its report runs again.
RESULTS_TARGET = "ubiquitin_again"


def copy_run(source: Path, destination: Path) -> Path:
    """A copy of a finished run's working directory (results, cache, Snakemake's records), times kept."""
    shutil.copytree(source, destination, symlinks=True)
    return destination


def cache_entry(workdir: Path, kind: str, sequence: str) -> Path:
    """The cache entry of ``kind`` ('msa/uniref90', 'features') computed for ``sequence``."""
    [entry] = [manifest.with_name(manifest.name.removesuffix(".manifest.json"))
               for manifest in (workdir / "cache" / kind).glob("*.manifest.json")
               if json.loads(manifest.read_text())["parts"]["sequence"] == sequence]
    return entry


def intermediate_files(workdir: Path) -> list[Path]:
    """Each kind of file one job writes for another, of protein G's sequence."""
    seq = sequence_key(PROTEIN_G)
    work = workdir / "results" / "_work"
    prediction = work / seq / "predictions" / MODEL_NAME
    return [work / "batch.json", workdir / "cache" / "queries" / f"{seq}.fasta",
            cache_entry(workdir, "msa/uniref90", PROTEIN_G), cache_entry(workdir, "features", PROTEIN_G),
            prediction / "outputs.npz", prediction / "unrelaxed.pdb", prediction / "scores.json",
            work / seq / "relaxed" / "rank_0.pdb", work / seq / "relaxed" / "rank_0.json"]


def result_files(workdir: Path) -> list[Path]:
    files = sorted((workdir / "results" / RESULTS_TARGET).iterdir())
    assert {path.name for path in files} >= {"SHA256SUMS", "ranking.json", "ranked_0.pdb", "ranked_0.cif",
                                             "timings.json", f"confidence_{MODEL_NAME}.json", "plddt.png"}
    return files + [workdir / "results" / "summary.tsv", workdir / "results" / "summary.html"]


def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "flip", "delete"])
def test_every_kind_of_damaged_file_is_named_and_computed_again(tiny, baseline, tmp_path, how):
    workdir = copy_run(baseline, tmp_path / "run")
    untouched_sums = (workdir / "results" / "ubiquitin" / "SHA256SUMS").stat().st_mtime_ns
    damaged = intermediate_files(workdir) + result_files(workdir)
    for path in damaged:
        damage(path, how)
    (workdir / "results" / "protein_G_B1" / "plddt.png").unlink()

    result = run_snakemake(workdir, *local_command(workdir / "config.yaml"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    if how != "delete":
        # Named before any job ran (the batch summary is written again after every run, so it needs no notice).
        named = [path for path in damaged if path.name not in ("summary.tsv", "summary.html")]
        unnamed = [str(path.relative_to(workdir)) for path in named if str(path.relative_to(workdir)) not in output]
        assert unnamed == [], output
    counts = job_counts(output)
    assert {rule: counts.get(rule, 0) for rule in ("msa_uniref90", "features", "predict", "relax",
                                                  "report_target")} == {
        "msa_uniref90": 1, "features": 1, "predict": 1, "relax": 1, "report_target": 2}, output
    assert (workdir / "results" / "ubiquitin" / "SHA256SUMS").stat().st_mtime_ns == untouched_sums

    for target in TARGETS:
        assert checksums_but_timings(workdir, target) == checksums_but_timings(baseline, target), target
    for name in ("summary.tsv", "summary.html"):
        assert (workdir / "results" / name).read_bytes() == (baseline / "results" / name).read_bytes(), name
    verify = subprocess.run([str(SNAKEFOLD), "verify", "results"], cwd=workdir, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert leftovers(workdir) == []
