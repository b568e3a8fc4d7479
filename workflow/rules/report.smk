"""Report: each target's user-facing files, the batch summary, and what `snakemake --report` shows.

report_target writes {results}/<target>/ from its sequence's model runs, ranked there (snakefold report;
several targets may share a sequence, each gets its own files under its own name), report_complex a
complex's. A report is asked for by its SHA256SUMS (written last, listing every other file).
summary writes {results}/summary.tsv, and summary.html for the Snakemake report (which shows HTML inline, not TSV), from
what is on disk: one row per input record, ok, failed, rejected at intake, or incomplete.

Failed targets. With --keep-going a failed job's downstream jobs never run, so no rule can list the
failures, and the summary job waits for no target. After every run (not dry runs), the Snakefile's
onsuccess/onerror handlers write both again with the failed jobs' errors and logs
(snakefold/report/run_outcome.py). The run's exit status stays non-zero on any failure.

`snakemake --report` refuses to build a report when a file marked for it is missing, as the plots of a
failed target are: `snakemake completed --report report.html` builds it from the targets whose files are
complete; the summary lists the others with their errors.
"""

import os

from snakefold.plan.resources import stage_resources, stage_threads

# report_target (single chains) and report_complex (complexes): one declaration, two rules
# (snakefold.plan.report.ReportKind), told apart by their {target} constraint.
for kind, report_kind in PLAN.report.kinds.items():

    rule:
        name:
            report_kind.rule
        input:
            unpack(PLAN.report.inputs),
        output:
            **report_kind.outputs(PLAN.layout.target_dir("{target}")),
            figures=[
                report(
                    path,
                    caption=f"../report/{figure}.rst",
                    category=report_kind.category,
                    subcategory="{target}",
                    labels={report_kind.label: "{target}", "figure": figure},
                )
                for figure, path in report_kind.figure_files(PLAN.layout.target_dir("{target}"))
            ],
        log:
            PLAN.layout.log("report", "{target}"),
        wildcard_constraints:
            target=PLAN.report.wildcard(kind),
        conda:
            "../../envs/report.yaml"
        threads: stage_threads(config, "report")
        resources:
            **stage_resources(config, "report", length=PLAN.report.length),
        params:
            record=PLAN.report.record,
            metric=PLAN.report.metric,
            out_dir=PLAN.layout.target_dir("{target}"),
            benchmarks=f"{PLAN.layout.logs}/benchmarks",
            dpi=config["report"]["dpi"],
        shell:
            "snakefold report --record <(printf '%s' {params.record:q}) --metric {params.metric:q}"
            " --scores {input.scores:q} --features {input.features:q} --out-dir {params.out_dir:q} --relaxed {input.relaxed:q}"
            " --benchmarks {params.benchmarks:q} --dpi {params.dpi} > {log:q} 2>&1"


rule summary:
    input:
        targets=rules.intake.output.targets,
        rejected=rules.intake.output.rejected,
    output:
        tsv=report(
            PLAN.layout.batch_file("summary.tsv"),
            caption="../report/summary.rst",
            category="Batch summary",
            labels={"file": "summary.tsv (table for scripts)"},
        ),
        html=report(
            PLAN.layout.batch_file("summary.html"),
            caption="../report/summary.rst",
            category="Batch summary",
            labels={"file": "summary.html (this table)"},
        ),
    log:
        PLAN.layout.log("summary", "summary"),
    localrule: True
    conda:
        "../../envs/report.yaml"
    threads: stage_threads(config, "report")
    resources:
        **stage_resources(config, "report"),
    params:
        results=lambda wildcards, output: os.path.dirname(output.tsv),
    shell:
        "snakefold summary --targets {input.targets:q} --rejected {input.rejected:q} --results {params.results:q}"
        " --output {output.tsv:q} --html {output.html:q} 2> {log:q}"


rule completed:
    """Target for `snakemake completed --report report.html`: the files of every target that completed."""
    input:
        PLAN.report.completed,
        rules.summary.output,
    localrule: True
