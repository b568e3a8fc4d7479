"""The snakefold side of the comparison: one model run on the reference's processed features, in its own process.

    .venv/bin/python bench/compare/snakefold_runner.py compile --features FEATURES.npz --preset model_1_ptm \
        --num-recycle 1 --cache-dir DIR --record COMPILE.json
    .venv/bin/python bench/compare/snakefold_runner.py run --features FEATURES.npz --preset model_1_ptm \
        --num-recycle 1 --params PARAMS.npz --cache-dir DIR --outputs OUT.npz --record RUN.json

Both read the features the reference processed (fixed sizes: 508 or 512 clusters, 5120 or 1024 extra-MSA
rows) and go through snakefold's model-run path: :func:`snakefold.model.model.recycling_slices` (which
drops the padding rows down to a row bucket), :func:`~snakefold.model.model.compile_iteration` and
:func:`~snakefold.model.model.recycle`.

``compile`` compiles one recycling iteration for those shapes into JAX's persistent compilation cache
(``--cache-dir``) and records the compile time, XLA's memory analysis and the process's peak memory: what
the first target of a shape bucket pays, once for all later targets and jobs. ``run`` is a later job: it
loads the parameters (one copy, moved to the device array by array), loads the compiled iteration from the
cache, runs ``num_recycle + 1`` iterations and records their wall time and the process's peak memory. On a
GPU the peak is the device's (``peak_bytes_in_use``) as well as the host's.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

import jax
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from snakefold.common.atomic import atomic_save_npz, atomic_write_json  # noqa: E402
from snakefold.model.inference import CompilationCounter, enable_compilation_cache  # noqa: E402
from snakefold.model.model import (  # noqa: E402
    compile_iteration,
    flatten_result,
    initial_prev,
    jitted_apply,
    recycle,
    recycling_slices,
)
from snakefold.model.params import flat_to_haiku, param_shapes  # noqa: E402
from snakefold.model.presets import model_config  # noqa: E402

#: Outputs written for the comparison (flattened result names).
OUTPUT_KEYS = (
    "structure_module/final_atom_positions", "structure_module/final_atom_mask", "plddt",
    "predicted_lddt/logits", "distogram/logits", "masked_msa/logits", "experimentally_resolved/logits",
    "predicted_aligned_error", "ptm", "max_predicted_aligned_error", "representations/pair",
    "representations/msa_first_row",
)


def configure(args: argparse.Namespace):
    config = model_config(args.preset)
    if args.bfloat16:
        config = config.replace(global_config=dataclasses.replace(config.global_config, bfloat16=True))
    return config


def load_features(path: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def load_params_on_device(path: str) -> dict:
    """Official-format parameters as device arrays, read and moved one array at a time (one copy in memory)."""
    params: dict = {}
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            scope, _, name = key.rpartition("//")
            params.setdefault(scope, {})[name] = jax.device_put(archive[key])
    return params


def peak_memory() -> dict:
    peaks = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)}
    stats = jax.devices()[0].memory_stats() if jax.default_backend() != "cpu" else None
    if stats and "peak_bytes_in_use" in stats:
        peaks["device_peak_mb"] = round(stats["peak_bytes_in_use"] / 2 ** 20)
    return peaks


def compile_only(args: argparse.Namespace) -> None:
    config = configure(args)
    batches = recycling_slices(load_features(args.features), config, args.num_recycle)
    params = jax.tree_util.tree_map(lambda shape: jax.ShapeDtypeStruct(shape, np.float32),
                                    flat_to_haiku(param_shapes(config)), is_leaf=lambda x: isinstance(x, tuple))
    prev = initial_prev(config, batches[0]["aatype"].shape[0])
    with CompilationCounter() as counter:
        start = time.perf_counter()
        lowered = jitted_apply(config).lower(params, None, batches[0], prev)
        lowered_s = time.perf_counter() - start
        compiled = lowered.compile()
        compile_s = time.perf_counter() - start
    memory = compiled.memory_analysis()
    record = {
        "implementation": "snakefold", "phase": "compile", "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind, "preset": args.preset, "bfloat16": args.bfloat16,
        "trace_and_lower_s": round(lowered_s, 2), "compile_s": round(compile_s, 2),
        "compilations": counter.compilations, "cache_hits": counter.cache_hits,
        "shapes": {key: list(batches[0][key].shape) for key in ("msa_feat", "extra_msa", "template_aatype")
                   if key in batches[0]},
        "memory_analysis_mb": {
            "arguments": round(memory.argument_size_in_bytes / 2 ** 20),
            "outputs": round(memory.output_size_in_bytes / 2 ** 20),
            "temporaries": round(memory.temp_size_in_bytes / 2 ** 20),
        },
        **peak_memory(),
    }
    atomic_write_json(args.record, record)


def run(args: argparse.Namespace) -> None:
    config = configure(args)
    start = time.perf_counter()
    params = load_params_on_device(args.params)
    params_s = time.perf_counter() - start
    features = load_features(args.features)
    batches = recycling_slices(features, config, args.num_recycle)
    with CompilationCounter() as counter:
        start = time.perf_counter()
        step = compile_iteration(config, params, batches[0])
        compile_s = time.perf_counter() - start

    iteration_s = []

    def timed_step(batch, prev):
        started = time.perf_counter()
        result, prev = jax.block_until_ready(step(batch, prev))
        iteration_s.append(time.perf_counter() - started)
        return result, prev

    start = time.perf_counter()
    result, num_recycles = recycle(timed_step, batches, initial_prev(config, batches[0]["aatype"].shape[0]))
    outputs = flatten_result(jax.device_get(result))
    run_s = time.perf_counter() - start
    atomic_save_npz(args.outputs, {key: outputs[key] for key in OUTPUT_KEYS if key in outputs})
    record = {
        "implementation": "snakefold", "phase": "run", "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind, "preset": args.preset, "bfloat16": args.bfloat16,
        "num_recycle": args.num_recycle, "iterations_run": num_recycles + 1, "params_s": round(params_s, 2),
        "compile_s": round(compile_s, 2), "compilations": counter.compilations, "cache_hits": counter.cache_hits,
        "run_s": round(run_s, 2), "iteration_s": [round(seconds, 2) for seconds in iteration_s],
        "shapes": {key: list(batches[0][key].shape) for key in ("msa_feat", "extra_msa", "template_aatype")
                   if key in batches[0]},
        **peak_memory(),
    }
    atomic_write_json(args.record, record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("compile", "run"):
        command = commands.add_parser(name)
        command.add_argument("--features", required=True, help="the reference's processed features (.npz)")
        command.add_argument("--preset", required=True)
        command.add_argument("--num-recycle", type=int, required=True)
        command.add_argument("--cache-dir", required=True, help="JAX persistent compilation cache directory")
        command.add_argument("--record", required=True)
        command.add_argument("--bfloat16", action="store_true", help="bfloat16 trunk activations")
    commands.choices["run"].add_argument("--params", required=True, help="params_<preset>.npz (official format)")
    commands.choices["run"].add_argument("--outputs", required=True)
    args = parser.parse_args()
    enable_compilation_cache(args.cache_dir)
    compile_only(args) if args.command == "compile" else run(args)


if __name__ == "__main__":
    main()
