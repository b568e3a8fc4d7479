"""Intake: the batch's tables, one query FASTA per distinct sequence, one record file per target.

The batch was read and checked when the plan was made (snakefold/plan/run.py); these rules write what it
found. A target's ID, description and sequence reach its jobs through its record file, never as
command-line words (snakefold/common/target_record.py).
"""

from snakefold.plan.resources import stage_resources, stage_threads


rule intake:
    input:
        PLAN.intake_inputs,
    output:
        targets=PLAN.layout.batch_file("targets.tsv"),
        rejected=PLAN.layout.batch_file("rejected.tsv"),
    log:
        PLAN.layout.log("intake", "intake"),
    threads: stage_threads(config, "intake")
    resources:
        **stage_resources(config, "intake"),
    params:
        targets=lambda wildcards: PLAN.targets_table(),
        rejected=lambda wildcards: PLAN.rejected_table(),
    run:
        from snakefold.common.atomic import atomic_write_text

        atomic_write_text(output.targets, params.targets)
        atomic_write_text(output.rejected, params.rejected)


rule query_fasta:
    output:
        PLAN.layout.query_fasta("{seq}"),
    log:
        PLAN.layout.log("query_fasta", "{seq}"),
    threads: stage_threads(config, "intake")
    resources:
        **stage_resources(config, "intake"),
    params:
        text=PLAN.query_fasta,
    run:
        from snakefold.common.atomic import atomic_write_text

        atomic_write_text(output[0], params.text)


rule target_record:
    output:
        PLAN.layout.target_record("{target}"),
    log:
        PLAN.layout.log("target_record", "{target}"),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        record=PLAN.target_record,
    run:
        from snakefold.common.target_record import write_target_record

        write_target_record(output[0], params.record)
