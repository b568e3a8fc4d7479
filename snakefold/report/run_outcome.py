"""Which failed jobs each target depends on, from the Snakemake run that just ended.

Called in the main snakemake process by the workflow's ``onsuccess``/``onerror`` handlers. Each target's
report job (rule ``report_target``, or ``report_complex`` for a complex; wildcard ``target``) is the anchor:
every job upstream of it in the DAG that failed in this run failed for that target, whatever the job's own wildcards or paths are (content-keyed MSA, template
and feature jobs name no target). Upstream jobs that did not run in this run but whose log ends in an error
failed in an earlier run and have not run since; they are reported as such.

:func:`write_batch_summary` is the handlers' whole work: the summary of every input record with its status,
and a pulldown screen's table and heat map (its failed or unfinished pairs listed as ``incomplete``).

What it reads of Snakemake's run (its DAG and failed jobs) is read in :mod:`snakefold.common.snakemake_internals`;
it runs only inside the handlers.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

from snakefold.common.fasta import Batch
from snakefold.common.snakemake_internals import dag_rules, report_jobs
from snakefold.report.summary import (
    BatchTarget,
    JobFailure,
    RejectedRecord,
    describe,
    error_in_log,
    job_failure,
    summarise_batch,
    write_summary,
)

#: The report jobs of a target and of a complex: a target's failures are the failed jobs they depend on.
ANCHOR_RULES = ("report_target", "report_complex")
BATCH_RULE = "summary"


def covers_batch(workflow: Any) -> bool:
    """Whether the run was asked for the batch (its DAG holds the summary job), not only some of its files."""
    return BATCH_RULE in dag_rules(workflow)


def failures_by_target(workflow: Any, snakemake_logs: Iterable[str] = ()) -> dict[str, list[JobFailure]]:
    """target name -> the failed jobs (this run's first, then earlier runs') its report job depends on."""
    snakemake_logs = [str(log) for log in snakemake_logs]
    outcome: dict[str, list[JobFailure]] = {}
    for anchor in report_jobs(workflow, ANCHOR_RULES):
        now, earlier = [], []
        for job in anchor.upstream:
            if job.failed:
                now.append(job_failure(job.rule, list(job.logs), snakemake_logs))
            elif job.left_to_run and any(error_in_log(log) for log in job.logs):
                earlier.append(job_failure(job.rule, list(job.logs), snakemake_logs, earlier_run=True))
        if now or earlier:
            outcome[anchor.target] = now + earlier
    return outcome


def write_batch_summary(workflow: Any, snakemake_logs: Iterable[str], batch: Batch, results_dir: str,
                        tsv: str, html: str) -> None:
    """The handlers' summary: every record with its status; failed jobs from this run's DAG.

    Only a run for the batch (its DAG holds the summary job) rewrites it: a run for a few files (one
    target, the regression checks) knows nothing of the other targets and leaves the summary as it was.
    """
    try:
        if not covers_batch(workflow):
            return
        failures = failures_by_target(workflow, snakemake_logs)
    except (AttributeError, KeyError, TypeError) as error:
        print(f"snakefold: could not read the failed jobs from Snakemake ({error!r}); failed targets are "
              "listed as incomplete in the summary", file=sys.stderr)
        failures = {}
    targets = [BatchTarget(target.name, target.seq_key, target.length) for target in batch.targets + batch.complexes]
    rejected = [RejectedRecord(problem.record_id or "", problem.path, problem.line, problem.reason)
                for problem in batch.errors]
    rows = summarise_batch(targets, rejected, results_dir, failures)
    write_summary(tsv, rows, html)
    print(f"snakefold: {describe(rows, tsv)}", file=sys.stderr)
    if batch.pulldown:
        # here, not at the top: the Snakefile imports this module, and every job parses the Snakefile; the heat map
        # needs matplotlib, which only the main process's handlers of a screen's run load
        from snakefold.report.pulldown import write_pulldown

        pairs = [(name, bait, prey) for name, (bait, prey) in batch.pulldown.items()]
        directory = Path(tsv).parent
        write_pulldown(results_dir, pairs, directory / "pulldown.tsv", directory / "pulldown.png")
