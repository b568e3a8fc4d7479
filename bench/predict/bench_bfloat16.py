"""bfloat16 trunk against float32 on this machine's CPU: time per recycling iteration and CA deviation.

    nice .venv/bin/python bench/predict/bench_bfloat16.py [--lengths 128,256] [--msa-depth 1024] \
        [--preset model_1_ptm] [--num-recycle 0] [--evoformer-blocks 48] [--order float32,bfloat16]

For each length: one random sequence with a deep precomputed MSA (``--msa-depth`` rows, so every one of the
preset's 508 cluster rows is real: the Evoformer's full work), made into raw features as
:mod:`bench.predict.bench_breakdown` makes them; random full-architecture parameters in the official format
(``snakefold make-params``). In one process, float32 and bfloat16 (``snakefold predict --bfloat16``:
``GlobalConfig.bfloat16``, bfloat16 activations in the Evoformer and extra-MSA stacks) run the same
features with the same seed, in ``--order``, timed over ``--num-recycle`` + 1 iterations (``predict_s``,
which leaves out compiling). Printed per length: seconds per iteration of each, the
speed-up (float32 / bfloat16) and the CA deviation of the bfloat16 structure from the float32 one (mean and
max over residues, Angstrom, no superposition: same frame), pLDDT difference; with the load average.

``--evoformer-blocks`` < 48 keeps only the first Evoformer blocks (the stacked parameters sliced), for a
quicker measure of the per-block ratio; the CA deviation is then that of a shorter network. Each run is
appended to ``results.json`` beside this script.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.predict.bench_breakdown import CACHE, RESULTS, ensure_params, make_targets
from snakefold.common import residue_constants as rc
from snakefold.common.atomic import atomic_write_json
from snakefold.features.raw import load_features
from snakefold.model.inference import Predictor
from snakefold.model.params import load_params
from snakefold.model.presets import model_config

EVOFORMER_STACK = "alphafold/alphafold_iteration/evoformer/evoformer_iteration"


def shortened(config, params, blocks: int):
    """The configuration and parameters with only the first ``blocks`` Evoformer blocks."""
    trunk = dataclasses.replace(config.embeddings_and_evoformer, evoformer_num_block=blocks)
    params = {scope: ({name: array[:blocks] for name, array in arrays.items()}
                      if scope.startswith(EVOFORMER_STACK) else arrays) for scope, arrays in params.items()}
    return config.replace(embeddings_and_evoformer=trunk), params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="model_1_ptm")
    parser.add_argument("--lengths", default="128,256")
    parser.add_argument("--msa-depth", type=int, default=1024)
    parser.add_argument("--num-recycle", type=int, default=0)
    parser.add_argument("--evoformer-blocks", type=int, default=48)
    parser.add_argument("--order", default="float32,bfloat16")
    parser.add_argument("--params-dir", type=Path, default=CACHE / "params")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(f"/tmp/bench-bfloat16-{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    args.params_dir.mkdir(parents=True, exist_ok=True)
    params_file = ensure_params(args.params_dir, args.preset, "full")
    config = model_config(args.preset)
    params = load_params(params_file, config)
    if args.evoformer_blocks < config.embeddings_and_evoformer.evoformer_num_block:
        config, params = shortened(config, params, args.evoformer_blocks)

    records = []
    for length in (int(word) for word in args.lengths.split(",")):
        (features_path,) = make_targets(work / f"L{length}", [length], args.msa_depth, seed=length)
        raw = {key: value for key, value in load_features(features_path).items() if value.dtype.kind not in "SU"}
        runs = {}
        for precision in args.order.split(","):
            predictor = Predictor(config, params, length_buckets=(), bfloat16=precision == "bfloat16")
            load_before = os.getloadavg()[0]
            prediction = predictor.predict(raw, 0, args.num_recycle)
            runs[precision] = {"prediction": prediction, "load": (load_before, os.getloadavg()[0])}
            print(f"L={length} {precision}: {prediction.timings['predict_s'] / (prediction.num_recycles + 1):.1f} s "
                  f"per iteration, load {load_before:.2f}/{os.getloadavg()[0]:.2f}", file=sys.stderr)
        full, low = runs["float32"]["prediction"], runs["bfloat16"]["prediction"]
        ca = rc.atom_order["CA"]
        deviation = np.linalg.norm(full.outputs["structure_module/final_atom_positions"][:, ca]
                                   - low.outputs["structure_module/final_atom_positions"][:, ca], axis=-1)
        per_iteration = {name: run["prediction"].timings["predict_s"] / (run["prediction"].num_recycles + 1)
                         for name, run in runs.items()}
        records.append({
            "length": length, "msa_depth": args.msa_depth, "evoformer_blocks": args.evoformer_blocks,
            "num_recycle": args.num_recycle, "seconds_per_iteration": per_iteration,
            "speed_up": per_iteration["float32"] / per_iteration["bfloat16"],
            "ca_deviation_mean": float(deviation.mean()), "ca_deviation_max": float(deviation.max()),
            "plddt_max_difference": float(np.abs(full.outputs["plddt"] - low.outputs["plddt"]).max()),
            "load": {name: run["load"] for name, run in runs.items()}})

    print(f"{args.preset}, MSA depth {args.msa_depth}, {args.evoformer_blocks} Evoformer blocks, "
          f"{args.num_recycle + 1} timed iteration(s)")
    print("| L | float32 s/iteration | bfloat16 s/iteration | speed-up | mean CA dev A | max CA dev A "
          "| max pLDDT diff | load f32 | load bf16 |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for record in records:
        times, load = record["seconds_per_iteration"], record["load"]
        print(f"| {record['length']} | {times['float32']:.1f} | {times['bfloat16']:.1f} | {record['speed_up']:.2f} | "
              f"{record['ca_deviation_mean']:.3f} | {record['ca_deviation_max']:.3f} | "
              f"{record['plddt_max_difference']:.2f} | {load['float32'][0]:.1f}/{load['float32'][1]:.1f} | "
              f"{load['bfloat16'][0]:.1f}/{load['bfloat16'][1]:.1f} |")
    results = RESULTS.with_name("results_bfloat16.json")
    previous = json.loads(results.read_text()) if results.exists() else []
    atomic_write_json(results, [*previous, {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                            "preset": args.preset, "cpus": os.cpu_count(), "records": records}])
    return 0


if __name__ == "__main__":
    sys.exit(main())
