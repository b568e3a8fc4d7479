"""FLOPs of one recycling iteration, and the fraction of an accelerator's bfloat16 peak the model reaches.

    .venv/bin/python bench/compare/flops.py --length 512 --depth 1024 [--preset model_1_ptm] [--bfloat16] \
        --workdir DIR --record OUT.json

XLA's cost analysis (``compiled.cost_analysis()['flops']``) counts the body of a loop once, and the model
runs nearly all its work in loops (the 48 Evoformer blocks are one scan, chunks are scans). So
:func:`count_flops` walks the program JAX traces, counting what XLA's cost analysis counts per operation (a
matrix product 2 x batch x M x N x K; an elementwise or reduction operation one per element) and
multiplying every scan body by its trip count. On a program without loops the two counts agree (see
bench/compare/README.md).

The main program builds synthetic features of ``--length`` residues and ``--depth`` MSA rows with
snakefold's own feature processing, compiles one recycling iteration, times it (best of three after a
warm-up) and writes the FLOPs, the time, TFLOP/s and, on a GPU whose kind is in :data:`BF16_PEAK_TFLOPS`,
the fraction of its dense bfloat16 peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np
from jax.extend import core as jax_core

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

#: Dense bfloat16 tensor-core peak (TFLOP/s, no sparsity) by a substring of JAX's device_kind, from the
#: vendors' data sheets (SXM parts unless named).
BF16_PEAK_TFLOPS = {
    "B200": 2250.0, "H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "GH200": 989.0, "A100": 312.0,
    "L40S": 362.0, "L40": 181.0, "A10G": 70.0, "A10": 125.0, "L4": 121.0, "RTX 4090": 165.0, "A6000": 155.0,
}

_ELEMENTWISE = {
    "add", "sub", "mul", "div", "max", "min", "neg", "exp", "exp2", "log", "log1p", "tanh", "logistic", "rsqrt",
    "sqrt", "pow", "integer_pow", "abs", "sign", "sin", "cos", "atan2", "square", "erf", "select_n", "rem",
}
_REDUCTIONS = {"reduce_sum", "reduce_max", "reduce_min", "argmax", "argmin", "cumsum", "reduce_prod"}


def _size(aval) -> int:
    return int(np.prod(aval.shape)) if hasattr(aval, "shape") else 1


def _dot_flops(equation) -> int:
    lhs, rhs = (variable.aval for variable in equation.invars[:2])
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = equation.params["dimension_numbers"]
    contract = int(np.prod([lhs.shape[axis] for axis in lhs_contract]))
    batch = int(np.prod([lhs.shape[axis] for axis in lhs_batch]))
    lhs_free = _size(lhs) // (contract * batch)
    rhs_free = _size(rhs) // (contract * batch)
    return 2 * batch * lhs_free * rhs_free * contract


def _sub_jaxprs(equation):
    for value in equation.params.values():
        values = value if isinstance(value, (tuple, list)) else (value,)
        for item in values:
            if isinstance(item, jax_core.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, jax_core.Jaxpr):
                yield item


def jaxpr_flops(jaxpr) -> int:
    """FLOPs of ``jaxpr``: scan bodies times their length, the costliest branch of a cond, while bodies once."""
    total = 0
    for equation in jaxpr.eqns:
        name = equation.primitive.name
        if name == "dot_general":
            total += _dot_flops(equation)
        elif name in _ELEMENTWISE:
            total += sum(_size(variable.aval) for variable in equation.outvars)
        elif name in _REDUCTIONS:
            total += _size(equation.invars[0].aval)
        elif name == "scan":
            total += equation.params["length"] * jaxpr_flops(equation.params["jaxpr"].jaxpr)
        elif name == "cond":
            total += max(jaxpr_flops(branch.jaxpr) for branch in equation.params["branches"])
        else:
            total += sum(jaxpr_flops(inner) for inner in _sub_jaxprs(equation))
    return total


def count_flops(function, *args) -> int:
    """FLOPs of ``function(*args)`` as traced by JAX (module docstring)."""
    return jaxpr_flops(jax.make_jaxpr(function)(*args).jaxpr)


def bf16_peak_tflops(device_kind: str) -> float | None:
    for name, peak in BF16_PEAK_TFLOPS.items():
        if name.lower() in device_kind.lower():
            return peak
    return None


def main() -> None:
    from snakefold.common.atomic import atomic_write_json
    from snakefold.features.synthetic import synthetic_raw_features
    from snakefold.model.feature_processing import process_features
    from snakefold.model.inference import enable_compilation_cache
    from snakefold.model.model import forward, initial_prev, jitted_apply, recycling_slices
    from snakefold.model.params import init_params
    from snakefold.model.presets import model_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--depth", type=int, default=1024)
    parser.add_argument("--preset", default="model_1_ptm")
    parser.add_argument("--bfloat16", action="store_true")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--record", type=Path, required=True)
    args = parser.parse_args()
    enable_compilation_cache(args.workdir / "jax_cache")

    config = model_config(args.preset)
    config = config.replace(global_config=dataclasses.replace(config.global_config, zero_init=False,
                                                              bfloat16=args.bfloat16))
    num_templates = 2 if config.features.use_templates else 0
    raw = synthetic_raw_features(args.length, args.depth, num_templates, seed=0)
    batch = recycling_slices(process_features(raw, config.features, num_recycle=0, seed=0), config, 0)[0]
    prev = initial_prev(config, batch["aatype"].shape[0])
    params = jax.device_put(init_params(config, seed=0))
    flops = count_flops(lambda p, b, r: forward(config).apply(p, None, b, r), params, batch, prev)

    start = time.perf_counter()
    compiled = jitted_apply(config).lower(params, None, batch, prev).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(compiled(params, None, batch, prev))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        jax.block_until_ready(compiled(params, None, batch, prev))
        times.append(time.perf_counter() - start)
    iteration_s = min(times)
    device_kind = jax.devices()[0].device_kind
    peak = bf16_peak_tflops(device_kind) if jax.default_backend() == "gpu" else None
    record = {
        "preset": args.preset, "length": args.length, "depth": args.depth, "padded_length": batch["aatype"].shape[0],
        "precision": "bfloat16" if args.bfloat16 else "float32", "backend": jax.default_backend(),
        "device_kind": device_kind, "flops_per_iteration": flops, "xla_cost_analysis_flops": float(
            compiled.cost_analysis().get("flops", 0.0)), "compile_s": round(compile_s, 1),
        "iteration_s": iteration_s, "tflops": flops / iteration_s / 1e12, "bf16_peak_tflops": peak,
        "fraction_of_bf16_peak": (flops / iteration_s / 1e12 / peak) if peak else None,
    }
    atomic_write_json(args.record, record)
    print(json.dumps(record))


if __name__ == "__main__":
    main()
