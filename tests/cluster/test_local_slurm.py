"""The workflow on a real Slurm cluster (slurmctld + slurmd + munged on localhost) through the slurm profile."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
import yaml

from tests.cluster.conftest import (
    cluster_resources,
    jobs_of_run,
    run_on_slurm,
    slurm_options,
    slurm_run_id,
    start_cluster,
)
from tests.cluster.interrupt import (
    job_records,
    kill_run,
    start_snakemake,
    started_outputs,
    unchanged_records,
    wait_for_started_output,
)
from tests.cluster.slurm import CPU_PARTITION, GPU_PARTITION
from tests.workflow.conftest import run_snakemake, write_config

pytestmark = pytest.mark.slurm

PROBE = Path(__file__).with_name("resources_probe.smk")
VILLIN = "MLSDEDFKAVFGMTRSAFANLPLWKQQNLKKEKGLF"
GB1 = "MTYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE"
UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


def wait_until_finished(cluster, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = next(job for job in cluster.jobs() if job["id"] == job_id)
        if job["state"] not in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"Slurm job {job_id} did not finish within {timeout} s: {cluster.jobs()}")


@pytest.mark.parametrize("partition", [CPU_PARTITION, GPU_PARTITION])
def test_batch_job_runs_in_each_partition(local_slurm, tmp_path, partition):
    output = tmp_path / "job.out"
    submitted = local_slurm.run("sbatch", "--parsable", f"--partition={partition}", "--mem=50", "--time=1",
                                f"--output={output}", "--wrap=echo partition=$SLURM_JOB_PARTITION")
    job = wait_until_finished(local_slurm, submitted.stdout.strip())
    assert job["state"] == "COMPLETED", local_slurm.log_tail()
    assert output.read_text() == f"partition={partition}\n"


#: A batch that needs no database, and the intake stage's outputs.
NO_DATABASES = {"msa": {"mode": "single_sequence"}, "templates": {"enabled": False}}
INTAKE_OUTPUTS = ("results/targets.tsv", "results/rejected.tsv")


@pytest.mark.slow
def test_intake_through_the_slurm_profile_matches_a_local_run(slurm_env, tmp_path, monkeypatch):
    local, cluster = tmp_path / "local", tmp_path / "slurm"
    for workdir in (local, cluster):
        workdir.mkdir()
        (workdir / "in.fasta").write_text(f">villin\n{VILLIN}\n>gb1\n{GB1}\n>ubiquitin\n{UBIQUITIN}\n")
    local_config = write_config(local, {"inputs": ["in.fasta"], **NO_DATABASES})
    # No partition in the config: the job's comes from the environment (and is not the cluster's default).
    monkeypatch.setenv("SNAKEFOLD_SLURM_PARTITION", GPU_PARTITION)
    resources = {key: value for key, value in cluster_resources(slurm_env).items() if key != "partitions"}
    cluster_config = write_config(cluster, {"inputs": ["in.fasta"], **NO_DATABASES, "resources": resources})

    local_run = run_snakemake(local, *INTAKE_OUTPUTS, "--cores", "1", "--configfile", str(local_config))
    assert local_run.returncode == 0, local_run.stderr
    slurm_run = run_on_slurm(slurm_env, cluster, *INTAKE_OUTPUTS, "--configfile", str(cluster_config))
    assert slurm_run.returncode == 0, slurm_run.stdout + slurm_run.stderr

    for name in ("targets.tsv", "rejected.tsv"):
        assert (cluster / "results" / name).read_text() == (local / "results" / name).read_text()
    with open(cluster / "results" / "targets.tsv") as handle:
        assert [row["target"] for row in csv.DictReader(handle, delimiter="\t")] == ["villin", "gb1", "ubiquitin"]

    # The job ran as a Slurm job of this run, in the partition $SNAKEFOLD_SLURM_PARTITION names.
    log = slurm_run.stdout + slurm_run.stderr
    jobs = jobs_of_run(slurm_env, slurm_run_id(log))
    assert [(job["comment"], job["state"], job["partition"]) for job in jobs] == [
        ("rule_intake", "COMPLETED", GPU_PARTITION)]
    assert f"has been submitted with SLURM jobid {jobs[0]['id']}" in log


def probe_config(workdir: Path, sequences: dict[str, str], resources: dict, relax_seconds: float = 0,
                 relax_fails_once: bool = False) -> Path:
    """The probe workflow's config; its jobs take one CPU each, so that two run at once on two cores."""
    resources = {**resources, "stages": {"predict": {"threads": 1}, "relax": {"threads": 1}}}
    path = workdir / "probe.yaml"
    path.write_text(yaml.safe_dump({"sequences": sequences, "resources": resources, "relax_seconds": relax_seconds,
                                    "relax_fails_once": relax_fails_once}))
    return path


def minutes(time_limit: str) -> int:
    """squeue's [[D-]HH:]MM:SS as whole minutes."""
    days, _, clock = time_limit.rpartition("-")
    hours, mins, _ = (["0"] + clock.split(":"))[-3:]
    return (int(days or 0) * 24 + int(hours)) * 60 + int(mins)


def probe_results(workdir: Path, stage: str) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in (workdir / "probe" / stage).glob("*.json")}


@pytest.fixture(scope="module")
def gpu_slurm():
    """A second local cluster whose node declares one GPU (a generic resource with no device behind it)."""
    yield from start_cluster(fake_gpus=1)


@pytest.mark.slow
def test_gpu_request_grouping_and_retries_with_more_resources(gpu_slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", str(gpu_slurm.conf))
    sequences = {"villin": VILLIN, "gb1": GB1, "ubiquitin": UBIQUITIN, "long": "ACDEFGHIKLMNPQRSTVWY" * 25}
    resources = {**cluster_resources(gpu_slurm, gpus=1), "group_small_predictions": {"max_length": 400}}
    config = probe_config(tmp_path, sequences, resources, relax_fails_once=True)

    result = run_snakemake(tmp_path, "--snakefile", str(PROBE), *slurm_options(gpu_slurm), "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    predictions = probe_results(tmp_path, "predict")
    assert sorted(predictions) == sorted(sequences)

    # Every prediction ran on the GPU partition with a GPU that Slurm allocated to it.
    assert {record["partition"] for record in predictions.values()} == {GPU_PARTITION}
    assert all(record["cuda_visible_devices"] == "0" for record in predictions.values())
    # The three small ones (<= group_small_predictions.max_length) shared one Slurm job and used its GPU
    # in turn; the 500-residue one had its own job, with more wall time.
    small = [predictions[name] for name in ("villin", "gb1", "ubiquitin")]
    assert len({record["slurm_job_id"] for record in small}) == 1
    assert predictions["long"]["slurm_job_id"] != small[0]["slurm_job_id"]
    turns = sorted((record["started"], record["finished"]) for record in small)
    assert all(later[0] >= earlier[1] for earlier, later in zip(turns, turns[1:]))
    assert predictions["long"]["runtime"] > max(record["runtime"] for record in small)

    jobs = {job["id"]: job for job in jobs_of_run(gpu_slurm, slurm_run_id(result.stdout + result.stderr))}
    group_job, long_job = jobs[small[0]["slurm_job_id"]], jobs[predictions["long"]["slurm_job_id"]]
    assert group_job["comment"].startswith("rule_predict_small")
    assert group_job["tres_per_job"] == long_job["tres_per_job"] == "gres:gpu:1"
    # A group job's wall time is the sum of its members' (they run one after another).
    assert minutes(group_job["time_limit"]) == sum(record["runtime"] for record in small)

    # Relaxation is a CPU stage: CPU partition, no GPU request. Each first attempt failed; the profile's
    # retries resubmitted it, and the second Slurm job asked for more memory and time.
    relaxed = probe_results(tmp_path, "relax")
    assert sorted(relaxed) == sorted(sequences)
    for name, record in relaxed.items():
        attempts = [job for job in jobs.values() if job["comment"] == f"rule_relax_wildcards_{name}"]
        assert [job["state"] for job in attempts] == ["FAILED", "COMPLETED"], attempts
        first, second = attempts
        assert second["id"] == record["slurm_job_id"] and record["partition"] == CPU_PARTITION
        assert second["tres_per_job"] in ("", "N/A")
        assert int(second["memory"].removesuffix("M")) == record["mem_mb"] > int(first["memory"].removesuffix("M"))
        assert minutes(second["time_limit"]) == record["runtime"] > minutes(first["time_limit"])


@pytest.mark.slow
def test_resume_after_kill_reruns_only_the_interrupted_jobs(slurm_env, tmp_path):
    """The README's recovery: after kill -9 of snakemake and its Slurm jobs, --unlock, then run again."""
    sequences = {"villin": VILLIN, "gb1": GB1}
    config = probe_config(tmp_path, sequences, cluster_resources(slurm_env), relax_seconds=10)
    command = ["--snakefile", str(PROBE), *slurm_options(slurm_env), "--configfile", str(config)]

    run = start_snakemake(tmp_path, *slurm_options(slurm_env), "--configfile", str(config), snakefile=PROBE,
                          env=slurm_env.env)
    wait_for_started_output(run, tmp_path, r"^probe/relax/")
    kill_run(run, slurm_env)
    before = job_records(tmp_path)
    predicted = {name: (tmp_path / name).stat().st_mtime_ns for name in before if name.startswith("probe/predict/")}
    assert sorted(predicted) == [f"probe/predict/{name}.json" for name in sorted(sequences)]
    assert not any(name.startswith("probe/relax/") for name in before)
    assert any(name.startswith("probe/relax/") for name in started_outputs(tmp_path))

    locked = run_snakemake(tmp_path, *command)
    assert locked.returncode != 0 and "Directory cannot be locked" in locked.stdout + locked.stderr
    unlock = run_snakemake(tmp_path, *command, "--unlock")
    assert unlock.returncode == 0, unlock.stdout + unlock.stderr
    resumed = run_snakemake(tmp_path, *command, "--config", "relax_seconds=0")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    after = job_records(tmp_path)
    assert unchanged_records(before, after) == sorted(predicted)
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in predicted} == predicted
    assert sorted(probe_results(tmp_path, "relax")) == sorted(sequences)
    assert not started_outputs(tmp_path)
