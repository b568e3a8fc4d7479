"""``snakefold model-run``: run one preset on processed features and write its outputs (.npz).

The output holds float32 arrays named as AlphaFold2's result dict flattened with ``/`` (for example
``representations/pair``), from the last recycling iteration, for the real residues only: padding
added by the residue buckets is cut off using ``seq_length``.

The AlphaFold-Multimer presets (``model_<i>_multimer_v3``) read merged complex features instead
(``snakefold complex-features``, AlphaFold2's key names), sample the MSA inside the model from ``--seed``
(the model's random seed as AlphaFold2's run_alphafold.py passes it) and add ``iptm``,
``ranking_confidence`` (0.8 ipTM + 0.2 pTM), ``chain_pair_iptm``, ``interface_pae`` and ``num_recycles``.
With ``--num-recycle R`` exactly R recycles run; without it up to 20, stopping early as the preset says.
"""

from __future__ import annotations

import argparse
from typing import Mapping

import numpy as np

from snakefold.common.atomic import atomic_save_npz
from snakefold.common.errors import SnakefoldError
from snakefold.model.model import outputs_for_real_residues, run_model
from snakefold.model.multimer.model import multimer_outputs, multimer_param_shapes, run_multimer
from snakefold.model.multimer.presets import multimer_config
from snakefold.model.param_sets import MULTIMER_PRESETS
from snakefold.model.params import check_params, load_params
from snakefold.model.presets import MONOMER_PRESETS, ModelConfig, model_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", required=True, choices=MONOMER_PRESETS + MULTIMER_PRESETS, help="model preset")
    parser.add_argument("--params", required=True, help="parameters, params_<preset>.npz in the official format")
    parser.add_argument("--features", required=True, help="processed features .npz (snakefold process-features), "
                        "or for a multimer preset merged complex features (snakefold complex-features)")
    parser.add_argument("--out", required=True, help="outputs .npz to write")
    parser.add_argument("--num-recycle", type=int, default=None,
                        help="recycling iterations after the first (default: the preset's, 3; multimer: up to 20 "
                             "with early stop, while --num-recycle runs exactly that many)")
    parser.add_argument("--seed", type=int, default=0, help="multimer presets: the model's random seed")


def load_processed_features(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError as error:
        raise SnakefoldError(f"processed features file {path} does not exist") from error
    except (ValueError, OSError) as error:
        raise SnakefoldError(f"processed features file {path} is not a readable npz archive ({error})") from error


def real_length(features: Mapping[str, np.ndarray], source: str) -> int:
    """The number of real (unpadded) residues: ``seq_length``, or the sum of ``seq_mask``."""
    if "seq_length" in features:
        return int(np.asarray(features["seq_length"]).reshape(-1)[0])
    if "seq_mask" in features:
        return int(np.asarray(features["seq_mask"])[0].sum())
    raise SnakefoldError(f"{source} has no seq_length or seq_mask: make it with `snakefold process-features`")


def write_outputs(config: ModelConfig, params, features: Mapping[str, np.ndarray], out: str,
                  num_recycle: int | None, source: str) -> None:
    """Run ``config`` on ``features`` and write the outputs of the real residues to ``out``."""
    num_res = real_length(features, source)
    result = run_model(config, params, features, num_recycle=num_recycle)
    atomic_save_npz(out, outputs_for_real_residues(result, num_res))


def run_multimer_preset(args: argparse.Namespace) -> int:
    config = multimer_config(args.preset)
    params = load_params(args.params)
    check_params(params, config, source=f"parameter file {args.params}", expected=multimer_param_shapes(config))
    features = load_processed_features(args.features)
    early_stop_tolerance = None if args.num_recycle is None else -1.0
    result = run_multimer(config, params, features, seed=args.seed, num_recycle=args.num_recycle,
                          early_stop_tolerance=early_stop_tolerance)
    atomic_save_npz(args.out, multimer_outputs(result))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.num_recycle is not None and args.num_recycle < 0:
        raise SnakefoldError(f"--num-recycle must be at least 0, not {args.num_recycle}")
    if args.preset in MULTIMER_PRESETS:
        return run_multimer_preset(args)
    config = model_config(args.preset)
    params = load_params(args.params, config)
    features = load_processed_features(args.features)
    write_outputs(config, params, features, args.out, args.num_recycle,
                  source=f"processed features file {args.features}")
    return 0
