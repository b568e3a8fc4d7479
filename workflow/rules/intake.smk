"""Intake: the batch's tables and its batch file (every target's record), one query FASTA per distinct sequence.

The batch was read and checked when the plan was made (snakefold/plan/run.py); these rules write what it
found. A target's ID, description and sequence reach its own jobs as a parameter handed over as a file, and
the batch's jobs (a screen's table, golden outputs) through the batch file, never as command-line words
(snakefold/common/target_record.py).
"""

from snakefold.plan.resources import stage_resources, stage_threads


rule intake:
    input:
        PLAN.intake_inputs,
    output:
        targets=PLAN.layout.batch_file("targets.tsv"),
        rejected=PLAN.layout.batch_file("rejected.tsv"),
        batch=PLAN.layout.batch_records(),
    log:
        PLAN.layout.log("intake", "intake"),
    threads: stage_threads(config, "intake")
    resources:
        **stage_resources(config, "intake"),
    params:
        targets=lambda wildcards: PLAN.targets_table(),
        rejected=lambda wildcards: PLAN.rejected_table(),
        batch=lambda wildcards: PLAN.batch_document(),
    run:
        from snakefold.common.atomic import atomic_write_text
        from snakefold.common.target_record import write_batch_document

        atomic_write_text(output.targets, params.targets)
        atomic_write_text(output.rejected, params.rejected)
        write_batch_document(output.batch, params.batch)


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
