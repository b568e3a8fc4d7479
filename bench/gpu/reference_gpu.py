"""The reference implementation's side of the GPU bench: one length, one precision, timed on a quiet card.

    <reference python> bench/gpu/reference_gpu.py --raw RAW.npz --params-dir DIR --precision float32 \
        --ready READY --go GO --record RUN.json [--preset model_1_ptm] [--num-recycle 3] [--deadline EPOCH_S]

Runs in the reference's environment (the PyPI package ``alphafold-colabfold``, carried as wheels to the GPU
machine) and imports nothing of snakefold. It prepares the reference's processed features from the raw
ones (its fixed sizes: 508 MSA clusters, 5120 extra rows), waits for the parameter file, runs ``predict``
once to compile (this release compiles twice in float32: the first iteration gets its zero recycled values
as float16), writes READY and waits for GO, so that the timed ``predict`` runs while nothing else uses the
card. Configuration as bench/compare/reference_runner.py: unfused weights, no early stop, one ensemble
member, its fused kernels off (``use_pallas`` False, the package's default); ``--precision bfloat16``
turns on the package's bfloat16 trunk (its default configuration), ``float32`` turns it off.

Recorded: the time of each recycling iteration of the timed run (the package fetches each iteration's
small outputs to the host, so each interval ends when the iteration has finished on the card), compile
and load times, and the card's peak memory in this process (``memory_stats()['peak_bytes_in_use']``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np
from alphafold.model import data as af_data
from alphafold.model import model as af_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compare"))
from reference_runner import reference_config, write_atomically  # noqa: E402


def wait_for(path: Path, deadline: float) -> None:
    while not path.exists():
        if time.time() > deadline:
            raise TimeoutError(f"{path} did not appear before the deadline")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", required=True)
    parser.add_argument("--params-dir", required=True, help="directory holding params/params_<preset>.npz")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), required=True)
    parser.add_argument("--preset", default="model_1_ptm")
    parser.add_argument("--num-recycle", type=int, default=3)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--go", type=Path, required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--deadline", type=float, default=time.time() + 3600, help="seconds since the epoch")
    args = parser.parse_args()

    record: dict = {"implementation": "reference", "package": "alphafold-colabfold", "jax": jax.__version__,
                    "device_kind": jax.devices()[0].device_kind, "precision": args.precision,
                    "preset": args.preset, "num_recycle": args.num_recycle}
    config = reference_config(args.preset, args.num_recycle)
    config.model.global_config.bfloat16 = args.precision == "bfloat16"
    if args.precision == "float32":
        af_model._cast_result = lambda result: result  # outputs and recycled values stay float32

    with np.load(args.raw, allow_pickle=False) as archive:
        raw = {key: archive[key] for key in archive.files}
    raw["template_domain_names"] = np.array(
        [f"template{index}".encode() for index in range(raw["template_aatype"].shape[0])], dtype=object)
    start = time.perf_counter()
    features = af_model.RunModel(config, params={}).process_features(raw, random_seed=0)
    record["feature_processing_s"] = round(time.perf_counter() - start, 2)
    record["length"] = int(features["aatype"].shape[1])
    record["shapes"] = {key: list(features[key].shape) for key in ("msa_feat", "extra_msa", "template_aatype")}

    params_file = Path(args.params_dir) / "params" / f"params_{args.preset}.npz"
    wait_for(params_file, args.deadline)
    start = time.perf_counter()
    runner = af_model.RunModel(config, af_data.get_model_haiku_params(args.preset, args.params_dir, fuse=False))
    record["params_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    runner.predict(features, random_seed=0)
    record["first_predict_s"] = round(time.perf_counter() - start, 2)  # compiles, then runs
    args.ready.write_text("ready\n")
    wait_for(args.go, args.deadline)

    stamps: list[float] = []
    start = time.perf_counter()
    _, last_iteration = runner.predict(features, random_seed=0, callback=lambda *_: stamps.append(time.perf_counter()))
    iterations = [later - earlier for earlier, later in zip([start] + stamps[:-1], stamps)]
    stats = jax.devices()[0].memory_stats() or {}
    record.update(iterations_run=last_iteration + 1, iteration_s=[round(seconds, 4) for seconds in iterations],
                  time_per_recycle_s=float(np.median(iterations)), predict_s=round(time.perf_counter() - start, 3),
                  peak_bytes_in_use=stats.get("peak_bytes_in_use"), bytes_limit=stats.get("bytes_limit"))
    write_atomically(args.record, lambda handle: handle.write((json.dumps(record, indent=1) + "\n").encode()))
    print(json.dumps({key: record[key] for key in ("length", "precision", "time_per_recycle_s", "peak_bytes_in_use")}))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
