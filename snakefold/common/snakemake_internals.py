"""What snakefold reads of Snakemake, or hands it, beyond the Snakefile's documented API: in this module alone.

Snakemake is pinned (pyproject.toml); what is here is what an upgrade must check (tests/common/
test_snakemake_internals.py checks each against the installed Snakemake).

- **Job functions' parameters.** For every job, Snakemake asks each input, params and resources function of
  its rule which of ``wildcards``, ``input``, ``output``, ``threads``, ``resources``, ``attempt`` it takes,
  with :func:`inspect.signature`, anew each time (``snakemake.common.get_function_params``): for a proteome
  that is a million signatures, about a tenth of planning. It reads them from the attribute
  ``_overwrite_params`` instead when a function has it; :func:`job_function` and :func:`job_functions` set
  it once. A method's parameters include ``self``, which Snakemake never passes by name. Every resource of
  every job, a number or a function, is evaluated through Snakemake's own ``Resource.evaluate``, inspected
  the same way: :func:`resource_parameters_once` gives it its parameters once (the same answer).
- **Job functions' text.** Snakemake keeps the text of some functions it is given (``str()`` of a function
  flagged ``unpack`` or ``ancient``); a bound method's text holds its object's ``repr``, which for a
  dataclass holds every field: the whole batch, once per such function, in every process that parses the
  Snakefile (a job's too). The plan's classes therefore have the short default ``repr`` (``repr=False``).
- **A finished run's failures** (the ``onsuccess``/``onerror`` handlers' summary): the jobs of
  ``workflow.dag``, their upstream jobs (``dag.dependencies`` walked breadth-first), the scheduler's failed
  set (``workflow.scheduler.failed``), and whether an unfinished job was to run: :func:`report_jobs`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

#: Where Snakemake looks for a function's parameters before it inspects the function
#: (``snakemake.common.FUNC_OVERWRITE_PARAMS_ATTR``).
PARAMETERS_ATTRIBUTE = "_overwrite_params"


def job_function(function: Callable) -> Callable:
    """Give ``function`` (an input, params or resources function of a rule) its parameters, read once."""
    setattr(function, PARAMETERS_ATTRIBUTE, inspect.signature(function).parameters)
    return function


def job_functions(cls: type) -> type:
    """Class decorator: every public method of ``cls`` a :func:`job_function`."""
    for name, member in vars(cls).items():
        if inspect.isfunction(member) and not name.startswith("_"):
            job_function(member)
    return cls


def resource_parameters_once() -> None:
    """Give Snakemake's ``Resource.evaluate`` its own parameters, so that it is not inspected per resource and job."""
    from snakemake.resources import Resource

    job_function(Resource.evaluate)


@dataclass(frozen=True)
class UpstreamJob:
    """A job a target's report job depends on, as a finished run left it."""

    rule: str
    logs: tuple[str, ...]
    #: it failed in this run
    failed: bool
    #: it did not run in this run, though it had to (so an error in its log is an earlier run's)
    left_to_run: bool


@dataclass(frozen=True)
class AnchorJob:
    """A job of one of the anchor rules, its ``target`` wildcard, and every job upstream of it."""

    target: str
    upstream: tuple[UpstreamJob, ...]


def dag_rules(workflow: Any) -> set[str]:
    """The rules of the run's DAG."""
    return {job.rule.name for job in workflow.dag.jobs}


def report_jobs(workflow: Any, anchor_rules: tuple[str, ...]) -> Iterator[AnchorJob]:
    """Each job of ``anchor_rules`` in the run's DAG, with every job upstream of it."""
    dag = workflow.dag
    failed = set(getattr(getattr(workflow, "scheduler", None), "failed", ()) or ())
    for anchor in dag.jobs:
        if anchor.rule.name not in anchor_rules:
            continue
        yield AnchorJob(anchor.wildcards["target"], tuple(
            UpstreamJob(job.rule.name, tuple(str(log) for log in job.log), job in failed,
                        not dag.finished(job) and dag.needrun(job))
            for job in dag.bfs(dag.dependencies, anchor)))
