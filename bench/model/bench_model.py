"""Benchmark: feature processing, compile time and time per recycling iteration of one model preset.

    .venv/bin/python bench/model/bench_model.py [--preset model_1_ptm] [--lengths 16,64,128] \
        [--num-msa 700] [--num-recycle 1] [--params params_model_1_ptm.npz]

For each length L: synthetic raw features (:mod:`snakefold.features.synthetic`: an MSA of ``--num-msa``
sequences, two templates for the template presets), processed as the preset processes them (fixed
sizes: 508/512 clusters, 5120 or 1024 extra sequences; the residue dimension padded to its bucket), then
``--num-recycle`` + 1 iterations of the model, compiled once. Parameters come from ``--params`` or are
initialised at random (zero_init off: every layer random). Reported per length: feature processing time,
compile time, the time of each iteration, peak resident memory, and whether every output is finite.
Results go to bench/model/results.json (one record per run, with the machine's load average) and are
printed as a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import time
from pathlib import Path

import jax
import numpy as np

from snakefold.common.atomic import atomic_write_json
from snakefold.features.synthetic import synthetic_raw_features
from snakefold.model.feature_processing import process_features
from snakefold.model.model import flatten_result, initial_prev, jitted_apply, recycling_slices
from snakefold.model.params import init_params, load_params
from snakefold.model.presets import model_config

RESULTS = Path(__file__).with_name("results.json")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_length(config, params, num_res: int, num_msa: int, num_recycle: int, seed: int) -> dict:
    num_templates = 2 if config.features.use_templates else 0
    raw = synthetic_raw_features(num_res, num_msa, num_templates, seed)
    start = time.perf_counter()
    features = process_features(raw, config.features, num_recycle=num_recycle, seed=seed)
    processing = time.perf_counter() - start

    batches = recycling_slices(features, config, num_recycle)
    padded_res = batches[0]["aatype"].shape[0]
    prev = initial_prev(config, padded_res)
    start = time.perf_counter()
    compiled = jitted_apply(config).lower(params, None, batches[0], prev).compile()
    compile_time = time.perf_counter() - start

    iterations = []
    result = {}
    for batch in batches:
        start = time.perf_counter()
        result, prev = compiled(params, None, batch, prev)
        jax.block_until_ready((result, prev))
        iterations.append(time.perf_counter() - start)
    flat = flatten_result(jax.device_get(result))
    return {
        "num_res": num_res, "padded_res": padded_res, "num_msa": num_msa, "num_recycle": num_recycle,
        "feature_processing_s": round(processing, 3), "compile_s": round(compile_time, 2),
        "iteration_s": [round(t, 2) for t in iterations], "peak_rss_mb": round(peak_rss_mb()),
        "all_finite": bool(all(np.all(np.isfinite(value)) for value in flat.values())),
        "mean_plddt": float(np.mean(flat["plddt"][:num_res])) if "plddt" in flat else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="model_1_ptm")
    parser.add_argument("--lengths", default="16,64,128")
    parser.add_argument("--num-msa", type=int, default=700)
    parser.add_argument("--num-recycle", type=int, default=1)
    parser.add_argument("--params", help="official-format parameter file (default: random)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = model_config(args.preset)
    start = time.perf_counter()
    if args.params:
        params = load_params(args.params, config)
        source = args.params
    else:
        random_config = config.replace(global_config=dataclasses.replace(config.global_config, zero_init=False))
        params = init_params(random_config, args.seed)
        source = f"random (seed {args.seed}, zero_init off)"
    params = jax.device_put(params)
    params_s = time.perf_counter() - start

    runs = [bench_length(config, params, int(length), args.num_msa, args.num_recycle, args.seed)
            for length in args.lengths.split(",")]
    record = {
        "preset": args.preset, "params": source, "params_s": round(params_s, 1),
        "backend": jax.default_backend(), "devices": [str(device) for device in jax.devices()],
        "jax": jax.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M"), "runs": runs,
    }
    history = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    history.append(record)
    atomic_write_json(RESULTS, history)

    print(f"{args.preset} on {record['backend']} ({record['cpus']} CPUs, load {record['load_average'][0]:.1f}); "
          f"parameters: {source} in {params_s:.0f} s")
    print(f"{'L':>5} {'padded':>6} {'features s':>10} {'compile s':>9} {'iterations s':>20} {'peak MB':>8} finite")
    for run in runs:
        iterations = " ".join(f"{t:.1f}" for t in run["iteration_s"])
        print(f"{run['num_res']:>5} {run['padded_res']:>6} {run['feature_processing_s']:>10.2f} "
              f"{run['compile_s']:>9.1f} {iterations:>20} {run['peak_rss_mb']:>8} {run['all_finite']}")


if __name__ == "__main__":
    main()
