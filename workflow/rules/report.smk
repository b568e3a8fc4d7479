"""Report: each target's user-facing files, the batch summary, and what `snakemake --report` shows.

report_target writes {RESULTS}/<target>/ from its sequence's work directory (snakefold report; several
targets may share a sequence, each gets its own files under its own name). summary writes
{RESULTS}/summary.tsv, and summary.html for the Snakemake report (which shows HTML inline, not TSV), when
every target succeeded.

Failed targets. With --keep-going a failed job's downstream jobs never run, so no rule can list the
failures. After every run (not dry runs), the onsuccess/onerror handlers below write both again with
one row per input record: ok, failed (with the failed job's error and log: the jobs come from Snakemake's
DAG, see snakefold/report/run_outcome.py), rejected at intake, or incomplete; and print the failures. The
run's exit status stays non-zero on any failure. These are the workflow's only onsuccess/onerror handlers:
Snakemake keeps one of each, so other rule files must not define their own.

`snakemake --report report.html` refuses to build a report when a file marked for it is missing, as the
plots of a failed target are. Snakemake does not tell a Snakefile that it is building a report, so the
command line says it: when it has --report (without --report-after-run), the default target asks only for
the targets whose files are complete; the summary, which the handlers wrote, lists the others with their
errors.

For the other rule files:
    target_report_files(target)   every file report_target writes for ``target``
"""

import re
import sys
from pathlib import Path

REPORT_CONFIG = config["report"]

report: "../report/workflow.rst"


def _is_ptm(model):
    """'<preset>_seed<seed>' names whose preset has the predicted-aligned-error head."""
    return model.rsplit("_seed", 1)[0].endswith("_ptm")


PTM_MODELS = [model for model in MODEL_NAMES if _is_ptm(model)]
#: target name -> its sequence, for the resources of its report job
TARGET_SEQUENCES = {name: target.sequence for name, target in TARGETS.items()}
TARGET_FIGURES = ["plddt", "coverage"] + (["pae"] if PTM_MODELS else [])


def target_report_files(target):
    """Every file report_target writes for ``target``, ranking.json first."""
    directory = f"{RESULTS}/{target}"
    return ([f"{directory}/ranking.json", f"{directory}/timings.json"]
            + [f"{directory}/ranked_{rank}.{ext}" for rank in range(len(MODEL_NAMES)) for ext in ("pdb", "cif")]
            + [f"{directory}/confidence_{model}.json" for model in MODEL_NAMES]
            + [f"{directory}/pae_{model}.json" for model in PTM_MODELS]
            + [f"{directory}/{figure}.png" for figure in TARGET_FIGURES])


def _building_report():
    """Whether this snakemake was started to build a report from existing results."""
    arguments = sys.argv[1:]
    asked = any(argument == "--report" or argument.startswith("--report=") for argument in arguments)
    return asked and "--report-after-run" not in arguments


def reported_targets():
    """The targets whose outputs the default target asks for: all, or in report mode the complete ones."""
    if not _building_report():
        return list(TARGETS)
    return [name for name in TARGETS if all(Path(path).exists() for path in target_report_files(name))]


def _figure(name, caption):
    return report(f"{RESULTS}/{{target}}/{name}.png", caption=f"../report/{caption}", category="Targets",
                  subcategory="{target}", labels={"target": "{target}", "figure": name})


def _report_inputs(wildcards):
    seq = TARGETS[wildcards.target].seq_key
    predictions = f"{WORK}/{seq}/predictions"
    return {
        "ranking": f"{WORK}/{seq}/ranking.json",
        "predictions": [f"{predictions}/{model}/{name}" for model in MODEL_NAMES
                        for name in ("scores.json", "outputs.npz", "unrelaxed.pdb")],
        "relaxed": relaxed_paths(seq, len(MODEL_NAMES)),
        "record": target_record_path(wildcards.target),
        "features": features_path(seq),
    }


rule report_target:
    input:
        unpack(_report_inputs),
    output:
        ranking=f"{RESULTS}/{{target}}/ranking.json",
        timings=f"{RESULTS}/{{target}}/timings.json",
        structures=[f"{RESULTS}/{{target}}/ranked_{rank}.{ext}" for rank in range(len(MODEL_NAMES))
                    for ext in ("pdb", "cif")],
        confidence=[f"{RESULTS}/{{target}}/confidence_{model}.json" for model in MODEL_NAMES],
        pae_json=[f"{RESULTS}/{{target}}/pae_{model}.json" for model in PTM_MODELS],
        plddt=_figure("plddt", "plddt.rst"),
        coverage=_figure("coverage", "coverage.rst"),
        **({"pae": _figure("pae", "pae.rst")} if PTM_MODELS else {}),
    params:
        work_dir=lambda wildcards: f"{WORK}/{TARGETS[wildcards.target].seq_key}",
        out_dir=f"{RESULTS}/{{target}}",
        benchmarks=f"{LOGS}/benchmarks",
        dpi=REPORT_CONFIG["dpi"],
    log:
        f"{LOGS}/report/{{target}}.log",
    threads: stage_threads(config, "report")
    resources:
        **stage_resources(config, "report", length=sequence_length(TARGET_SEQUENCES, "target")),
    shell:
        "snakefold report --record {input.record:q} --work-dir {params.work_dir:q}"
        " --features {input.features:q} --out-dir {params.out_dir:q} --relaxed {input.relaxed:q}"
        " --benchmarks {params.benchmarks:q} --dpi {params.dpi} > {log:q} 2>&1"


rule summary:
    input:
        targets=rules.intake.output.targets,
        rejected=rules.intake.output.rejected,
        rankings=[f"{RESULTS}/{name}/ranking.json" for name in reported_targets()],
    output:
        tsv=report(f"{RESULTS}/summary.tsv", caption="../report/summary.rst", category="Batch summary",
                   labels={"file": "summary.tsv (table for scripts)"}),
        html=report(f"{RESULTS}/summary.html", caption="../report/summary.rst", category="Batch summary",
                    labels={"file": "summary.html (this table)"}),
    params:
        results=RESULTS,
    log:
        f"{LOGS}/summary.log",
    localrule: True
    threads: stage_threads(config, "report")
    resources:
        **stage_resources(config, "report"),
    shell:
        "snakefold summary --targets {input.targets:q} --rejected {input.rejected:q} --results {params.results:q}"
        " --output {output.tsv:q} --html {output.html:q} 2> {log:q}"


def write_batch_summary(snakemake_logs):
    """The handlers' summary: every record with its status; failed jobs from this run's DAG.

    Only a run for the batch (its DAG holds the summary job) rewrites it: a run for a few files (one
    target, the regression checks) knows nothing of the other targets and leaves the summary as it was.
    """
    from snakefold.report.run_outcome import covers_batch, failures_by_target
    from snakefold.report.summary import BatchTarget, RejectedRecord, describe, summarise_batch, write_summary

    try:
        if not covers_batch(workflow):
            return
        failures = failures_by_target(workflow, snakemake_logs)
    except (AttributeError, KeyError, TypeError) as error:
        print(f"snakefold: could not read the failed jobs from Snakemake ({error!r}); failed targets are "
              "listed as incomplete in the summary", file=sys.stderr)
        failures = {}
    targets = [BatchTarget(target.name, target.seq_key, len(target.sequence)) for target in BATCH.targets]
    rejected = [RejectedRecord(problem.record_id or "", problem.path, problem.line, problem.reason)
                for problem in BATCH.errors]
    rows = summarise_batch(targets, rejected, RESULTS, failures)
    path = rules.summary.output.tsv
    write_summary(path, rows, rules.summary.output.html)
    print(f"snakefold: {describe(rows, path)}", file=sys.stderr)


onsuccess:
    write_batch_summary(log)


onerror:
    write_batch_summary(log)


ALL_OUTPUTS.extend(f"{RESULTS}/{name}/ranking.json" for name in reported_targets())
ALL_OUTPUTS.extend(rules.summary.output)
