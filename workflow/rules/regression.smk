"""Regression mode: `snakemake regression` checks config regression.targets; `snakemake regression_refresh`
rewrites their golden outputs on purpose.

    regression_check   one target: its best model against the reference structure and every model run
                       against the golden outputs -> {output_dir}/targets/<target>.json (a verdict; the
                       job succeeds whatever the verdict, so the verdict is kept)
    regression_report  every verdict -> {output_dir}/report.md and junit.xml
    regression         fails (exit 1) naming each target and metric that regressed; it has no output files,
                       so Snakemake has nothing to delete: the report and JUnit XML stay for CI to read
    regression_refresh writes each target's golden outputs from its predictions (snakefold regression refresh)

A golden directory is not a job input (it may not exist yet, and then regression_check says how to make
it); a parameter holding its files' checksums makes a refreshed or changed golden directory re-run the check.
"""

from snakefold.plan.resources import stage_resources, stage_threads


rule regression_check:
    input:
        best_model=f"{PLAN.layout.target_dir('{target}')}/ranked_0.pdb",
        ranking=f"{PLAN.layout.target_dir('{target}')}/ranking.json",
        reference=PLAN.regression.reference,
    output:
        f"{config['regression']['output_dir']}/targets/{{target}}.json",
    log:
        PLAN.layout.log("regression", "check_{target}"),
    wildcard_constraints:
        target=PLAN.regression.wildcard(),
    conda:
        "../../envs/report.yaml"
    threads: stage_threads(config, "regression")
    resources:
        **stage_resources(config, "regression"),
    params:
        record=PLAN.report.record,
        work_dir=PLAN.report.work_dir,
        models=PLAN.report.models,
        options=PLAN.regression.options,
        thresholds=PLAN.regression.threshold_options,
        golden_stamp=PLAN.regression.golden_stamp,
    shell:
        "snakefold regression check --record <(printf '%s' {params.record:q})"
        " --best-model {input.best_model:q} --work-dir {params.work_dir:q} --models {params.models:q} {params.options:q} {params.thresholds:q} --output {output:q} > {log:q} 2>&1"


rule regression_report:
    input:
        PLAN.regression.verdicts,
    output:
        markdown=f"{config['regression']['output_dir']}/report.md",
        junit=f"{config['regression']['output_dir']}/junit.xml",
    log:
        PLAN.layout.log("regression", "report"),
    localrule: True
    conda:
        "../../envs/report.yaml"
    threads: stage_threads(config, "regression")
    resources:
        **stage_resources(config, "regression"),
    shell:
        "snakefold regression report {input:q} --markdown {output.markdown:q} --junit {output.junit:q} 2> {log:q}"


rule regression:
    input:
        verdicts=PLAN.regression.verdicts,
        markdown=rules.regression_report.output.markdown,
        junit=rules.regression_report.output.junit,
    log:
        PLAN.layout.log("regression", "verdict"),
    localrule: True
    conda:
        "../../envs/report.yaml"
    threads: stage_threads(config, "regression")
    resources:
        **stage_resources(config, "regression"),
    shell:
        "snakefold regression verdict {input.verdicts:q} --report {input.markdown:q} 2>&1 | tee {log:q}"


rule regression_refresh:
    input:
        rankings=PLAN.regression.refresh_inputs,
        batch=PLAN.layout.batch_records(),
    log:
        PLAN.layout.log("regression", "refresh"),
    localrule: True
    conda:
        "../../envs/report.yaml"
    threads: stage_threads(config, "regression")
    resources:
        **stage_resources(config, "regression"),
    params:
        targets=lambda wildcards: PLAN.regression.golden_targets(),
        work_dirs=lambda wildcards: [PLAN.report.target_work_dir(name) for name in PLAN.regression.golden_targets()],
        golden=lambda wildcards: [PLAN.regression.targets[name]["golden"] for name in PLAN.regression.golden_targets()],
        models=PLAN.predict.model_names,
    shell:
        "snakefold regression refresh --batch {input.batch:q} --target {params.targets:q}"
        " --work-dir {params.work_dirs:q} --golden {params.golden:q} --models {params.models:q} 2>&1 | tee {log:q}"
