"""``snakefold make-params``: seeded random parameters of one preset, in the official file format.

The published parameters cannot be downloaded everywhere (about 5 GB, and never in CI); the demo and the
tests run on parameters of exactly the published names and shapes, initialised at random, either of the
published network (``--architecture full``) or of its miniature (``--architecture small``,
:func:`snakefold.model.presets.small_config`, or for the multimer presets
:func:`snakefold.model.multimer.presets.small_multimer_config`). They predict nothing meaningful, and the demo says so.
By default every layer is random (``zero_init`` off), so that each one affects the outputs;
``--zero-init`` initialises like AlphaFold2's training, with the last layer of every residual update at zero.

Beside ``params_<preset>.npz`` the command writes ``params_<preset>.json`` (:mod:`snakefold.model.param_sets`):
preset, architecture, seed and ``untrained: true``, which the predict stage reads. The command is
idempotent: when the file exists with a record of the same preset, architecture, seed and initialisation,
it does nothing. It never overwrites a parameter file without a record (an official one).

    snakefold make-params --preset model_1_ptm --architecture small --seed 0 --out models/demo/params_model_1_ptm.npz
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from snakefold.common.errors import SnakefoldError
from snakefold.model.families import ALL_PRESETS, preset_config, random_params
from snakefold.model.param_sets import (
    ARCHITECTURES,
    random_params_record,
    read_record,
    record_path,
    write_random_params_record,
)
from snakefold.model.params import save_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", required=True, choices=ALL_PRESETS, help="model preset (monomer or multimer)")
    parser.add_argument("--architecture", choices=ARCHITECTURES, default="full",
                        help="full: the published network (default); small: its miniature for tests and demos")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", required=True, help="parameter file to write, e.g. params_model_1_ptm.npz")
    parser.add_argument("--zero-init", action="store_true",
                        help="zero the last layer of every residual update, as AlphaFold2's training starts")


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise SnakefoldError(f"--seed must be a non-negative integer, not {args.seed}")
    out = Path(args.out)
    record = random_params_record(args.preset, args.architecture, args.seed, args.zero_init)
    if out.exists():
        existing = read_record(out)
        if existing is None:
            raise SnakefoldError(f"{out} exists and was not made by `snakefold make-params` (it has no record "
                                 f"{record_path(out).name}): it may be an official parameter file; remove it "
                                 f"yourself or choose another --out")
        if existing == record:
            print(f"{out}: up to date ({args.preset}, {args.architecture} architecture, seed {args.seed})")
            return 0
        out.unlink()  # the record is rewritten next; a run killed in between leaves no parameter file behind
    config = preset_config(args.preset, args.architecture)
    config = config.replace(global_config=dataclasses.replace(config.global_config, zero_init=args.zero_init))
    params = random_params(config, args.seed)
    write_random_params_record(out, record)
    save_params(out, params)
    print(f"{out}: random (untrained) parameters of {args.preset}, {args.architecture} architecture, "
          f"seed {args.seed}")
    return 0
