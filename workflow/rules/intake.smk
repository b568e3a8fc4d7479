"""Intake: the batch's target table, the rejected records, one query FASTA per distinct sequence, and one
record file per target (its ID, description and sequence reach jobs through this file, never as
command-line words: see snakefold/common/target_record.py)."""


rule intake:
    input:
        INPUT_FILES,
    output:
        targets=f"{RESULTS}/targets.tsv",
        rejected=f"{RESULTS}/rejected.tsv",
    params:
        inputs=config["inputs"],
    log:
        f"{LOGS}/intake.log",
    threads: stage_threads(config, "intake")
    resources:
        **stage_resources(config, "intake"),
    shell:
        "snakefold intake --min-length {config[min_length]} --max-length {config[max_length]}"
        " --nonstandard-residues {config[nonstandard_residues]} --on-invalid {config[on_invalid]}"
        " --targets {output.targets:q} --rejected {output.rejected:q} {params.inputs:q} 2> {log:q}"


rule query_fasta:
    output:
        query_fasta_path("{seq}"),
    params:
        sequence=lambda wildcards: SEQUENCES[wildcards.seq],
    log:
        f"{LOGS}/query_fasta/{{seq}}.log",
    threads: stage_threads(config, "intake")
    resources:
        **stage_resources(config, "intake"),
    run:
        from snakefold.common.atomic import atomic_write_text

        atomic_write_text(output[0], f">{wildcards.seq}\n{params.sequence}\n")


rule target_record:
    output:
        target_record_path("{target}"),
    params:
        record=lambda wildcards: target_record_document(TARGETS[wildcards.target]),
    log:
        f"{LOGS}/target_record/{{target}}.log",
    threads: stage_threads(config, "intake")
    resources:
        **stage_resources(config, "intake"),
    run:
        from snakefold.common.target_record import write_target_record

        write_target_record(output[0], params.record)


ALL_OUTPUTS.extend(rules.intake.output)
