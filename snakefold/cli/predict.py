"""``snakefold predict``: one model run (a preset and a seed) on each of one or more sequences' raw features.

Writes, into each ``--out-dir`` (the predict-stage contract, each file atomically, scores.json last, then
the three files' seals, :mod:`snakefold.common.intermediates`):

- ``outputs.npz``: the runner's outputs (:data:`snakefold.model.inference.OUTPUT_KEYS`), float32, real
  residues only;
- ``unrelaxed.pdb``: the atom37 heavy atoms, residues numbered from 1, pLDDT (0-100) in the B-factor column;
- ``scores.json``: ``model`` (``<preset>_seed<seed>``), ``preset``, ``seed``, ``mean_plddt``, ``ptm`` (null
  without a pTM head), ``ranking_confidence`` (mean pLDDT, AlphaFold2's monomer ranking; the rank job
  ranks by model.rank_by), ``plddt`` [L], ``max_predicted_aligned_error``, ``num_recycles`` (recycling
  iterations run after the first), ``bfloat16``, ``params`` (``set``, ``path``, ``untrained``,
  ``architecture``, ``seed``), ``timings``, ``compilation`` (the padded length; a complex's MSA rows as
  run, ``padded_msa_rows``, null for a single chain; the cache directory, the XLA compilations this model
  run caused and the programs it loaded from the cache instead, and whether it reused the iteration an
  earlier target of the process compiled), and ``warning`` when the parameters are untrained.

``timings`` (seconds) is where the job's time went: ``startup_s`` (process start and imports, JAX's
included), ``params_s`` (reading the parameter file and checking it against the names and shapes the model
needs, kept beside the compiled programs: :func:`snakefold.model.inference.expected_param_shapes`),
``features_s`` (reading and processing the features), ``compile_s`` (tracing the model and compiling one
iteration, or loading it from the persistent compilation cache; 0 when an earlier target of the process
compiled it), ``predict_s`` (the model's compute: every iteration) and ``write_s`` (outputs.npz and
unrelaxed.pdb). A process pays startup and parameters once: its first target
records them, later targets record 0.

A multimer preset (``model_<i>_multimer_v3``) predicts a complex from its merged features (``snakefold
complex-features``, AlphaFold2's key names), ``--seed`` being the model's random seed as AlphaFold2's
run_alphafold.py passes it (:mod:`snakefold.model.multimer.inference`; ``--length-buckets`` pad the complex's
total length, and its MSA rows to their depth bucket, the outputs cut back to its residues; ``none`` pads
neither). Its unrelaxed.pdb holds the chains A, B, ... (``asym_id`` order), each numbered from 1 and ended by
TER; its outputs.npz adds ``iptm``, ``ranking_confidence``, ``chain_pair_iptm`` [C, C] and ``interface_pae``
[C, C]; its scores.json ranks by AlphaFold-Multimer's ``ranking_confidence`` = 0.8 ipTM + 0.2 pTM and adds
``iptm``, ``chain_pair_iptm`` and ``chains`` (each chain's ID, length and mean pLDDT).

Several targets (``--features A.npz B.npz ... --out-dir A B ...``, paired in order) share one process: the
parameters are loaded once and each compiled iteration kept for every later target of its shapes. A target
that fails is reported and the others still run; the command then exits with status 1, naming them.

    snakefold predict --features features.npz --preset model_1_ptm --params models/x/params_model_1_ptm.npz \\
        --seed 0 --num-recycle 3 --compilation-cache-dir cache/jax --out-dir work/seq/predictions/model_1_ptm_seed0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.atomic import atomic_copy, atomic_save_npz, atomic_write_json, atomic_write_text
from snakefold.common.chains import chain_ids
from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import seal
from snakefold.common.protein import Protein, to_pdb
from snakefold.model.param_sets import MONOMER_PRESETS, MULTIMER_PRESETS, UNTRAINED_WARNING, ParamsInfo, params_info
from snakefold.plan.layout import PREDICTION_FILES

if TYPE_CHECKING:
    from snakefold.model import inference

#: The options a model run's scores.json records that must match for another job to take it (--from-run).
RUN_SETTINGS = ("preset", "seed", "num_recycle", "recycle_early_stop_tolerance", "bfloat16")


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
    parser.add_argument("--features", required=True, nargs="+",
                        help="raw features .npz of each sequence (snakefold features)")
    parser.add_argument("--preset", required=True, choices=MONOMER_PRESETS + MULTIMER_PRESETS,
                        help="model preset (a multimer preset reads a complex's merged features)")
    parser.add_argument("--params", required=True, help="params_<preset>.npz in the official format")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the feature sampling, or a multimer preset's model seed (default 0)")
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
    parser.add_argument("--out-dir", required=True, nargs="+",
                        help="directory of each sequence's model run outputs, in the order of --features")
    parser.add_argument("--keep-going", action="store_true",
                        help="with several targets, exit 0 even when some failed (each failure is still reported)")
    parser.add_argument("--from-run", default=None,
                        help="a finished model run of the same features and settings (a grouped prediction's, "
                             "written by the workflow's predict_group job): its files are copied instead of "
                             "predicting; where it has none, the run is predicted here")


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
    """The predicted structure, residues numbered from 1 (within each chain of a complex, whose ``asym_id``
    1, 2, ... give the chains A, B, ...), pLDDT as every atom's B-factor."""
    aatype = np.asarray(raw["aatype"])
    if aatype.ndim == 2:
        aatype = np.argmax(aatype, axis=-1)
    num_res = aatype.shape[0]
    residue_index = np.asarray(raw.get("residue_index", np.arange(num_res))).reshape(num_res).astype(np.int64) + 1
    if "asym_id" in raw:
        chain_index = np.asarray(raw["asym_id"]).reshape(num_res).astype(np.int32) - 1
        names = tuple(chain_ids(int(chain_index.max()) + 1))
    else:
        chain_index, names = np.zeros(num_res, np.int32), ("A",)
    plddt = outputs["plddt"]
    return Protein(atom_positions=outputs["structure_module/final_atom_positions"], aatype=aatype,
                   atom_mask=outputs["structure_module/final_atom_mask"], residue_index=residue_index,
                   chain_index=chain_index, chain_ids=names,
                   b_factors=np.repeat(plddt[:, None], rc.atom_type_num, axis=1))


def complex_scores(raw: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> dict:
    """A complex's scores besides the monomer's: ipTM, 0.8 ipTM + 0.2 pTM, chain-pair ipTM, each chain's pLDDT."""
    chain_index = np.asarray(raw["asym_id"]).astype(np.int64) - 1
    plddt = np.asarray(outputs["plddt"], np.float64)
    chains = [{"chain_id": chain_id, "length": int(np.sum(chain_index == index)),
               "mean_plddt": float(np.mean(plddt[chain_index == index]))}
              for index, chain_id in enumerate(chain_ids(int(chain_index.max()) + 1))]
    return {"iptm": float(outputs["iptm"]), "ranking_confidence": float(outputs["ranking_confidence"]),
            "chain_pair_iptm": np.asarray(outputs["chain_pair_iptm"], np.float64).round(6).tolist(),
            "chains": chains}


def pdb_remarks(model: str, info: ParamsInfo) -> list[str]:
    remarks = [f"snakefold model run {model}", "pLDDT (0-100) in the B-factor column",
               f"parameters: {info.set}"]
    if info.untrained:
        remarks.extend(textwrap.wrap(f"WARNING: {UNTRAINED_WARNING}", width=60))
    return remarks


def seconds_since_process_start() -> float | None:
    """Wall seconds since this process started (Linux ``/proc``), or None where that is not known."""
    try:
        fields_after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        start_ticks = int(fields_after_name[19])  # field 22 of proc(5): start time in clock ticks after boot
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def scores_document(model: str, args: argparse.Namespace, info: ParamsInfo, prediction: inference.Prediction,
                    timings: dict[str, float], raw: dict[str, np.ndarray]) -> dict:
    """The model run's scores.json (module docstring)."""
    outputs = prediction.outputs
    mean_plddt = float(np.mean(outputs["plddt"], dtype=np.float64))
    document = {
        "model": model, "preset": args.preset, "seed": args.seed, "length": prediction.length,
        "mean_plddt": mean_plddt, "ptm": float(outputs["ptm"]) if "ptm" in outputs else None,
        "ranking_confidence": mean_plddt, "plddt": [float(value) for value in outputs["plddt"]],
        "max_predicted_aligned_error": (float(outputs["max_predicted_aligned_error"])
                                        if "max_predicted_aligned_error" in outputs else None),
        "num_recycles": prediction.num_recycles, "num_recycle": args.num_recycle,
        "recycle_early_stop_tolerance": args.recycle_early_stop_tolerance, "bfloat16": args.bfloat16,
        "params": info.as_json(),
        "timings": {name: round(seconds, 3) for name, seconds in timings.items()},
        "compilation": {"padded_length": prediction.padded_length, "padded_msa_rows": prediction.padded_msa_rows,
                        "cache_dir": args.compilation_cache_dir, "xla_compilations": prediction.xla_compilations,
                        "cache_hits": prediction.cache_hits, "reused_in_process": prediction.reused_compiled},
        "warning": UNTRAINED_WARNING if info.untrained else None,
    }
    if args.preset in MULTIMER_PRESETS:
        document.update(complex_scores(raw, outputs))
    return document


def predict_target(predictor: inference.Predictor, args: argparse.Namespace, info: ParamsInfo, features: str,
                   out_dir: Path, shared_timings: dict[str, float]) -> None:
    """One target's model run, its three files written (module docstring)."""
    model = f"{args.preset}_seed{args.seed}"
    reading = time.perf_counter()
    raw = load_raw_features(features)
    read_s = time.perf_counter() - reading
    prediction = predictor.predict(raw, args.seed, args.num_recycle,
                                   early_stop_tolerance=args.recycle_early_stop_tolerance,
                                   source=f"raw features file {features}")
    writing = time.perf_counter()
    atomic_save_npz(out_dir / "outputs.npz", prediction.outputs, compress=False)
    atomic_write_text(out_dir / "unrelaxed.pdb",
                      to_pdb(unrelaxed_protein(raw, prediction.outputs), pdb_remarks(model, info)))
    timings = {**shared_timings, **prediction.timings, "features_s": read_s + prediction.timings["features_s"],
               "write_s": time.perf_counter() - writing}
    scores = scores_document(model, args, info, prediction, timings, raw)
    atomic_write_json(out_dir / "scores.json", scores)
    seal(*(out_dir / name for name in PREDICTION_FILES))
    how = ("reused the iteration compiled for an earlier target" if prediction.reused_compiled else
           f"compiled in {prediction.timings['compile_s']:.1f} s ({prediction.xla_compilations} XLA compilation(s) "
           f"run, {prediction.cache_hits} loaded from the compilation cache)")
    print(f"{model}: {prediction.length} residues run at {prediction.padded_length} ({out_dir}); {how}; "
          f"{prediction.num_recycles + 1} iteration(s) in {prediction.timings['predict_s']:.1f} s; "
          f"mean pLDDT {scores['mean_plddt']:.2f}"
          + (f", pTM {scores['ptm']:.3f}" if scores["ptm"] is not None else "")
          + (f", ipTM {scores['iptm']:.3f}" if "iptm" in scores else "")
          + (f" ({UNTRAINED_WARNING})" if info.untrained else ""), file=sys.stderr)


def take_finished_run(run_dir: Path, out_dir: Path, args: argparse.Namespace) -> bool:
    """Copy ``run_dir``'s model run into ``out_dir`` (and seal it) when it is finished and was run with this
    command's settings; False when it is not there (its group job failed it) or differs."""
    try:
        scores = json.loads((run_dir / "scores.json").read_text())
    except (OSError, ValueError):
        return False
    if any(scores.get(name) != getattr(args, name) for name in RUN_SETTINGS) or not all(
            (run_dir / name).is_file() for name in PREDICTION_FILES):
        return False
    for name in PREDICTION_FILES:
        atomic_copy(run_dir / name, out_dir / name)
    seal(*(out_dir / name for name in PREDICTION_FILES))
    return True


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise SnakefoldError(f"--seed must be a non-negative integer, not {args.seed}")
    if args.num_recycle < 0:
        raise SnakefoldError(f"--num-recycle must be at least 0, not {args.num_recycle}")
    if len(args.features) != len(args.out_dir):
        raise SnakefoldError(f"--features names {len(args.features)} file(s) but --out-dir {len(args.out_dir)} "
                             f"directory(ies): give one output directory per features file, in the same order")
    if args.from_run:
        if len(args.out_dir) != 1:
            raise SnakefoldError("--from-run takes one model run: give one --features file and one --out-dir")
        if take_finished_run(Path(args.from_run), Path(args.out_dir[0]), args):
            print(f"{args.out_dir[0]}: the model run of {args.from_run}", file=sys.stderr)
            return 0
        print(f"{args.from_run} holds no finished model run with these settings: predicting here", file=sys.stderr)
    # JAX and the model, imported only where a model runs (a run taken --from-run needs neither)
    from snakefold.model import inference
    from snakefold.model.families import preset_config
    from snakefold.model.multimer.inference import MultimerPredictor
    from snakefold.model.params import check_params, load_params

    inference.claim_gpu_memory()
    startup_s = seconds_since_process_start()
    if args.compilation_cache_dir:
        inference.enable_compilation_cache(args.compilation_cache_dir)
    info = params_info(args.params, args.preset)
    config = preset_config(args.preset, info.architecture)
    loading = time.perf_counter()
    params = load_params(args.params)
    check_params(params, config, source=f"parameter file {args.params}",
                 expected=inference.expected_param_shapes(config, args.compilation_cache_dir))
    if args.preset in MULTIMER_PRESETS:
        predictor = MultimerPredictor(config, params, length_buckets=args.length_buckets, bfloat16=args.bfloat16)
    else:
        predictor = inference.Predictor(config, params, length_buckets=args.length_buckets, bfloat16=args.bfloat16)
    shared_timings = {"startup_s": startup_s or 0.0, "params_s": time.perf_counter() - loading}
    if len(args.features) == 1:
        predict_target(predictor, args, info, args.features[0], Path(args.out_dir[0]), shared_timings)
        return 0
    failed = []
    for features, out_dir in zip(args.features, args.out_dir):
        try:
            predict_target(predictor, args, info, features, Path(out_dir), shared_timings)
        except Exception as error:  # noqa: BLE001 -- one target's failure must not stop the others
            failed.append(out_dir)
            detail = str(error) if isinstance(error, SnakefoldError) else traceback.format_exc()
            print(f"FAILED {out_dir} ({features}): {detail}", file=sys.stderr)
        shared_timings = {"startup_s": 0.0, "params_s": 0.0}
    if failed and not args.keep_going:
        raise SnakefoldError(f"{len(failed)} of {len(args.features)} model runs failed (see above): "
                             + ", ".join(failed))
    return 0
