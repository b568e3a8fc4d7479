"""XLA's compiled memory analysis of one recycling iteration for long sequences (nothing is run).

    .venv/bin/python bench/model/memory_analysis.py [--preset model_1_ptm] [--lengths 1000,2000,4000] \
        [--chunk-budget-mb MB] [--fit-gb 24] [--bfloat16]

For each length L the full-size preset is compiled for the worst-case shapes (every MSA row real: 508 or
512 clusters and 5,120 or 1,024 extra-MSA rows; four templates for the template presets; L residues, no
residue padding), from abstract arrays, so that nothing is allocated. An AlphaFold-Multimer preset
(``--preset model_1_multimer_v3``) reads the merged complex MSA and samples it inside the model: its worst
case is an MSA of ``num_msa`` + ``num_extra_msa`` rows (508 + 2,048 for models 1-3), all real, four
templates, one iteration with its random key. XLA's ``memory_analysis()`` of the
compiled program gives the bytes of its arguments (parameters, features, recycled values), outputs and
temporaries (the most its buffer assignment keeps alive at once); their sum, less what outputs alias from
arguments, is the device memory one iteration needs. ``--fit-gb`` then searches (by halving, on multiples
of 64 residues) the largest L whose total fits that many GiB.

Chunk sizes are the automatic ones for the chunk budget: the running backend's default
(``snakefold.model.primitives.DEFAULT_CHUNK_BUDGET_MB``), or ``--chunk-budget-mb``; compiling on CPU with
the accelerators' budget (512 MB) gives the program an accelerator would run, as far as the chunking goes
(XLA's GPU buffer assignment differs from the CPU's in detail).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from snakefold.model import model as monomer
from snakefold.model.multimer import model as multimer
from snakefold.model.multimer.presets import MultimerConfig, multimer_config
from snakefold.model.param_sets import MULTIMER_PRESETS
from snakefold.model.params import flat_to_haiku, param_shapes
from snakefold.model.presets import model_config

GIB = 2 ** 30


def configure(preset: str, chunk_budget_mb: float | None, bfloat16: bool):
    config = multimer_config(preset) if preset in MULTIMER_PRESETS else model_config(preset)
    return config.replace(global_config=dataclasses.replace(
        config.global_config, chunk_budget_mb=chunk_budget_mb, bfloat16=bfloat16))


def analyse(config, num_res: int) -> dict:
    """Compile one iteration of ``config`` for ``num_res`` residues at full MSA depth; its memory in GiB."""
    def abstract(tree):
        return jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype), tree)

    if isinstance(config, MultimerConfig):
        batch = multimer.example_batch(config, num_res=num_res, num_seq=config.num_msa + config.num_extra_msa)
        shapes = multimer.multimer_param_shapes(config)
        inputs = (abstract(batch), abstract(multimer.initial_prev(config, num_res)),
                  jax.ShapeDtypeStruct((2,), jnp.uint32))
        apply = multimer.jitted_apply(config)
    else:
        features = config.features
        batch = monomer.example_batch(config, num_res=num_res, num_clusters=features.num_msa_clusters,
                                      num_extra=features.max_extra_msa)
        shapes = param_shapes(config)
        inputs = (abstract(batch), abstract(monomer.initial_prev(config, num_res)))
        apply = monomer.jitted_apply(config)
    params = jax.tree_util.tree_map(lambda shape: jax.ShapeDtypeStruct(shape, jnp.float32),
                                    flat_to_haiku(shapes), is_leaf=lambda x: isinstance(x, tuple))
    start = time.perf_counter()
    compiled = apply.lower(params, None, *inputs).compile()
    compile_s = time.perf_counter() - start
    memory = compiled.memory_analysis()
    sizes = {
        "arguments": memory.argument_size_in_bytes, "outputs": memory.output_size_in_bytes,
        "temporaries": memory.temp_size_in_bytes, "aliased": memory.alias_size_in_bytes,
    }
    sizes["total"] = sizes["arguments"] + sizes["outputs"] + sizes["temporaries"] - sizes["aliased"]
    return {"length": num_res, "compile_s": round(compile_s, 1),
            **{f"{name}_gib": round(value / GIB, 2) for name, value in sizes.items()}}


def largest_fitting(config, limit_gib: float, low: int, high: int, step: int = 64) -> tuple[int, list[dict]]:
    """The largest multiple of ``step`` in [low, high] whose total fits ``limit_gib`` (low must fit)."""
    analyses = []
    while high - low > step:
        middle = (low + high) // 2 // step * step
        analysis = analyse(config, middle)
        analyses.append(analysis)
        print(json.dumps(analysis), flush=True)
        if analysis["total_gib"] <= limit_gib:
            low = middle
        else:
            high = middle
    return low, analyses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="model_1_ptm")
    parser.add_argument("--lengths", default="1000,2000,4000")
    parser.add_argument("--chunk-budget-mb", type=float, default=None)
    parser.add_argument("--bfloat16", action="store_true")
    parser.add_argument("--fit-gb", type=float, default=None, help="also find the largest L fitting this many GiB")
    args = parser.parse_args()

    config = configure(args.preset, args.chunk_budget_mb, args.bfloat16)
    print(f"{args.preset} on {jax.default_backend()}, chunk budget "
          f"{args.chunk_budget_mb or 'backend default'} MB, {'bfloat16' if args.bfloat16 else 'float32'}")
    analyses = []
    for length in (int(value) for value in args.lengths.split(",")):
        analyses.append(analyse(config, length))
        print(json.dumps(analyses[-1]), flush=True)
    if args.fit_gb:
        fitting = [a["length"] for a in analyses if a["total_gib"] <= args.fit_gb]
        failing = [a["length"] for a in analyses if a["total_gib"] > args.fit_gb]
        low = max(fitting) if fitting else 64
        high = min(failing) if failing else 2 * max(fitting)
        largest, _ = largest_fitting(config, args.fit_gb, low, high)
        print(f"largest L fitting {args.fit_gb} GiB: {largest} (to a multiple of 64)")
    print("| L | arguments GiB | outputs GiB | temporaries GiB | total GiB | compile s |")
    print("|--:|--:|--:|--:|--:|--:|")
    for a in sorted(analyses, key=lambda a: a["length"]):
        print(f"| {a['length']} | {a['arguments_gib']} | {a['outputs_gib']} | {a['temporaries_gib']} "
              f"| {a['total_gib']} | {a['compile_s']} |")


if __name__ == "__main__":
    main()
