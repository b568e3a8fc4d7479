"""The snakefold side of the multimer parity bench: one AlphaFold-Multimer run in its own process, timed.

    .venv/bin/python bench/multimer/snakefold_runner.py --preset model_1_multimer_v3 --params PARAMS.npz \
        --features MERGED_feat.npz --num-recycle R --seed S --out OUT.npz --record RUN.json [--bfloat16]

The same steps as ``snakefold model-run --preset model_1_multimer_v3`` (:mod:`snakefold.cli.model_run`):
parameters checked against the preset's module tree, the merged complex features as the reference's
pipeline wrote them, exactly ``R`` recycles (no early stop), the model's random seed, outputs written by
:func:`snakefold.model.multimer.model.multimer_outputs`; in addition the record holds the compile and predict
times. ``--bfloat16`` sets the preset's ``global_config.bfloat16`` (trunk in bfloat16, structure module and
heads in float32), which the command line does not expose.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

import jax

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from snakefold.cli.model_run import load_processed_features
from snakefold.common.atomic import atomic_save_npz, atomic_write_json
from snakefold.model.multimer.model import multimer_outputs, multimer_param_shapes, run_multimer
from snakefold.model.multimer.presets import multimer_config
from snakefold.model.params import check_params, load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="model_1_multimer_v3")
    parser.add_argument("--params", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--num-recycle", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--bfloat16", action="store_true")
    args = parser.parse_args()

    config = multimer_config(args.preset)
    if args.bfloat16:
        config = config.replace(global_config=dataclasses.replace(config.global_config, bfloat16=True))
    start = time.perf_counter()
    params = load_params(args.params)
    check_params(params, config, source=f"parameter file {args.params}", expected=multimer_param_shapes(config))
    features = load_processed_features(args.features)
    load_s = time.perf_counter() - start
    timings: dict[str, float] = {}
    result = run_multimer(config, params, features, seed=args.seed, num_recycle=args.num_recycle,
                          early_stop_tolerance=-1.0, timings=timings)
    atomic_save_npz(args.out, multimer_outputs(result))
    atomic_write_json(args.record, {
        "preset": args.preset, "bfloat16": args.bfloat16, "num_recycle": args.num_recycle, "seed": args.seed,
        "num_res": int(result["structure_module"]["final_atom_positions"].shape[0]),
        "num_recycles_run": int(result["num_recycles"]), "load_s": round(load_s, 2),
        "compile_s": round(timings["compile_s"], 2), "predict_s": round(timings["predict_s"], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0),
        "backend": jax.default_backend(), "jax": jax.__version__,
    })


if __name__ == "__main__":
    main()
