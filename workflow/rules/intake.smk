"""Intake: the batch's target table, the rejected records, and one query FASTA per distinct sequence."""


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


ALL_OUTPUTS.extend(rules.intake.output)
