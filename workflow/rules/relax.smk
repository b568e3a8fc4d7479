"""Relax: restrained Amber minimisation of the ranked models of each distinct sequence (snakefold relax).

The job for rank i of sequence {seq} reads {work}/{seq}/ranking.json, takes the i-th model of its 'order'
(counted from 0) from {work}/{seq}/predictions/<model>/unrelaxed.pdb, and writes
{work}/{seq}/relaxed/rank_<i>.pdb with rank_<i>.json (energies, RMSD, violations, attempts, platform,
wall time). relax.mode decides how many ranks are relaxed: best 1, all every model, none 0. Every
unrelaxed model of the sequence is an input, so the job needs no checkpoint to know which one it gets.
"""

from snakefold.plan.resources import stage_resources, stage_threads


rule relax:
    input:
        unpack(PLAN.relax_inputs),
    output:
        pdb=PLAN.layout.relaxed("{seq}", "{rank}"),
        metrics=PLAN.layout.relaxed("{seq}", "{rank}", "json"),
    log:
        PLAN.layout.log("relax", "{seq}_rank_{rank}"),
    wildcard_constraints:
        rank=r"\d+",
    conda:
        "../../envs/relax.yaml"
    threads: stage_threads(config, "relax")
    resources:
        **stage_resources(config, "relax", length=PLAN.sequence_length),
    params:
        predictions=PLAN.layout.predictions("{seq}"),
        settings=config["relax"],
    shell:
        "snakefold relax --ranking {input.ranking:q} --rank {wildcards.rank} --predictions {params.predictions:q}"
        " --output {output.pdb:q} --metrics {output.metrics:q} --platform {params.settings[platform]}"
        " --stiffness {params.settings[stiffness]} --tolerance {params.settings[tolerance]}"
        " --max-iterations {params.settings[max_iterations]}"
        " --max-outer-iterations {params.settings[max_outer_iterations]}"
        " --max-attempts {params.settings[max_attempts]} --threads {threads} 2> {log:q}"
