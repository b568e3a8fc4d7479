"""Fixtures for the cluster tests: a real local Slurm cluster and Snakemake runs through the slurm profile.

The cluster (tests/cluster/slurm.py) is started once per session and stopped by PID at its end, also when
a test fails; tests that cannot have one (no slurm-wlm/munge, not root) are skipped with the reason.

``tiny`` (tests/cluster/pipeline.py) and ``baseline``, one uninterrupted local run of the demo-like batch on
it, are made once per session for every full-DAG test that compares with an uninterrupted run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from snakefold.common.fasta import sequence_key
from snakefold.report.summary import read_summary
from tests.cluster.pipeline import (
    COMPLEX,
    COMPLEX_MODEL_NAME,
    DEMO_BATCH,
    DEMO_BATCH_JOBS,
    MODEL_NAME,
    TARGETS,
    make_tiny_pipeline,
    pdb_atoms,
    pipeline_config,
    ranked_outputs,
    run_locally,
    write_batch,
)
from tests.cluster.slurm import CPU_PARTITION, GPU_PARTITION, LocalSlurm, SlurmUnavailable, short_temporary_directory
from tests.conftest import REPO_ROOT
from tests.data.conftest import UBIQUITIN
from tests.workflow.conftest import job_counts, run_snakemake

SLURM_PROFILE = REPO_ROOT / "workflow" / "profiles" / "slurm"


def start_cluster(fake_gpus: int = 0):
    """Start a LocalSlurm in a fresh short directory; yields it and always stops it and removes the directory."""
    root = short_temporary_directory()
    cluster = LocalSlurm(root, fake_gpus=fake_gpus)
    try:
        cluster.start()
    except SlurmUnavailable as reason:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(str(reason))
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def local_slurm():
    """A one-node Slurm cluster (partitions 'cpu' and 'gpu', no GPUs) for the whole session."""
    yield from start_cluster()


@pytest.fixture
def slurm_env(local_slurm, monkeypatch):
    """The local cluster, with SLURM_CONF exported so that snakemake and its plugin reach it.

    Jobs a test leaves behind (it failed, or killed its run) are cancelled after it.
    """
    monkeypatch.setenv("SLURM_CONF", str(local_slurm.conf))
    for variable in ("SNAKEFOLD_SLURM_PARTITION", "SNAKEFOLD_SLURM_GPU_PARTITION", "SNAKEFOLD_SLURM_ACCOUNT"):
        monkeypatch.delenv(variable, raising=False)
    yield local_slurm
    local_slurm.cancel_all_jobs()


def cluster_resources(cluster: LocalSlurm, gpus: int = 0) -> dict:
    """The config's ``resources:`` section for the local cluster: its partitions, and no job larger than
    one CPU's share of the node (so jobs run side by side, as on a real node) or than its CPU count."""
    assert cluster.hardware is not None
    return {
        "partitions": {"cpu": CPU_PARTITION, "gpu": GPU_PARTITION},
        "gpu": {"count": gpus},
        "limits": {"threads": cluster.hardware.cpus,
                   "mem_mb": cluster.hardware.real_memory_mb // cluster.hardware.cpus},
    }


def slurm_options(cluster: LocalSlurm) -> list[str]:
    """Command-line options for a run through the slurm profile on the local cluster.

    The profile's settings hold; only what makes a small cluster quick is added: status checks from 2 s
    on (the plugin's default first waits 40 s), and --cores, which caps a job's threads and the CPUs of
    a group job at what the node has.
    """
    assert cluster.hardware is not None
    return ["--profile", str(SLURM_PROFILE), "--slurm-init-seconds-before-status-checks", "2",
            "--cores", str(cluster.hardware.cpus), "--latency-wait", "5"]


def run_on_slurm(cluster: LocalSlurm, workdir: Path, *args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run the repository's Snakefile in ``workdir`` through the slurm profile on ``cluster``."""
    return run_snakemake(workdir, *slurm_options(cluster), *args, timeout=timeout)


def slurm_run_id(output: str) -> str:
    """The SLURM run ID the plugin printed; it is the Slurm job name of every job of that run."""
    for line in output.splitlines():
        if line.startswith("SLURM run ID: "):
            return line.removeprefix("SLURM run ID: ").strip()
    raise AssertionError(f"snakemake did not print a SLURM run ID:\n{output}")


def jobs_of_run(cluster: LocalSlurm, run_id: str) -> list[dict[str, str]]:
    return [job for job in cluster.jobs() if job["name"] == run_id]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The tiny databases, parameters and compilation cache that every full-DAG test of the session shares."""
    return make_tiny_pipeline(tmp_path_factory.mktemp("tiny_pipeline"))


@pytest.fixture(scope="session")
def baseline(tiny, tmp_path_factory) -> Path:
    """The working directory of one uninterrupted local run of the demo-like batch."""
    workdir = tmp_path_factory.mktemp("baseline")
    result = run_locally(workdir, pipeline_config(tiny, [write_batch(workdir, DEMO_BATCH)]))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout + result.stderr)
    assert {rule: counts.get(rule) for rule in DEMO_BATCH_JOBS} == DEMO_BATCH_JOBS, counts
    # A reference worth comparing with: real MSAs, and ranked models that are the relaxed predictions.
    rows = {row["target"]: row for row in read_summary(workdir / "results" / "summary.tsv")}
    assert list(rows) == TARGETS
    assert {(row["status"], row["best_model"], row["relaxed"]) for row in rows.values()} == {
        ("ok", MODEL_NAME, "yes"), ("ok", COMPLEX_MODEL_NAME, "yes")}
    assert rows[COMPLEX]["best_model"] == COMPLEX_MODEL_NAME and rows[COMPLEX]["iptm"]
    assert min(int(row["msa_depth"]) for row in rows.values()) > 5
    ranked = ranked_outputs(workdir / "results", "ubiquitin")["structures"]["ranked_0.pdb"]
    unrelaxed = pdb_atoms(workdir / "results" / "_work" / sequence_key(UBIQUITIN) / "predictions" / MODEL_NAME
                          / "unrelaxed.pdb")
    # Relaxation kept every predicted atom (and added the C-terminal OXT), and moved them.
    relaxed = {name: coordinates for name, coordinates, _ in ranked}
    assert set(relaxed) - {name for name, _, _ in unrelaxed} == {" OXT GLY A  76 "}
    assert [relaxed[name] for name, _, _ in unrelaxed] != [coordinates for _, coordinates, _ in unrelaxed]
    return workdir
