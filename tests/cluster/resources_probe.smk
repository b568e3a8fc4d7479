"""A two-stage workflow sized by snakefold.plan.resources, for the cluster tests.

Each job writes, as JSON, what it was given: the Slurm job, partition and GPUs it ran with, its resources
and when it ran. 'predict' jobs are grouped as the real predict rule is (small sequences share a group);
each 'relax' job waits config["relax_seconds"] so that a test can kill the run while one is running, and
with config["relax_fails_once"] the first attempt of each fails, so that Snakemake retries it.

config: sequences (name -> sequence), resources (the config section), relax_seconds, relax_fails_once.
"""

import os
import time
from pathlib import Path

from snakefold.common.atomic import atomic_write_json
from snakefold.plan.config import SCHEMA_DIR, validate_config
from snakefold.plan.resources import sequence_length, stage_group, stage_resources, stage_threads

config["resources"] = validate_config(config.get("resources", {}), SCHEMA_DIR / "resources.schema.yaml")
SEQUENCES = config["sequences"]
LENGTH = sequence_length(SEQUENCES)


def record(path, wildcards, threads, resources, started):
    atomic_write_json(path, {
        "seq": wildcards.seq,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "partition": os.environ.get("SLURM_JOB_PARTITION"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "threads": threads,
        "mem_mb": resources.mem_mb,
        "runtime": resources.runtime,
        "started": started,
        "finished": time.time(),
    })


rule all:
    input:
        expand("probe/relax/{seq}.json", seq=SEQUENCES),


rule predict:
    output:
        "probe/predict/{seq}.json",
    threads: stage_threads(config, "predict")
    resources:
        **stage_resources(config, "predict", length=LENGTH),
    group: stage_group(config, "predict", length=LENGTH)
    run:
        started = time.time()
        time.sleep(1)
        record(output[0], wildcards, threads, resources, started)


rule relax:
    input:
        "probe/predict/{seq}.json",
    output:
        "probe/relax/{seq}.json",
    threads: stage_threads(config, "relax")
    resources:
        **stage_resources(config, "relax", length=LENGTH),
    run:
        started = time.time()
        failed_before = Path(f"probe/failed_attempts/{wildcards.seq}")
        if config.get("relax_fails_once") and not failed_before.exists():
            failed_before.parent.mkdir(parents=True, exist_ok=True)
            failed_before.touch()
            raise RuntimeError(f"the first attempt of relax {wildcards.seq} fails on purpose")
        time.sleep(config.get("relax_seconds", 0))
        record(output[0], wildcards, threads, resources, started)
