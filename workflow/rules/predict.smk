"""Predict: every model run (preset x seed) of each distinct sequence or complex.

    predict   one job per sequence {seq} and model run <preset>_seed<seed> (snakefold predict): from the raw
              features, {work}/{seq}/predictions/<model>/unrelaxed.pdb, scores.json and outputs.npz

The runs are ranked where a ranking is used, by the relax and report jobs, from their scores.json
(model.rank_by; snakefold/common/ranking.py).

Model runs: every preset of model.presets with the seeds random_seed .. random_seed + num_seeds - 1
(snakefold/plan/model.py). A complex ({seq} its key: its work directory) runs model.multimer_presets on its
merged features, num_seeds predictions per preset seeded as AlphaFold2's run_alphafold.py seeds them, with
model.multimer_num_recycle recycles at most (early stop at model.multimer_recycle_early_stop_tolerance);
its runs are ranked by 0.8 ipTM + 0.2 pTM. The parameter files are checked when the DAG first needs a prediction, still
before any job runs: the file of every preset must be present and intact in model.params_dir (null: where
`snakemake download` installs them). A run that predicts nothing (intake, MSAs, templates or features
alone, say while the parameters are still downloading) needs no parameters.

Compilation: a predict job compiles one recycling iteration for its preset, length bucket
(model.length_buckets) and MSA depth bucket through JAX's persistent compilation cache
(model.compilation_cache_dir, default {cache}/jax), which every predict job shares: the first job of a
preset and buckets compiles, every later one, in this run or a later one, loads the compiled program.
On a cluster the cache must be on a file system the GPU nodes share (as cache_dir is).

Grouped predictions (resources.group_small_predictions.max_length > 0; snakefold/plan/predict_groups.py):

    predict_group  one job per group of model runs of one preset, seed and length bucket: one
                   `snakefold predict --keep-going` process predicts them all into the group's directory
                   (parameters loaded and the model compiled or loaded once); the members' predict jobs
                   then copy their run from there (--from-run), or predict it alone where the group failed it
"""

from snakefold.plan.resources import grouped_resources, stage_group, stage_resources, stage_threads


rule predict_group:
    input:
        unpack(PLAN.predict.groups.group_inputs),
    output:
        directory(PLAN.predict.groups.directory("{group}")),
    log:
        PLAN.layout.log("predict", "_groups/{group}"),
    benchmark:
        PLAN.layout.benchmark("predict", "_groups/{group}")
    wildcard_constraints:
        group=PLAN.predict.groups.group_wildcard(),
    group:
        stage_group(config, "predict", length=PLAN.predict.groups.longest)
    conda:
        f"../../envs/{PLAN.predict.environment}"
    threads: stage_threads(config, "predict")
    resources:
        **grouped_resources(config, "predict", lengths=PLAN.predict.groups.group_lengths),
    params:
        preset=PLAN.predict.groups.group_preset,
        seed=PLAN.predict.groups.group_seed,
        out_dirs=PLAN.predict.groups.member_runs,
        options=PLAN.predict.groups.group_options,
    shell:
        "mkdir -p {output:q} && snakefold predict --keep-going --features {input.features:q} --preset {params.preset}"
        " --params {input.params:q} --seed {params.seed} {params.options:q} --out-dir {params.out_dirs:q} 2> {log:q}"


rule predict:
    input:
        unpack(PLAN.predict.inputs),
        group=ancient(PLAN.predict.groups.group_input),
    output:
        pdb=f"{PLAN.layout.prediction_dir('{seq}', '{preset}_seed{seed}')}/unrelaxed.pdb",
        scores=f"{PLAN.layout.prediction_dir('{seq}', '{preset}_seed{seed}')}/scores.json",
        outputs=f"{PLAN.layout.prediction_dir('{seq}', '{preset}_seed{seed}')}/outputs.npz",
    log:
        PLAN.layout.log("predict", "{seq}/{preset}_seed{seed}"),
    benchmark:
        PLAN.layout.benchmark("predict", "{seq}/{preset}_seed{seed}")
    wildcard_constraints:
        preset=PLAN.predict.preset_wildcard(),
        seed=r"\d+",
    group:
        stage_group(config, "predict", length=PLAN.predict.sequence_length)
    conda:
        f"../../envs/{PLAN.predict.environment}"
    threads: stage_threads(config, "predict")
    resources:
        **stage_resources(config, "predict", length=PLAN.predict.sequence_length),
    params:
        out_dir=PLAN.layout.prediction_dir("{seq}", "{preset}_seed{seed}"),
        options=PLAN.predict.options,
    shell:
        "snakefold predict --features {input.features:q} --preset {wildcards.preset} --params {input.params:q}"
        " --seed {wildcards.seed} {params.options:q} --out-dir {params.out_dir:q} 2> {log:q}"
