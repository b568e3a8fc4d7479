"""snakefold.plan.resources: per-stage requests from the config's resources section, and their use in a real
Snakemake run (locally here; on Slurm in test_local_slurm.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from snakefold.common.errors import SnakefoldError
from snakefold.plan.config import SCHEMA_DIR, validate_config
from snakefold.plan.resources import (
    SMALL_PREDICTION_GROUP,
    STAGES,
    gpu_request,
    scaled_request,
    sequence_length,
    stage_group,
    stage_partition,
    stage_resources,
    stage_threads,
)
from tests.workflow.conftest import run_snakemake

RESOURCES_SCHEMA = SCHEMA_DIR / "resources.schema.yaml"
PROBE = Path(__file__).with_name("resources_probe.smk")
SEQUENCES = {"short": "M" * 100, "long": "M" * 1000}
NO_ENVIRONMENT: dict[str, str] = {}


class Wildcards(dict):
    """What Snakemake passes to resource and group functions: wildcard values by key and by attribute."""

    __getattr__ = dict.__getitem__


def config_with(**resources) -> dict:
    """A config whose resources section is ``resources`` checked, with the schema's defaults filled in."""
    return {"resources": validate_config(resources, RESOURCES_SCHEMA)}


def test_the_config_schema_fills_the_resources_defaults():
    config = validate_config({"inputs": ["batch.fasta"]})
    assert set(config["resources"]["stages"]) == set(STAGES)
    assert config["resources"]["stages"]["msa_jackhmmer"]["threads"] == 8
    assert config["resources"]["gpu"] == {"count": 0, "request": "gpu", "model": None, "stages": ["predict"]}


def test_a_partial_stage_setting_keeps_the_other_defaults():
    settings = config_with(stages={"msa_jackhmmer": {"threads": 16}})["resources"]["stages"]
    defaults = config_with()["resources"]["stages"]
    assert settings["msa_jackhmmer"] == {**defaults["msa_jackhmmer"], "threads": 16}
    assert settings["predict"] == defaults["predict"]


@pytest.mark.parametrize("resources, fragment", [
    ({"stages": {"msa_jackhmmer": {"thread": 4}}}, "'resources.stages.msa_jackhmmer.thread' is not a known setting (did you mean "
                                         "'resources.stages.msa_jackhmmer.threads'?)"),
    ({"stages": {"fold": {}}}, "'resources.stages.fold' is not a known setting"),
    ({"gpu": {"request": "cuda"}}, "'resources.gpu.request' must be one of 'gpu', 'gres', not 'cuda'"),
    ({"retry_growth": 0.5}, "'resources.retry_growth': 0.5 is less than the minimum of 1"),
])
def test_bad_settings_are_named_by_key(resources, fragment):
    with pytest.raises(SnakefoldError) as error:
        validate_config({"inputs": ["batch.fasta"], "resources": resources})
    assert fragment in str(error.value)


def sized_config(**extra) -> dict:
    return config_with(retry_growth=2, stages={"msa_jackhmmer": {
        "threads": 4, "mem_mb": 1000, "mem_mb_per_residue": 10, "mem_mb_per_residue_squared": 0.5,
        "runtime": 60, "runtime_per_residue": 0.1, "runtime_per_residue_squared": 0}}, **extra)


def test_memory_and_runtime_grow_with_length_and_attempt():
    resources = stage_resources(sized_config(), "msa_jackhmmer", length=sequence_length(SEQUENCES), environ=NO_ENVIRONMENT)
    short, long = Wildcards(seq="short"), Wildcards(seq="long")
    # 1000 + 10 L + 0.5 L^2 MB and 60 + 0.1 L minutes, doubled for each retry.
    assert resources["mem_mb"](short, attempt=1) == 1000 + 1000 + 5000
    assert resources["mem_mb"](short, attempt=2) == 2 * 7000
    assert resources["mem_mb"](long, attempt=1) == 1000 + 10_000 + 500_000
    assert resources["runtime"](short, attempt=1) == 70
    assert resources["runtime"](long, attempt=3) == 4 * 160
    assert stage_threads(sized_config(), "msa_jackhmmer") == 4


def test_without_a_length_only_the_base_and_the_attempt_count():
    resources = stage_resources(sized_config(), "msa_jackhmmer", environ=NO_ENVIRONMENT)
    assert resources["mem_mb"](Wildcards(), attempt=1) == 1000
    assert resources["runtime"](Wildcards(), attempt=2) == 120


def test_limits_cap_every_request():
    config = sized_config(limits={"threads": 2, "mem_mb": 50_000, "runtime": 100})
    resources = stage_resources(config, "msa_jackhmmer", length=sequence_length(SEQUENCES), environ=NO_ENVIRONMENT)
    assert resources["mem_mb"](Wildcards(seq="long"), attempt=1) == 50_000
    assert resources["mem_mb"](Wildcards(seq="short"), attempt=1) == 7000
    assert resources["runtime"](Wildcards(seq="long"), attempt=1) == 100
    assert stage_threads(config, "msa_jackhmmer") == 2


def test_requests_are_whole_and_at_least_one():
    assert scaled_request(0, 0, 0, length=0, attempt=1, retry_growth=1.5, limit=None) == 1
    assert scaled_request(10, 0.01, 0, length=150, attempt=2, retry_growth=1.5, limit=None) == math.ceil(11.5 * 1.5)


def test_partitions_and_account_come_from_the_config_then_the_environment():
    environ = {"SNAKEFOLD_SLURM_PARTITION": "short", "SNAKEFOLD_SLURM_GPU_PARTITION": "gpu-a100",
               "SNAKEFOLD_SLURM_ACCOUNT": "lab42"}
    configured = config_with(partitions={"cpu": "batch", "gpu": "accel"}, account="proj7")
    assert stage_resources(configured, "msa_jackhmmer", environ=environ)["slurm_partition"] == "batch"
    assert stage_resources(configured, "predict", environ=environ)["slurm_partition"] == "accel"
    assert stage_resources(configured, "relax", environ=environ)["slurm_account"] == "proj7"

    unset = config_with()
    assert stage_resources(unset, "msa_jackhmmer", environ=environ)["slurm_partition"] == "short"
    assert stage_resources(unset, "predict", environ=environ)["slurm_partition"] == "gpu-a100"
    assert stage_resources(unset, "msa_jackhmmer", environ=environ)["slurm_account"] == "lab42"
    # A GPU stage without a GPU partition anywhere goes where CPU stages go; with nothing set, nothing is
    # requested and the profile's or the cluster's defaults apply.
    assert stage_partition(unset, "predict", {"SNAKEFOLD_SLURM_PARTITION": "short"}) == "short"
    bare = stage_resources(unset, "predict", environ=NO_ENVIRONMENT)
    assert "slurm_partition" not in bare and "slurm_account" not in bare


def test_gpu_request_follows_the_config():
    assert gpu_request(config_with(), "predict") == {}
    assert gpu_request(config_with(gpu={"count": 2}), "predict") == {"gpu": 2}
    assert gpu_request(config_with(gpu={"count": 1, "model": "a100"}), "predict") == {"gpu": 1, "gpu_model": "a100"}
    assert gpu_request(config_with(gpu={"count": 2, "model": "a100", "request": "gres"}), "predict") == {
        "gres": "gpu:a100:2"}
    assert gpu_request(config_with(gpu={"count": 1, "request": "gres"}), "predict") == {"gres": "gpu:1"}
    assert gpu_request(config_with(gpu={"count": 1}), "msa_jackhmmer") == {}
    relax_on_gpu = config_with(gpu={"count": 1, "stages": ["predict", "relax"]}, partitions={"gpu": "accel"})
    relax = stage_resources(relax_on_gpu, "relax", environ=NO_ENVIRONMENT)
    assert (relax["gpu"], relax["slurm_partition"]) == (1, "accel")


def test_small_predictions_share_a_group():
    length = sequence_length(SEQUENCES)
    group = stage_group(config_with(group_small_predictions={"max_length": 400}), "predict", length=length)
    assert group(Wildcards(seq="short")) == SMALL_PREDICTION_GROUP
    assert group(Wildcards(seq="long")) is None
    assert stage_group(config_with(group_small_predictions={"max_length": 0}), "predict", length=length) is None
    assert stage_group(config_with(), "msa_jackhmmer", length=length) is None


def test_sequence_length_reads_any_wildcard():
    length = sequence_length({"k1": "ACDE"}, wildcard="key")
    assert length(Wildcards(key="k1")) == 4


def test_an_unknown_stage_is_named():
    with pytest.raises(ValueError, match="unknown stage 'fold' .*known stages: intake, msa"):
        stage_threads(config_with(), "fold")


def test_snakemake_evaluates_the_requests_per_job_and_attempt(tmp_path):
    """A real local run of the probe workflow: each job sees the requests sized for its sequence, and a
    job that failed is retried (--retries) with the requests of its second attempt."""
    sequences = {"short": "M" * 40, "long": "M" * 600}
    resources = {"retry_growth": 2, "stages": {
        "predict": {"threads": 1, "mem_mb": 100, "mem_mb_per_residue": 1, "mem_mb_per_residue_squared": 0,
                    "runtime": 10, "runtime_per_residue": 0.1, "runtime_per_residue_squared": 0},
        "relax": {"threads": 1, "mem_mb": 100, "mem_mb_per_residue": 0, "mem_mb_per_residue_squared": 0,
                  "runtime": 5, "runtime_per_residue": 0, "runtime_per_residue_squared": 0}}}
    config = tmp_path / "probe.yaml"
    config.write_text(yaml.safe_dump({"sequences": sequences, "resources": resources, "relax_fails_once": True}))
    result = run_snakemake(tmp_path, "--snakefile", str(PROBE), "--cores", "2", "--retries", "1",
                           "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    predicted = {name: json.loads((tmp_path / "probe" / "predict" / f"{name}.json").read_text()) for name in sequences}
    assert {name: (r["mem_mb"], r["runtime"]) for name, r in predicted.items()} == {
        "short": (140, 14), "long": (700, 70)}
    relaxed = {name: json.loads((tmp_path / "probe" / "relax" / f"{name}.json").read_text()) for name in sequences}
    assert {name: (r["mem_mb"], r["runtime"]) for name, r in relaxed.items()} == {
        "short": (200, 10), "long": (200, 10)}
