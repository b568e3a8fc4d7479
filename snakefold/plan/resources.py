"""What each job asks its executor for: threads, memory, wall time, GPUs, and a Slurm partition and account.

Every rule of the workflow takes its ``threads``, ``resources`` and, for predictions, ``group`` from here,
by stage, so that one config section (``resources:``, schema in workflow/schemas/resources.schema.yaml,
which holds every default) sizes the whole DAG for a laptop, CI or a Slurm cluster::

    from snakefold.plan.resources import stage_group, stage_resources, stage_threads

    rule predict:
        ...
        threads: stage_threads(config, "predict")
        resources: **stage_resources(config, "predict", length=PLAN.sequence_length)
        group: stage_group(config, "predict", length=PLAN.sequence_length)

``length`` is any function of a job's wildcards giving its query length (the plan's methods;
:func:`sequence_length` makes one from a mapping of names to sequences).

Memory (MB) and wall time (minutes) of a job of stage *s* on a query of length L, at Snakemake attempt
``a`` (1 for the first run, one more for each retry the profile's ``retries`` grants):

    request(L, a) = min(limit, ceil((base_s + per_residue_s * L + per_residue_squared_s * L^2)
                                    * retry_growth^(a - 1)))

so a job that Slurm killed for memory or time is resubmitted with more. GPU stages (``gpu.stages``) go to
the GPU partition and ask for ``gpu.count`` GPUs through the Slurm plugin's ``gpu``/``gpu_model`` or
``gres`` resources; with a count of 0 no GPU is requested. Partitions and the account come from the config
or, when it leaves them null, from ``$SNAKEFOLD_SLURM_PARTITION``, ``$SNAKEFOLD_SLURM_GPU_PARTITION`` and
``$SNAKEFOLD_SLURM_ACCOUNT``; when neither names one, the resource is left out and the profile's
``default-resources`` or the cluster's default applies. Executors other than Slurm ignore the ``slurm_*``
and GPU resources.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Mapping

from snakefold.common.snakemake_internals import job_function

#: Every stage with its own entry under resources.stages.
STAGES = ("intake", "msa_jackhmmer", "msa_hhblits", "msa_mmseqs2", "templates", "features", "predict", "relax", "report",
          "regression")
#: The Snakemake group that small predictions of one cluster job share (see the profile's group-components).
SMALL_PREDICTION_GROUP = "predict_small"

CPU_PARTITION_VARIABLE = "SNAKEFOLD_SLURM_PARTITION"
GPU_PARTITION_VARIABLE = "SNAKEFOLD_SLURM_GPU_PARTITION"
ACCOUNT_VARIABLE = "SNAKEFOLD_SLURM_ACCOUNT"

#: wildcards -> query length in residues
LengthFunction = Callable[[Any], int]


def sequence_length(sequences: Mapping[str, str], wildcard: str = "seq") -> LengthFunction:
    """The length of the query a job works on: ``sequences[wildcards.<wildcard>]`` in residues.

    ``sequences`` maps the value of that wildcard to a sequence: ``SEQUENCES`` for rules keyed by the
    ``{seq}`` wildcard, or a content-key -> sequence mapping for rules whose output is a cache entry.
    """
    def length(wildcards) -> int:
        return len(sequences[wildcards[wildcard]])

    return length


def _settings(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return config["resources"]


def _stage(config: Mapping[str, Any], stage: str) -> Mapping[str, Any]:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} for resources (known stages: {', '.join(STAGES)})")
    return _settings(config)["stages"][stage]


def _capped(value: int, limit: int | None) -> int:
    return value if limit is None else min(value, limit)


def stage_threads(config: Mapping[str, Any], stage: str) -> int:
    """Threads of a job of ``stage``: resources.stages.<stage>.threads, capped by resources.limits.threads."""
    return _capped(_stage(config, stage)["threads"], _settings(config)["limits"]["threads"])


def scaled_request(base: float, per_residue: float, per_residue_squared: float, length: int, attempt: int,
                   retry_growth: float, limit: int | None) -> int:
    """``min(limit, ceil((base + per_residue*L + per_residue_squared*L^2) * retry_growth^(attempt-1)))``."""
    first = base + per_residue * length + per_residue_squared * length * length
    return _capped(max(1, math.ceil(first * retry_growth ** (attempt - 1))), limit)


def _scaled(config: Mapping[str, Any], stage: str, name: str, length: LengthFunction | None):
    settings, entry = _settings(config), _stage(config, stage)

    def request(wildcards, attempt) -> int:
        residues = 0 if length is None else length(wildcards)
        return scaled_request(entry[name], entry[f"{name}_per_residue"], entry[f"{name}_per_residue_squared"],
                              residues, attempt, settings["retry_growth"], settings["limits"][name])

    request.__name__ = f"{stage}_{name}"
    return job_function(request)


def is_gpu_stage(config: Mapping[str, Any], stage: str) -> bool:
    _stage(config, stage)
    return stage in _settings(config)["gpu"]["stages"]


def stage_partition(config: Mapping[str, Any], stage: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The Slurm partition of ``stage``, or None to leave it to the profile and the cluster."""
    partitions = _settings(config)["partitions"]
    cpu = partitions["cpu"] or environ.get(CPU_PARTITION_VARIABLE) or None
    if is_gpu_stage(config, stage):
        return partitions["gpu"] or environ.get(GPU_PARTITION_VARIABLE) or cpu
    return cpu


def slurm_account(config: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> str | None:
    """The Slurm account of every job, or None to leave it to the profile and the cluster."""
    return _settings(config)["account"] or environ.get(ACCOUNT_VARIABLE) or None


def gpu_request(config: Mapping[str, Any], stage: str) -> dict[str, int | str]:
    """The Slurm plugin's GPU resources for a job of ``stage`` (empty when it requests no GPU)."""
    gpu = _settings(config)["gpu"]
    if not is_gpu_stage(config, stage) or gpu["count"] == 0:
        return {}
    if gpu["request"] == "gres":
        model = f"{gpu['model']}:" if gpu["model"] else ""
        return {"gres": f"gpu:{model}{gpu['count']}"}
    request: dict[str, int | str] = {"gpu": gpu["count"]}
    if gpu["model"]:
        request["gpu_model"] = gpu["model"]
    return request


def stage_resources(config: Mapping[str, Any], stage: str, length: LengthFunction | None = None,
                    environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The ``resources:`` of a rule of ``stage``, to unpack into the directive (``**stage_resources(...)``).

    ``mem_mb`` and ``runtime`` are functions of the job's wildcards and attempt, growing with the query
    length when ``length`` (see :func:`sequence_length`) is given; ``slurm_partition``, ``slurm_account``
    and the GPU request are present only when set.
    """
    resources: dict[str, Any] = {
        "mem_mb": _scaled(config, stage, "mem_mb", length),
        "runtime": _scaled(config, stage, "runtime", length),
    }
    partition = stage_partition(config, stage, environ)
    if partition:
        resources["slurm_partition"] = partition
    account = slurm_account(config, environ)
    if account:
        resources["slurm_account"] = account
    resources.update(gpu_request(config, stage))
    return resources


def grouped_resources(config: Mapping[str, Any], stage: str, lengths: Callable[[Any], list[int]],
                      environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The ``resources:`` of a job running several queries of ``stage`` one after the other in one process
    (:mod:`snakefold.plan.predict_groups`): the memory of its longest query, the sum of the queries' wall times.

    ``lengths`` gives the job's query lengths from its wildcards; the rest is :func:`stage_resources`'.
    """
    settings, entry = _settings(config), _stage(config, stage)

    def request(name: str, combine: Callable[[list[int]], int]):
        def scaled(wildcards, attempt) -> int:
            return combine([scaled_request(entry[name], entry[f"{name}_per_residue"],
                                           entry[f"{name}_per_residue_squared"], length, attempt,
                                           settings["retry_growth"], settings["limits"][name])
                            for length in lengths(wildcards)])

        scaled.__name__ = f"{stage}_group_{name}"
        return job_function(scaled)

    limit = settings["limits"]["runtime"]
    return {**stage_resources(config, stage, environ=environ), "mem_mb": request("mem_mb", max),
            "runtime": request("runtime", lambda values: _capped(sum(values), limit))}


def stage_group(config: Mapping[str, Any], stage: str, length: LengthFunction) -> Callable[[Any], str | None] | None:
    """The ``group:`` of a rule of ``stage``: small predictions share :data:`SMALL_PREDICTION_GROUP`.

    Returns a function of the wildcards giving the group of a prediction no longer than
    resources.group_small_predictions.max_length residues and None (no group) for a longer one; returns
    None for other stages or when that setting is 0. Snakemake uses groups only on a cluster.
    """
    max_length = _settings(config)["group_small_predictions"]["max_length"]
    _stage(config, stage)
    if stage != "predict" or max_length == 0:
        return None

    def group(wildcards) -> str | None:
        return SMALL_PREDICTION_GROUP if length(wildcards) <= max_length else None

    return job_function(group)
