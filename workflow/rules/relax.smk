"""Relax: restrained Amber minimisation of the ranked models of each distinct sequence (snakefold relax).

The job for rank i of sequence {seq} reads {WORK}/{seq}/ranking.json, takes the i-th model of its 'order'
(counted from 0) from {WORK}/{seq}/predictions/<model>/unrelaxed.pdb, and writes
{WORK}/{seq}/relaxed/rank_<i>.pdb with rank_<i>.json (energies, RMSD, violations, attempts, platform,
wall time). relax.mode decides how many ranks are relaxed: best 1, all every model, none 0. Every
unrelaxed model of the sequence is an input, so the job needs no checkpoint to know which one it gets.
"""

RELAX = config["relax"]


def relax_count(n_models):
    """How many ranked models of a sequence with ``n_models`` predictions are relaxed (relax.mode)."""
    return {"best": min(1, n_models), "all": n_models, "none": 0}[RELAX["mode"]]


def relaxed_paths(seq, n_models):
    """The relaxed PDBs of sequence ``seq`` with ``n_models`` predictions, best first; each has a .json beside."""
    return [f"{WORK}/{seq}/relaxed/rank_{rank}.pdb" for rank in range(relax_count(n_models))]


def unrelaxed_paths(seq, model_names):
    """The unrelaxed models of sequence ``seq``; ``model_names`` are '<preset>_seed<seed>' names."""
    return [f"{WORK}/{seq}/predictions/{model}/unrelaxed.pdb" for model in model_names]


rule relax:
    input:
        # MODEL_NAMES (the '<preset>_seed<seed>' names of every prediction) comes from the predict rules.
        unrelaxed=lambda wildcards: unrelaxed_paths(wildcards.seq, MODEL_NAMES),
        ranking=f"{WORK}/{{seq}}/ranking.json",
    output:
        pdb=f"{WORK}/{{seq}}/relaxed/rank_{{rank}}.pdb",
        metrics=f"{WORK}/{{seq}}/relaxed/rank_{{rank}}.json",
    wildcard_constraints:
        rank=r"\d+",
    params:
        predictions=f"{WORK}/{{seq}}/predictions",
        settings=RELAX,
    log:
        f"{LOGS}/relax/{{seq}}_rank_{{rank}}.log",
    threads: stage_threads(config, "relax")
    resources:
        **stage_resources(config, "relax", length=sequence_length(SEQUENCES)),
    shell:
        "snakefold relax --ranking {input.ranking:q} --rank {wildcards.rank} --predictions {params.predictions:q}"
        " --output {output.pdb:q} --metrics {output.metrics:q} --platform {params.settings[platform]}"
        " --stiffness {params.settings[stiffness]} --tolerance {params.settings[tolerance]}"
        " --max-iterations {params.settings[max_iterations]}"
        " --max-outer-iterations {params.settings[max_outer_iterations]}"
        " --max-attempts {params.settings[max_attempts]} --threads {threads} 2> {log:q}"
