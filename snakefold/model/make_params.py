"""``snakefold make-params``: seeded random parameters of one preset, in the official file format.

The published parameters cannot be downloaded everywhere (about 5 GB, and never in CI); the demo and the
tests run on parameters of exactly the published names and shapes, initialised at random. They predict
nothing meaningful, and the demo says so. By default every layer is random (``zero_init`` off), so that
each one affects the outputs; ``--zero-init`` initialises like AlphaFold2's training, with the last layer
of every residual update at zero.
"""

from __future__ import annotations

import argparse
import dataclasses

from snakefold.common.errors import SnakefoldError
from snakefold.model.params import init_params, save_params
from snakefold.model.presets import MONOMER_PRESETS, model_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", required=True, choices=MONOMER_PRESETS, help="model preset")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", required=True, help="parameter file to write, e.g. params_model_1_ptm.npz")
    parser.add_argument("--zero-init", action="store_true",
                        help="zero the last layer of every residual update, as AlphaFold2's training starts")


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise SnakefoldError(f"--seed must be a non-negative integer, not {args.seed}")
    config = model_config(args.preset)
    config = config.replace(global_config=dataclasses.replace(config.global_config, zero_init=args.zero_init))
    save_params(args.out, init_params(config, args.seed))
    return 0
