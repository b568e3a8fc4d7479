"""Kill a Snakemake run the moment a given rule starts, and read Snakemake's own records afterwards.

For the resume tests: start snakemake in its own session (:func:`start_snakemake`), wait until a job of
the rule of interest has started (:func:`wait_for_started_output`: Snakemake writes an "incomplete"
marker under ``.snakemake/incomplete/`` for each output of a job when the job starts, or is submitted to
Slurm, and removes it when the job has finished), then ``kill -9`` snakemake together with its local jobs
(the whole process group) and, on a cluster, its Slurm jobs (:func:`kill_run`). :func:`job_records` reads
``.snakemake/metadata/`` (start and end time, rule, of the job that last made each output) so that a
resumed run can be shown not to have recomputed what had finished.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from tests.cluster.slurm import LocalSlurm
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import SNAKEMAKE


def start_snakemake(workdir: Path, *args: str, snakefile: Path = REPO_ROOT / "Snakefile",
                    env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start snakemake in ``workdir`` as the leader of a new process group; output goes to run.log there."""
    environment = dict(env if env is not None else os.environ)
    environment["PATH"] = f"{SNAKEMAKE.parent}{os.pathsep}{environment['PATH']}"
    log = open(workdir / "run.log", "ab")
    try:
        return subprocess.Popen([str(SNAKEMAKE), "--snakefile", str(snakefile), "--directory", str(workdir), *args],
                                cwd=workdir, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()


def _decode_record_name(path: Path, root: Path) -> str:
    # Snakemake stores a record under the urlsafe base64 of the output path, cut into directory levels
    # (each but the last prefixed with '@') when it is longer than a file name may be.
    parts = [part.removeprefix("@") for part in path.relative_to(root).parts]
    return base64.urlsafe_b64decode("".join(parts)).decode()


def _records(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        return {}
    return {_decode_record_name(path, directory): path for path in directory.rglob("*")
            if path.is_file() and path.name != "migration_underway"}


def started_outputs(workdir: Path) -> list[str]:
    """Outputs of the jobs that have started and not finished, as Snakemake records them."""
    return sorted(_records(workdir / ".snakemake" / "incomplete"))


def job_records(workdir: Path) -> dict[str, dict]:
    """output path -> Snakemake's metadata record of the job that made it (rule, starttime, endtime, ...)."""
    return {name: json.loads(path.read_text()) for name, path in _records(workdir / ".snakemake" / "metadata").items()}


def finished_records(workdir: Path, since: float = 0.0) -> dict[str, dict]:
    """The records of outputs whose job ended at ``since`` or later and that Snakemake counts as finished.

    Snakemake writes the record of each of a job's outputs, then removes their incomplete markers: a kill
    between the two leaves records of a job that is still incomplete, and that a resumed run makes again. A job
    is finished once none of its outputs (the records with its ``job_hash``) is marked incomplete.
    """
    records = {name: record for name, record in job_records(workdir).items() if record["endtime"] >= since}
    marked = set(started_outputs(workdir))
    unfinished_jobs = {records[name]["job_hash"] for name in marked if name in records}
    return {name: record for name, record in records.items()
            if name not in marked and record["job_hash"] not in unfinished_jobs}


def wait_for_started_output(process: subprocess.Popen, workdir: Path, pattern: str, timeout: float = 600) -> str:
    """Wait until a job with an output matching the regular expression ``pattern`` has started.

    Returns that output; fails if snakemake exits first or ``timeout`` seconds pass.
    """
    expression = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for output in started_outputs(workdir):
            if expression.search(output):
                return output
        if process.poll() is not None:
            raise AssertionError(f"snakemake exited ({process.returncode}) before a job making {pattern!r} started; "
                                 f"see {workdir / 'run.log'}")
        time.sleep(0.2)
    raise AssertionError(f"no job making {pattern!r} started within {timeout:.0f} s; see {workdir / 'run.log'}")


def kill_run(process: subprocess.Popen, cluster: LocalSlurm | None = None) -> None:
    """``kill -9`` snakemake and every local job it started; on ``cluster``, kill its Slurm jobs too."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    if cluster is None:
        return
    # Running jobs get SIGKILL in every step and the batch script; pending ones are removed. Repeated,
    # since a job may start between the two commands; until every job is in its final state (a COMPLETING
    # job ends as COMPLETED or CANCELLED).
    deadline = time.monotonic() + 30
    while any(job["state"] in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING") for job in cluster.jobs()):
        if time.monotonic() > deadline:
            raise AssertionError(f"Slurm jobs still active 30 s after scancel: {cluster.jobs()}")
        cluster.run("scancel", "--signal=KILL", "--full", "--state=RUNNING", check=False)
        cluster.run("scancel", "--state=PENDING", check=False)
        time.sleep(0.5)


def unchanged_records(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """Outputs recorded in ``before`` whose job was not run again by the time of ``after``."""
    return sorted(name for name, record in before.items()
                  if name in after and (after[name]["starttime"], after[name]["endtime"])
                  == (record["starttime"], record["endtime"]))
