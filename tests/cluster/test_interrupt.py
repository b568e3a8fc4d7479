"""The kill-and-resume helpers on a local run (the same on Slurm: test_local_slurm.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.cluster.interrupt import (
    job_records,
    kill_run,
    start_snakemake,
    started_outputs,
    unchanged_records,
    wait_for_started_output,
)
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import run_snakemake

PROBE = Path(__file__).with_name("resources_probe.smk")
LOCAL_PROFILE = REPO_ROOT / "workflow" / "profiles" / "local"


def processes_mentioning(text: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if text in line and "ps -eo" not in line]


def test_kill_at_a_rule_then_resume_reruns_only_unfinished_jobs(tmp_path):
    config = tmp_path / "probe.yaml"
    config.write_text(yaml.safe_dump({
        "sequences": {"a": "M" * 30, "b": "M" * 40}, "relax_seconds": 60,
        "resources": {"stages": {"predict": {"threads": 1}, "relax": {"threads": 1}}}}))
    command = ["--snakefile", str(PROBE), "--profile", str(LOCAL_PROFILE), "--cores", "2",
               "--configfile", str(config)]

    run = start_snakemake(tmp_path, "--profile", str(LOCAL_PROFILE), "--cores", "2", "--configfile", str(config),
                          snakefile=PROBE)
    started = wait_for_started_output(run, tmp_path, r"^probe/relax/")
    kill_run(run)
    # kill -9 took the running job down with snakemake: nothing of this run is left.
    assert processes_mentioning(str(tmp_path)) == []
    assert started in started_outputs(tmp_path)
    before = job_records(tmp_path)
    predicted = sorted(name for name in before if name.startswith("probe/predict/"))
    assert predicted and not (tmp_path / started).exists()

    assert run_snakemake(tmp_path, *command, "--unlock").returncode == 0
    resumed = run_snakemake(tmp_path, *command, "--config", "relax_seconds=0")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    after = job_records(tmp_path)
    assert unchanged_records(before, after) == predicted
    assert sorted(name for name in after if name.startswith("probe/relax/")) == ["probe/relax/a.json",
                                                                                "probe/relax/b.json"]
    assert started_outputs(tmp_path) == []
