"""Relax: restrained Amber minimisation of the ranked models of each distinct sequence (snakefold relax).

The job for rank i of sequence {seq} ranks the sequence's model runs from their scores.json (model.rank_by,
or 0.8 ipTM + 0.2 pTM for a complex: snakefold/common/ranking.py), takes the i-th best (counted from 0) from
{work}/{seq}/predictions/<model>/unrelaxed.pdb, and writes
{work}/{seq}/relaxed/rank_<i>.pdb with rank_<i>.json (energies, RMSD, violations, attempts, platform,
wall time). relax.mode decides how many ranks are relaxed: best 1, all every model, none 0. Every
unrelaxed model of the sequence is an input, so the job needs no checkpoint to know which one it gets.
"""

from snakefold.plan.resources import stage_resources, stage_threads


rule relax:
    input:
        unpack(PLAN.predict.relax_inputs),
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
        **stage_resources(config, "relax", length=PLAN.predict.sequence_length),
    params:
        metric=PLAN.predict.metric,
        settings=config["relax"],
    shell:
        "snakefold relax --scores {input.scores:q} --metric {params.metric:q} --rank {wildcards.rank}"
        " --output {output.pdb:q} --metrics {output.metrics:q} --platform {params.settings[platform]}"
        " --stiffness {params.settings[stiffness]} --tolerance {params.settings[tolerance]}"
        " --max-iterations {params.settings[max_iterations]}"
        " --max-outer-iterations {params.settings[max_outer_iterations]}"
        " --max-attempts {params.settings[max_attempts]} --threads {threads} 2> {log:q}"
