"""``snakefold predict``: one model run (a preset and a seed) on one sequence's raw features.

Writes, into ``--out-dir`` (the predict-stage contract, each file atomically, scores.json last, then the
three files' seals, :mod:`snakefold.common.intermediates`):

- ``outputs.npz``: the runner's outputs (:data:`snakefold.model.inference.OUTPUT_KEYS`), float32, real
  residues only;
- ``unrelaxed.pdb``: the atom37 heavy atoms, residues numbered from 1, pLDDT (0-100) in the B-factor column;
- ``scores.json``: ``model`` (``<preset>_seed<seed>``), ``preset``, ``seed``, ``mean_plddt``, ``ptm`` (null
  without a pTM head), ``ranking_confidence`` (mean pLDDT, AlphaFold2's monomer ranking; the rank job
  ranks by model.rank_by), ``plddt`` [L], ``max_predicted_aligned_error``, ``num_recycles`` (recycling
  iterations run after the first), ``bfloat16``, ``params`` (``set``, ``path``, ``untrained``,
  ``architecture``, ``seed``), ``timings`` (``features_s``, ``compile_s``, ``predict_s``), ``compilation`` (the padded
  length, the cache directory, and the XLA compilations this process ran and the programs it loaded from
  the cache instead), and ``warning`` when the parameters are untrained.

    snakefold predict --features features.npz --preset model_1_ptm --params models/x/params_model_1_ptm.npz \\
        --seed 0 --num-recycle 3 --compilation-cache-dir cache/jax --out-dir work/seq/predictions/model_1_ptm_seed0
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.atomic import atomic_save_npz, atomic_write_json, atomic_write_text
from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import seal
from snakefold.common.protein import Protein, to_pdb
from snakefold.model import inference
from snakefold.model.param_sets import UNTRAINED_WARNING, ParamsInfo, params_info
from snakefold.model.params import load_params
from snakefold.model.presets import MONOMER_PRESETS, architecture_config


def length_buckets(text: str) -> tuple[int, ...]:
    """``--length-buckets``: comma-separated lengths, or ``none`` for no padding."""
    if text.strip().lower() == "none":
        return ()
    try:
        buckets = tuple(int(word) for word in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated lengths such as 16,32,64 or 'none', "
                                         f"not {text!r}") from None
    if any(bucket < 1 for bucket in buckets):
        raise argparse.ArgumentTypeError(f"lengths must be positive: {text!r}")
    return buckets


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", required=True, help="raw features .npz of the sequence (snakefold features)")
    parser.add_argument("--preset", required=True, choices=MONOMER_PRESETS, help="model preset")
    parser.add_argument("--params", required=True, help="params_<preset>.npz in the official format")
    parser.add_argument("--seed", type=int, default=0, help="seed of the feature sampling (default 0)")
    parser.add_argument("--num-recycle", type=int, default=3, help="recycling iterations after the first (default 3)")
    parser.add_argument("--recycle-early-stop-tolerance", type=float, default=0.0,
                        help="stop recycling once the CA distance matrix changes less than this (Angstrom); "
                             "0 = never (default)")
    parser.add_argument("--length-buckets", type=length_buckets, default=None,
                        help="comma-separated lengths the residue dimension is padded up to, or 'none' "
                             "(default: the preset's)")
    parser.add_argument("--compilation-cache-dir", default=None,
                        help="JAX persistent compilation cache shared by every prediction (default: none)")
    parser.add_argument("--bfloat16", action="store_true",
                        help="bfloat16 activations in the trunk (for GPUs and TPUs; slower on CPUs)")
    parser.add_argument("--out-dir", required=True, help="directory of the model run's outputs")


def load_raw_features(path: str) -> dict[str, np.ndarray]:
    """The numeric arrays of a raw features file (strings, such as the sequence's name, are left out)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files if archive[key].dtype.kind not in "SU"}
    except FileNotFoundError as error:
        raise SnakefoldError(f"raw features file {path} does not exist") from error
    except (ValueError, OSError) as error:
        raise SnakefoldError(f"raw features file {path} is not a readable npz archive ({error})") from error


def unrelaxed_protein(raw: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> Protein:
    """The predicted structure, residues numbered from 1, pLDDT as every atom's B-factor."""
    aatype = np.asarray(raw["aatype"])
    if aatype.ndim == 2:
        aatype = np.argmax(aatype, axis=-1)
    num_res = aatype.shape[0]
    residue_index = np.asarray(raw.get("residue_index", np.arange(num_res))).reshape(num_res) + 1
    plddt = outputs["plddt"]
    return Protein(atom_positions=outputs["structure_module/final_atom_positions"], aatype=aatype,
                   atom_mask=outputs["structure_module/final_atom_mask"], residue_index=residue_index,
                   chain_index=np.zeros(num_res, np.int32),
                   b_factors=np.repeat(plddt[:, None], rc.atom_type_num, axis=1))


def pdb_remarks(model: str, info: ParamsInfo) -> list[str]:
    remarks = [f"snakefold model run {model}", "pLDDT (0-100) in the B-factor column",
               f"parameters: {info.set}"]
    if info.untrained:
        remarks.extend(textwrap.wrap(f"WARNING: {UNTRAINED_WARNING}", width=60))
    return remarks


def scores_document(model: str, args: argparse.Namespace, info: ParamsInfo, prediction: inference.Prediction,
                    compiled: inference.CompilationCounter) -> dict:
    """The model run's scores.json (module docstring)."""
    outputs = prediction.outputs
    mean_plddt = float(np.mean(outputs["plddt"], dtype=np.float64))
    return {
        "model": model, "preset": args.preset, "seed": args.seed, "length": prediction.length,
        "mean_plddt": mean_plddt, "ptm": float(outputs["ptm"]) if "ptm" in outputs else None,
        "ranking_confidence": mean_plddt, "plddt": [float(value) for value in outputs["plddt"]],
        "max_predicted_aligned_error": (float(outputs["max_predicted_aligned_error"])
                                        if "max_predicted_aligned_error" in outputs else None),
        "num_recycles": prediction.num_recycles, "num_recycle": args.num_recycle,
        "recycle_early_stop_tolerance": args.recycle_early_stop_tolerance, "bfloat16": args.bfloat16,
        "params": info.as_json(),
        "timings": {name: round(seconds, 3) for name, seconds in prediction.timings.items()},
        "compilation": {"padded_length": prediction.padded_length, "cache_dir": args.compilation_cache_dir,
                        "xla_compilations": compiled.compilations, "cache_hits": compiled.cache_hits},
        "warning": UNTRAINED_WARNING if info.untrained else None,
    }


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise SnakefoldError(f"--seed must be a non-negative integer, not {args.seed}")
    if args.num_recycle < 0:
        raise SnakefoldError(f"--num-recycle must be at least 0, not {args.num_recycle}")
    if args.compilation_cache_dir:
        inference.enable_compilation_cache(args.compilation_cache_dir)
    model = f"{args.preset}_seed{args.seed}"
    info = params_info(args.params, args.preset)
    config = architecture_config(args.preset, info.architecture)
    with inference.CompilationCounter() as compiled:
        params = load_params(args.params, config)
        raw = load_raw_features(args.features)
        prediction = inference.predict(raw, config, params, args.seed, args.num_recycle,
                                       early_stop_tolerance=args.recycle_early_stop_tolerance,
                                       length_buckets=args.length_buckets, bfloat16=args.bfloat16,
                                       source=f"raw features file {args.features}")
    scores = scores_document(model, args, info, prediction, compiled)
    out_dir = Path(args.out_dir)
    atomic_save_npz(out_dir / "outputs.npz", prediction.outputs, compress=False)
    atomic_write_text(out_dir / "unrelaxed.pdb",
                      to_pdb(unrelaxed_protein(raw, prediction.outputs), pdb_remarks(model, info)))
    atomic_write_json(out_dir / "scores.json", scores)
    seal(*(out_dir / name for name in ("outputs.npz", "unrelaxed.pdb", "scores.json")))
    print(f"{model}: {prediction.length} residues run at {prediction.padded_length}; compiled in "
          f"{prediction.timings['compile_s']:.1f} s; this process ran {compiled.compilations} XLA compilation(s) and "
          f"loaded {compiled.cache_hits} from the compilation cache; {prediction.num_recycles + 1} iteration(s) "
          f"in {prediction.timings['predict_s']:.1f} s; mean pLDDT {scores['mean_plddt']:.2f}"
          + (f", pTM {scores['ptm']:.3f}" if scores["ptm"] is not None else "")
          + (f" ({UNTRAINED_WARNING})" if info.untrained else ""), file=sys.stderr)
    return 0
