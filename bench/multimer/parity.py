"""Full-size parity of snakefold's AlphaFold-Multimer v3 with the official AlphaFold2 v2.3.2 model (issue #16).

    nice .venv/bin/python bench/multimer/parity.py --reference-python /tmp/af232-venv/bin/python \
        [--peer-dir ../shared/reference/peer_multimer] [--work /tmp/mmbench] [--cases a,b,c] \
        [--bfloat16-cases b] [--rerun] [--table-only]

Both models run the published preset ``model_1_multimer_v3`` at full size in float32 on the same random
parameters, the same merged features and the same seed, with exactly R recycles:

1. **Parameters**: the peer harness's ``make_params.py`` (random parameters from the official Haiku
   initialisation, in the official file format), made once under ``WORK/params``.
2. **Reference**: the peer harness's ``run_ref.py`` (official ``RunModel``, unmodified, float32, one
   predict): it makes the synthetic complex through the official multimer data pipeline
   (``WORK/ref/<stem>_feat.npz``, AlphaFold2's key names) and writes the outputs (``<stem>_<preset>_r<R>.npz``)
   and a record of its times (``.json``).
3. **snakefold** (``snakefold_runner.py``, the steps of ``snakefold model-run --preset model_1_multimer_v3
   --num-recycle R --seed S``): on that ``_feat.npz``, outputs under ``WORK/sf``.
4. **Parity** (:func:`parity`): max |difference| of the final atom positions (where the reference's atom
   mask is set), the mean and max CA deviation, pLDDT, PAE, pTM, ipTM and ranking confidence; max
   |difference| / max |reference| of the head logits and of the representations. Judged by the issue's
   tolerances (:data:`TOLERANCES`).
5. ``--bfloat16-cases``: snakefold once more with its bfloat16 trunk on the same inputs; its pLDDT, pTM and
   ipTM, and its CA deviation from snakefold's float32 run. ``--reference-bfloat16`` also runs the official
   model in its default bfloat16 (``run_ref.py --bf16``) on those cases: how far bfloat16 moves the official
   structure from its float32 one, a yardstick for snakefold's (the two bfloat16 modes round different
   operations, so they are not expected to agree with each other more closely than with float32).

Cases (:data:`CASES`) cover every clause of the issue with the fewest residues: a heterodimer whose merged
MSA is deeper than the 508 sampled rows (the rest feeds the extra-MSA stack) with 3 recycles, a homodimer
with none, and a heterodimer of 156 residues with none. Outputs already in ``WORK`` are reused (marked
``reused``) unless ``--rerun``; runs are niced, one at a time, and record the load average around them.
Results go to ``--results`` (default ``bench/multimer/results.json``); ``--table-only`` prints its tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from bench.compare.compare import run_measured
from snakefold.common import residue_constants
from snakefold.common.atomic import atomic_write_json

PRESET = "model_1_multimer_v3"
RESULTS = HERE / "results.json"
#: name -> chains (LABEL:LENGTH in FASTA order; equal labels: identical sequences), seed, MSA rows per chain
#: of the synthetic alignments (``synth.py --num_msa``), recycles.
CASES: dict[str, dict] = {
    "a": {"chains": "A:20,B:24", "seed": 0, "num_msa": 600, "num_recycle": 3},
    "b": {"chains": "A:40,A:40", "seed": 1, "num_msa": 64, "num_recycle": 0},
    "c": {"chains": "A:72,B:84", "seed": 2, "num_msa": 64, "num_recycle": 0},
}
#: The issue's tolerances (absolute): atoms and PAE in Angstrom, pLDDT on its 0-100 scale.
TOLERANCES = {"atoms_A": 0.01, "plddt": 0.01, "pae_A": 0.01, "ptm": 1e-4, "iptm": 1e-4}
#: Arrays compared relative to the reference's largest magnitude.
RELATIVE_KEYS = ("distogram/logits", "masked_msa/logits", "predicted_lddt/logits", "experimentally_resolved/logits",
                 "aligned_confidence_probs", "representations/pair", "representations/msa_first_row",
                 "representations/single", "representations/structure_module")
CA = residue_constants.atom_order["CA"]


def stem(case: dict) -> str:
    """The peer harness's base name of a synthetic complex: ``ref_<A20_B24>_s<seed>``."""
    return f"ref_{case['chains'].replace(':', '').replace(',', '_')}_s{case['seed']}"


def load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def measured(command: list[str], log: Path) -> dict:
    """:func:`bench.compare.compare.run_measured` under ``nice``, with the load average after the run too."""
    process = run_measured(["nice", *command], log)
    return {**process, "load_average_after": load_average()}


def ensure_params(args: argparse.Namespace) -> Path:
    directory = args.work / "params"
    if not (directory / f"keys_{PRESET}.txt").exists():  # written after the parameters and their checks
        measured([args.reference_python, str(args.peer_dir / "make_params.py"), "--models", PRESET, "--seed", "0",
                  "--out", str(directory)], args.work / "make_params.log")
    return directory / f"params_{PRESET}.npz"


def run_reference(case: dict, args: argparse.Namespace, bfloat16: bool = False) -> dict:
    """The official model's outputs of ``case`` (run unless present) and its record; ``bfloat16``: with the
    official default ``global_config.bfloat16`` instead of float32."""
    tag = "_bf16" if bfloat16 else ""
    base = args.work / "ref" / f"{stem(case)}_{PRESET}_r{case['num_recycle']}{tag}"
    process = {"reused": True}
    if args.rerun or not base.with_suffix(".npz").exists():
        process = measured([
            args.reference_python, str(args.peer_dir / "run_ref.py"), "--chains", case["chains"],
            "--seed", str(case["seed"]), "--num_msa", str(case["num_msa"]), "--num_recycle", str(case["num_recycle"]),
            "--model", PRESET, "--params_dir", str(args.work / "params"), "--out", str(args.work / "ref"),
            "--repeats", "1"] + (["--bf16"] if bfloat16 else []), args.work / f"reference_{stem(case)}{tag}.log")
    record = json.loads(base.with_suffix(".json").read_text())
    return {"outputs": str(base.with_suffix(".npz")), "num_res": record["num_res"], "msa_rows": record["msa_rows"],
            "num_alignments": record["num_alignments"], "predict_s": round(record["predict_first_s"], 1),
            "wall_s": round(record["wall_total_s"], 1), "peak_rss_mb": round(record["peak_rss_mb"]), **process}


def run_snakefold(case: dict, args: argparse.Namespace, params: Path, bfloat16: bool) -> dict:
    """snakefold's outputs of ``case`` on the reference's features (run unless present) and its record."""
    base = args.work / "sf" / f"{stem(case)}_r{case['num_recycle']}{'_bf16' if bfloat16 else ''}"
    process = {"reused": True}
    if args.rerun or not base.with_suffix(".json").exists():
        base.parent.mkdir(parents=True, exist_ok=True)
        process = measured([
            sys.executable, str(HERE / "snakefold_runner.py"), "--preset", PRESET, "--params", str(params),
            "--features", str(args.work / "ref" / f"{stem(case)}_feat.npz"),
            "--num-recycle", str(case["num_recycle"]), "--seed", str(case["seed"]), "--out", str(base) + ".npz",
            "--record", str(base) + ".json"] + (["--bfloat16"] if bfloat16 else []),
            args.work / f"snakefold_{base.name}.log")
    return {"outputs": str(base) + ".npz", **json.loads(base.with_suffix(".json").read_text()), **process}


def ca_deviation(ours: dict, reference: dict) -> np.ndarray:
    return np.linalg.norm(ours["structure_module/final_atom_positions"][:, CA].astype(np.float64)
                          - reference["structure_module/final_atom_positions"][:, CA], axis=-1)


def parity(ours: dict, reference: dict) -> dict:
    """How far ``ours`` is from ``reference`` (module docstring, step 4)."""
    def max_abs(key, select=lambda array: array):
        return float(np.max(np.abs(select(ours[key].astype(np.float64)) - select(reference[key].astype(np.float64)))))

    mask = reference["structure_module/final_atom_mask"][..., None] > 0
    deviation = ca_deviation(ours, reference)
    result = {
        "atoms_A": max_abs("structure_module/final_atom_positions", lambda array: np.where(mask, array, 0.0)),
        "atom_mask_equal": bool(np.array_equal(ours["structure_module/final_atom_mask"],
                                               reference["structure_module/final_atom_mask"])),
        "mean_ca_A": float(np.mean(deviation)), "max_ca_A": float(np.max(deviation)),
        "plddt": max_abs("plddt"), "pae_A": max_abs("predicted_aligned_error"),
        "ptm": max_abs("ptm"), "iptm": max_abs("iptm"), "ranking_confidence": max_abs("ranking_confidence"),
        "relative": {key: max_abs(key) / max(float(np.max(np.abs(reference[key]))), 1e-30)
                     for key in RELATIVE_KEYS if key in ours and key in reference},
    }
    result["within_tolerances"] = result["atom_mask_equal"] and all(
        result[name] <= bound for name, bound in TOLERANCES.items())
    return result


def scores(outputs: dict) -> dict:
    return {"mean_plddt": round(float(np.mean(outputs["plddt"])), 3), "ptm": round(float(outputs["ptm"]), 5),
            "iptm": round(float(outputs["iptm"]), 5)}


def run_case(name: str, args: argparse.Namespace, params: Path) -> dict:
    case = CASES[name]
    record = {"case": name, **case, "preset": PRESET, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    record["reference"] = run_reference(case, args)
    record["snakefold"] = run_snakefold(case, args, params, bfloat16=False)
    reference, ours = load(Path(record["reference"]["outputs"])), load(Path(record["snakefold"]["outputs"]))
    record["scores"] = {"reference": scores(reference), "snakefold": scores(ours)}
    record["parity"] = parity(ours, reference)
    if name in args.bfloat16_cases:
        bfloat16 = run_snakefold(case, args, params, bfloat16=True)
        half = load(Path(bfloat16["outputs"]))
        deviation = ca_deviation(half, ours)
        ca = ours["structure_module/final_atom_positions"][:, CA].astype(np.float64)
        record["bfloat16"] = {**bfloat16, "scores": scores(half), "ca_from_float32_mean_A": float(np.mean(deviation)),
                              "ca_from_float32_max_A": float(np.max(deviation)),
                              "float32_ca_radius_of_gyration_A": float(np.sqrt(np.mean(np.sum(
                                  (ca - ca.mean(axis=0)) ** 2, axis=-1)))),
                              "parity_with_reference_float32": parity(half, reference)}
        if args.reference_bfloat16:
            official = run_reference(case, args, bfloat16=True)
            official_half = load(Path(official["outputs"]))
            from_float32, from_snakefold = ca_deviation(official_half, reference), ca_deviation(half, official_half)
            record["reference_bfloat16"] = {
                **official, "scores": scores(official_half),
                "ca_from_float32_mean_A": float(np.mean(from_float32)),
                "ca_from_float32_max_A": float(np.max(from_float32)),
                "snakefold_bfloat16_ca_mean_A": float(np.mean(from_snakefold)),
                "snakefold_bfloat16_ca_max_A": float(np.max(from_snakefold))}
    return record


def short(key: str) -> str:
    """``representations/pair`` -> ``pair``, ``distogram/logits`` -> ``distogram``."""
    return key.split("/")[1] if key.startswith("representations/") else key.split("/")[0]


def load_text(record: dict) -> str:
    loads = [record[side].get("load_average_before") for side in ("reference", "snakefold")]
    return "/".join(f"{value:.1f}" for value in loads if value is not None) or "reused"


def print_tables(results: list[dict]) -> None:
    print("| case | chains | N | MSA rows | recycles | atoms max A | CA mean A | CA max A | pLDDT | PAE A | pTM | ipTM "
          "| worst relative | parity | reference predict s | snakefold compile + predict s | load |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|--:|--:|--:|")
    for record in results:
        parity_, reference, ours = record["parity"], record["reference"], record["snakefold"]
        worst = max(parity_["relative"], key=parity_["relative"].get)
        print(f"| {record['case']} | {record['chains']} | {reference['num_res']} | {reference['msa_rows']} "
              f"| {record['num_recycle']} | {parity_['atoms_A']:.2e} | {parity_['mean_ca_A']:.2e} "
              f"| {parity_['max_ca_A']:.2e} | {parity_['plddt']:.2e} | {parity_['pae_A']:.2e} | {parity_['ptm']:.1e} "
              f"| {parity_['iptm']:.1e} | {parity_['relative'][worst]:.1e} ({short(worst)}) "
              f"| {'ok' if parity_['within_tolerances'] else 'OUT'} | {reference['predict_s']:.0f} "
              f"| {ours['compile_s']:.0f} + {ours['predict_s']:.0f} | {load_text(record)} |")
    half = [record for record in results if "bfloat16" in record]
    if half:
        print("\n| case | float32 pLDDT / pTM / ipTM | bfloat16 pLDDT / pTM / ipTM | CA from float32 mean / max A "
              "| float32 CA radius of gyration A | bfloat16 vs reference: atoms max A, pLDDT, PAE A, pTM, ipTM "
              "| bfloat16 compile + predict s |")
        print("|---|---|---|--:|--:|---|--:|")
        for record in half:
            full, bfloat16 = record["scores"]["snakefold"], record["bfloat16"]
            other = bfloat16["parity_with_reference_float32"]
            print(f"| {record['case']} | {full['mean_plddt']:.3f} / {full['ptm']:.5f} / {full['iptm']:.5f} "
                  f"| {bfloat16['scores']['mean_plddt']:.3f} / {bfloat16['scores']['ptm']:.5f} "
                  f"/ {bfloat16['scores']['iptm']:.5f} | {bfloat16['ca_from_float32_mean_A']:.3f} / "
                  f"{bfloat16['ca_from_float32_max_A']:.3f} | {bfloat16['float32_ca_radius_of_gyration_A']:.1f} "
                  f"| {other['atoms_A']:.3f}, {other['plddt']:.3f}, "
                  f"{other['pae_A']:.3f}, {other['ptm']:.1e}, {other['iptm']:.1e} "
                  f"| {bfloat16['compile_s']:.0f} + {bfloat16['predict_s']:.0f} |")
    official = [record for record in results if "reference_bfloat16" in record]
    if official:
        print("\n| case | official bfloat16 pLDDT / pTM / ipTM | official bfloat16 CA from official float32 mean / max A "
              "| snakefold bfloat16 CA from official bfloat16 mean / max A | official bfloat16 predict s |")
        print("|---|---|--:|--:|--:|")
        for record in official:
            half = record["reference_bfloat16"]
            print(f"| {record['case']} | {half['scores']['mean_plddt']:.3f} / {half['scores']['ptm']:.5f} "
                  f"/ {half['scores']['iptm']:.5f} | {half['ca_from_float32_mean_A']:.3f} / "
                  f"{half['ca_from_float32_max_A']:.3f} | {half['snakefold_bfloat16_ca_mean_A']:.3f} / "
                  f"{half['snakefold_bfloat16_ca_max_A']:.3f} | {half['predict_s']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-python", default="/tmp/af232-venv/bin/python",
                        help="python of the reference's environment (peer README: /tmp/af232-venv)")
    parser.add_argument("--peer-dir", type=Path, default=REPO.parent / "shared" / "reference" / "peer_multimer")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mmbench"))
    parser.add_argument("--cases", default="a,b,c", help=f"of {', '.join(CASES)}")
    parser.add_argument("--bfloat16-cases", default="b")
    parser.add_argument("--reference-bfloat16", action="store_true",
                        help="also run the official model in its default bfloat16 on the --bfloat16-cases, as a "
                             "yardstick of how far bfloat16 moves the structure")
    parser.add_argument("--rerun", action="store_true", help="run again even where outputs exist")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if args.table_only:
        print_tables(json.loads(args.results.read_text()))
        return
    args.bfloat16_cases = [name for name in args.bfloat16_cases.split(",") if name]
    if not (args.peer_dir / "run_ref.py").exists():
        sys.exit(f"{args.peer_dir} has no run_ref.py: the reference harness is needed (--peer-dir)")
    params = ensure_params(args)
    results = []
    for name in args.cases.split(","):
        results.append(run_case(name, args, params))
        print(json.dumps({key: results[-1][key] for key in ("case", "parity")}), flush=True)
    atomic_write_json(args.results, results)
    print_tables(results)


if __name__ == "__main__":
    main()
