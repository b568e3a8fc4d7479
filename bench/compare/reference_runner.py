"""The reference side of the comparison: runs in the reference implementation's own environment.

    <reference python> bench/compare/reference_runner.py prepare --raw RAW.npz --preset model_1_ptm \
        --num-recycle 1 --seed 0 --features FEATURES.npz
    <reference python> bench/compare/reference_runner.py predict --features FEATURES.npz \
        --preset model_1_ptm --num-recycle 1 --seed 0 --params-dir DIR --outputs OUT.npz --record RUN.json

This script imports the reference implementation (``alphafold``, from the PyPI package
``alphafold-colabfold``) and nothing of snakefold: the interpreter that runs it is the reference's
environment (``bench/compare/setup_reference.sh``), never snakefold's.

``prepare`` turns raw features into the reference's processed features (fixed sizes: 508 or 512 MSA
clusters, 5120 or 1024 extra-MSA rows, ``num_recycle + 1`` recycling slices), the exact input both
implementations then run on. ``predict`` runs the reference model on them as the comparison wants it:
float32 throughout (bfloat16 off, and the float16 cast of outputs that this release applies is turned off
so that outputs and recycled values stay float32), unfused triangle-multiplication weights, exactly
``num_recycle + 1`` iterations (no early stop), one ensemble member. It records the wall time of
``predict`` and, from JAX's own compile events, the part of it spent tracing, lowering and compiling;
the run time is the difference. In float32 mode this release compiles twice: the first iteration
receives its zero recycled inputs as float16, the later ones float32 values.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import jax
import numpy as np
from alphafold.model import config as af_config
from alphafold.model import data as af_data
from alphafold.model import model as af_model

#: JAX's compile events: tracing to a jaxpr, lowering to an MLIR module, XLA compilation (or cache load).
COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)

#: Outputs written for the comparison (flattened result names).
OUTPUT_KEYS = (
    "structure_module/final_atom_positions", "structure_module/final_atom_mask", "plddt",
    "predicted_lddt/logits", "distogram/logits", "masked_msa/logits", "experimentally_resolved/logits",
    "predicted_aligned_error", "ptm", "max_predicted_aligned_error", "representations/pair",
    "representations/single",
)


def write_atomically(path: str, write) -> None:
    """``write(handle)`` into a temporary file beside ``path``, renamed to ``path`` once complete, so that an
    interrupted run never leaves a partial file that a later run would take for a finished one (snakefold's
    own helpers are not importable here)."""
    temporary = f"{path}.partial-{os.getpid()}"
    try:
        with open(temporary, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def reference_config(preset: str, num_recycle: int):
    """The reference configuration for the comparison (float32, unfused, no early stop, deterministic)."""
    config = af_config.model_config(preset)
    config.data.common.num_recycle = num_recycle
    config.data.eval.num_ensemble = 1
    config.model.num_recycle = num_recycle
    config.model.global_config.bfloat16 = False
    config.model.global_config.deterministic = True
    config.model.global_config.eval_dropout = False
    config.model.stop_at_score = 1e9
    config.model.recycle_early_stop_tolerance = -1.0
    _unfuse(config.model)
    return config


def _unfuse(node) -> None:
    for key in list(node.keys()):
        if key == "fuse_projection_weights":
            node[key] = False
        elif hasattr(node[key], "keys"):
            _unfuse(node[key])


def flatten(tree, prefix: str = "") -> dict[str, np.ndarray]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        else:
            array = np.asarray(value)
            if array.dtype != object:
                flat[f"{prefix}{key}"] = array
    return flat


def prepare(args: argparse.Namespace) -> None:
    with np.load(args.raw, allow_pickle=False) as archive:
        raw = {key: archive[key] for key in archive.files}
    if "template_aatype" in raw:  # the reference counts templates by their names
        raw["template_domain_names"] = np.array(
            [f"template{index}".encode() for index in range(raw["template_aatype"].shape[0])], dtype=object)
    runner = af_model.RunModel(reference_config(args.preset, args.num_recycle), params={})
    start = time.perf_counter()
    features = runner.process_features(raw, random_seed=args.seed)
    elapsed = time.perf_counter() - start
    write_atomically(args.features, lambda handle: np.savez_compressed(handle, **features))
    print(json.dumps({"feature_processing_s": round(elapsed, 2),
                      "shapes": {key: list(value.shape) for key, value in features.items()}}))


def predict(args: argparse.Namespace) -> None:
    compile_seconds: list[tuple[str, float]] = []

    def on_duration(event: str, duration: float, **_) -> None:
        if event in COMPILE_EVENTS:
            compile_seconds.append((event, duration))

    jax.monitoring.register_event_duration_secs_listener(on_duration)
    af_model._cast_result = lambda result: result  # keep outputs and recycled values float32

    start = time.perf_counter()
    params = af_data.get_model_haiku_params(args.preset, args.params_dir, fuse=False)
    params_s = time.perf_counter() - start
    with np.load(args.features, allow_pickle=False) as archive:
        features = {key: archive[key] for key in archive.files}
    runner = af_model.RunModel(reference_config(args.preset, args.num_recycle), params)

    stamps = []
    start = time.perf_counter()
    result, last_iteration = runner.predict(features, random_seed=args.seed, return_representations=True,
                                            callback=lambda *_: stamps.append(time.perf_counter()))
    predict_s = time.perf_counter() - start
    compile_s = sum(duration for _, duration in compile_seconds)
    iterations = [later - earlier for earlier, later in zip([start] + stamps[:-1], stamps)]

    outputs = flatten(jax.device_get(result))
    write_atomically(args.outputs, lambda handle: np.savez_compressed(
        handle, **{key: outputs[key] for key in OUTPUT_KEYS if key in outputs}))
    record = {
        "implementation": "reference", "package": "alphafold-colabfold", "jax": jax.__version__,
        "backend": jax.default_backend(), "device_kind": jax.devices()[0].device_kind,
        "preset": args.preset, "num_recycle": args.num_recycle, "iterations_run": last_iteration + 1,
        "params_s": round(params_s, 2), "predict_s": round(predict_s, 2), "compile_s": round(compile_s, 2),
        "run_s": round(predict_s - compile_s, 2), "num_compiles": sum(
            1 for event, _ in compile_seconds if event == COMPILE_EVENTS[-1]),
        "iteration_s_with_compile": [round(seconds, 2) for seconds in iterations],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0),
        "shapes": {key: list(value.shape) for key, value in features.items() if key in (
            "msa_feat", "extra_msa", "template_aatype")},
    }
    write_atomically(args.record, lambda handle: handle.write((json.dumps(record, indent=1) + "\n").encode()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("prepare", "predict"):
        command = commands.add_parser(name)
        command.add_argument("--preset", required=True)
        command.add_argument("--num-recycle", type=int, required=True)
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--features", required=True)
    commands.choices["prepare"].add_argument("--raw", required=True)
    commands.choices["predict"].add_argument("--params-dir", required=True,
                                             help="directory holding params/params_<preset>.npz")
    commands.choices["predict"].add_argument("--outputs", required=True)
    commands.choices["predict"].add_argument("--record", required=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    prepare(args) if args.command == "prepare" else predict(args)


if __name__ == "__main__":
    main()
