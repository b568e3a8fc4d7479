"""Predict: every model run (preset x seed) of each distinct sequence, then their ranking.

    predict   one job per sequence {seq} and model run <preset>_seed<seed> (snakefold predict): from the raw
              features, {WORK}/{seq}/predictions/<model>/unrelaxed.pdb, scores.json and outputs.npz
    rank      one job per sequence (snakefold rank): {WORK}/{seq}/ranking.json, best first by model.rank_by

Model runs: every preset of model.presets with the seeds random_seed .. random_seed + num_seeds - 1
(snakefold/plan/model.py). The model section's own problems go to CONFIG_PROBLEMS. The parameter
files are checked when the DAG first needs a prediction, still before any job runs: the file of every
preset must be present and intact in model.params_dir (null: where `snakemake download` installs them),
else the run stops listing every problem with its config key. A run that predicts nothing (intake, MSAs,
templates or features alone, say while the parameters are still downloading) needs no parameters.

Compilation: a predict job compiles one recycling iteration for its preset, length bucket
(model.length_buckets) and MSA depth bucket through JAX's persistent compilation cache
(model.compilation_cache_dir, default {CACHE}/jax), which every predict job shares: the first job of a
preset and buckets compiles, every later one, in this run or a later one, loads the compiled program.
On a cluster the cache must be on a file system the GPU nodes share (as cache_dir is).

For the other rule files:
    MODEL_NAMES   the '<preset>_seed<seed>' name of every model run, in config order
"""

import functools
import re

from snakefold.model.param_sets import configured_params_dir, params_path
from snakefold.plan.model import config_problems, model_runs, params_problems

MODEL = config["model"]
MODEL_NAMES = [run.name for run in model_runs(MODEL)]
PARAMS_DIR = configured_params_dir(config)
COMPILATION_CACHE = MODEL["compilation_cache_dir"] or f"{CACHE}/jax"
LENGTH_BUCKETS = ",".join(str(length) for length in sorted(MODEL["length_buckets"])) or "none"

CONFIG_PROBLEMS.extend(config_problems(config))


@functools.cache
def checked_params_dir():
    """PARAMS_DIR, once its parameter files are checked; stops the run listing every problem otherwise."""
    problems = params_problems(config)
    if problems:
        stop("\n".join(problems))
    return PARAMS_DIR


def prediction_dir(seq, model):
    """The directory of model run ``model`` of sequence ``seq``."""
    return f"{WORK}/{seq}/predictions/{model}"


#: The predict rule's output directory, as a pattern of its wildcards.
PREDICTION_DIR = prediction_dir("{seq}", "{preset}_seed{seed}")


rule predict:
    input:
        features=lambda wildcards: features_path(wildcards.seq),
        params=lambda wildcards: str(params_path(checked_params_dir(), wildcards.preset)),
    output:
        pdb=f"{PREDICTION_DIR}/unrelaxed.pdb",
        scores=f"{PREDICTION_DIR}/scores.json",
        outputs=f"{PREDICTION_DIR}/outputs.npz",
    wildcard_constraints:
        preset="|".join(re.escape(preset) for preset in MODEL["presets"]),
        seed=r"\d+",
    params:
        out_dir=PREDICTION_DIR,
        num_recycle=MODEL["num_recycle"],
        tolerance=MODEL["recycle_early_stop_tolerance"],
        buckets=LENGTH_BUCKETS,
        cache=COMPILATION_CACHE,
        precision="--bfloat16" if MODEL["bfloat16"] else "",
    log:
        f"{LOGS}/predict/{{seq}}/{{preset}}_seed{{seed}}.log",
    benchmark:
        f"{LOGS}/benchmarks/predict/{{seq}}/{{preset}}_seed{{seed}}.tsv"
    threads: stage_threads(config, "predict")
    resources:
        **stage_resources(config, "predict", length=sequence_length(SEQUENCES)),
    group: stage_group(config, "predict", length=sequence_length(SEQUENCES))
    shell:
        "snakefold predict --features {input.features:q} --preset {wildcards.preset} --params {input.params:q}"
        " --seed {wildcards.seed} --num-recycle {params.num_recycle}"
        " --recycle-early-stop-tolerance {params.tolerance} --length-buckets {params.buckets}"
        " --compilation-cache-dir {params.cache:q} {params.precision} --out-dir {params.out_dir:q} 2> {log:q}"


rule rank:
    input:
        lambda wildcards: [f"{prediction_dir(wildcards.seq, model)}/scores.json" for model in MODEL_NAMES],
    output:
        f"{WORK}/{{seq}}/ranking.json",
    params:
        metric=MODEL["rank_by"],
    log:
        f"{LOGS}/rank/{{seq}}.log",
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "snakefold rank --metric {params.metric} --out {output:q} {input:q} > {log:q} 2>&1"
