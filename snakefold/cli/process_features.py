"""``snakefold process-features``: raw features (.npz) -> processed model inputs (.npz), for one preset.

The output holds AlphaFold2's processed features (:mod:`snakefold.model.feature_processing`) with a leading
dimension of ``num_recycle + 1``, one slice per recycling iteration, padded to the preset's fixed sizes.
The same raw features, preset, seed and options give the same file.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from snakefold.common.atomic import atomic_save_npz
from snakefold.common.errors import SnakefoldError
from snakefold.model.feature_processing import process_features
from snakefold.model.presets import MONOMER_PRESETS, model_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", required=True, choices=MONOMER_PRESETS, help="model preset")
    parser.add_argument("--features", required=True, help="raw features .npz (snakefold features)")
    parser.add_argument("--out", required=True, help="processed features .npz to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the MSA sampling and masking (default 0)")
    parser.add_argument("--num-recycle", type=int, default=None,
                        help="recycling iterations after the first (default: the preset's, 3)")
    parser.add_argument("--masked-msa-fraction", type=float, default=None,
                        help="fraction of MSA positions the masked-MSA corruption replaces (default 0.15, as in "
                             "AlphaFold2; 0 turns it off)")
    parser.add_argument("--no-residue-buckets", action="store_true",
                        help="pad the residue dimension to nothing (default: up to the next length bucket)")


def run(args: argparse.Namespace) -> int:
    config = model_config(args.preset)
    features_config = config.features
    if args.masked_msa_fraction is not None:
        if not 0.0 <= args.masked_msa_fraction <= 1.0:
            raise SnakefoldError(f"--masked-msa-fraction must be between 0 and 1, not {args.masked_msa_fraction}")
        masked_msa = dataclasses.replace(features_config.masked_msa, replace_fraction=args.masked_msa_fraction)
        features_config = dataclasses.replace(features_config, masked_msa=masked_msa)
    if args.no_residue_buckets:
        features_config = dataclasses.replace(features_config, residue_buckets=())
    num_recycle = config.num_recycle if args.num_recycle is None else args.num_recycle
    try:
        with np.load(args.features, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}

    except FileNotFoundError as error:
        raise SnakefoldError(f"raw features file {args.features} does not exist") from error
    except (ValueError, OSError) as error:
        raise SnakefoldError(f"raw features file {args.features} is not a readable npz archive ({error})") from error
    raw = {key: array for key, array in arrays.items() if array.dtype.kind not in "SU"}
    processed = process_features(raw, features_config, num_recycle=num_recycle, seed=args.seed,
                                 source=f"raw features file {args.features}")
    atomic_save_npz(args.out, processed)
    return 0
