"""Benchmark: snakefold against the reference AlphaFold2 implementation, same parameters, same inputs, same machine.

    nice .venv/bin/python bench/compare/compare.py [--lengths 64,128,256] [--depths 64,1024,5120] \
        [--presets model_1_ptm,model_3] [--recycles 1,3] [--reference-python PATH] [--params-dir DIR] \
        [--reuse-reference] [--table-only]

One command runs every case of the grid (lengths x MSA depths x presets x recycle counts; options select
subsets) and prints, per case, snakefold/reference ratios of run wall time and of peak memory, compile
times apart, and how far snakefold's outputs are from the reference's. Each case:

1. **Inputs.** Synthetic raw features (:mod:`snakefold.features.synthetic`): a random query of length L and
   ``depth`` real MSA rows, mutated copies of it (32 % substitutions, 8 % gaps, deletions); two templates
   for the template preset. No real alignment here is both long and deep enough (the deepest, ColabFold's
   4OT, has 7,797 rows of 59 residues; biotite's 1a00 3,391 rows of 141), and the work both models do
   depends on the shapes and masks only, not on the residues. The reference's own feature processing
   (``reference_runner.py prepare``) turns them into the processed features both implementations run on:
   padded to its fixed sizes (508 clusters and 5,120 extra rows for model_1_ptm, 512 and 5,120 for
   model_3), with ``num_recycle + 1`` resampled slices. Feature processing is not timed.
2. **Reference** (``reference_runner.py predict``, in the reference's own environment, fresh process):
   float32, unfused weights, no early stop; its run time is the wall time of ``predict`` minus the time
   JAX's compile events report (it compiles per target, twice in float32 mode).
3. **snakefold** (``snakefold_runner.py``): a ``compile`` process fills an empty persistent compilation
   cache for the case's shapes (compile time and compile peak memory), then a ``run`` process, as any
   later job would, loads the compiled iteration from the cache and runs; its run time and peak memory are
   the ones compared. snakefold drops the padding rows of the same processed features (row buckets).
4. Reference and snakefold runs alternate (reference first in even cases, snakefold first in odd ones);
   each is a fresh process whose peak resident memory the parent reads from ``wait4`` (on a GPU, the
   device's peak as well). The load average before each run is recorded: the machine may be shared.
5. **Parity**: max |difference| of atom positions (Angstrom), mean CA deviation, pLDDT, PAE, pTM; max
   |difference| / max |reference| of the head logits and of the recycled pair and first-row representations
   (masked-MSA logits over the real rows). Judged by the issue's tolerances: all of them at zero recycles
   (:data:`TOLERANCES`), the mean CA deviation with recycling (:data:`RECYCLED_MEAN_CA_TOLERANCE`).

Every case is appended to ``--results`` (default bench/compare/results.json) as soon as it is done;
``--reuse-reference`` takes a case's reference run from an earlier record instead of running it again
(marked ``reused``). ``--table-only`` prints the table of the latest record of every case.

On a GPU (backend detected by JAX) the same command also runs snakefold at L = 512 in float32 and in
bfloat16 and reports the fraction of the device's bfloat16 peak the model reaches: FLOPs of one recycling
iteration (:mod:`bench.compare.flops`: XLA's cost analysis counts a loop body once, so the count walks
the traced program and multiplies every scan body by its trip count) over the measured iteration time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from snakefold.common import residue_constants  # noqa: E402
from snakefold.common.atomic import atomic_save_npz, atomic_write_json  # noqa: E402
from snakefold.features.synthetic import synthetic_raw_features  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
DEFAULT_WORKDIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snakefold" / "bench-compare"
TEMPLATE_PRESETS = ("model_1", "model_2", "model_1_ptm", "model_2_ptm")
#: Parity tolerances of the issue at zero recycles: absolute for positions (Angstrom), pLDDT, PAE, pTM;
#: relative otherwise.
TOLERANCES = {"atoms_A": 0.05, "plddt": 0.05, "pae": 0.05, "ptm": 1e-3, "logits_rel": 1e-3, "trunk_rel": 1e-3}
#: With recycling, the issue's tolerance is on the mean CA deviation (Angstrom): the recycled distances are
#: binned (15 bins of 1.25 A), so a rounding difference of 1e-4 A flips the bin of a pair near an edge now
#: and then (about one pair in 6,000 per iteration), which changes that pair's embedding by a whole bin and
#: the representations around it; the structure barely moves.
RECYCLED_MEAN_CA_TOLERANCE = 0.1
LOGITS = ("distogram/logits", "predicted_lddt/logits", "experimentally_resolved/logits", "masked_msa/logits")


def case_name(case: dict) -> str:
    return f"{case['preset']}_L{case['length']}_depth{case['depth']}_recycle{case['num_recycle']}"


def run_measured(command: list[str], log: Path) -> dict:
    """Run ``command`` in a fresh process; its wall time, CPU time and peak resident memory (from wait4)."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with open(log, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit status {process.returncode}; see {log}")
    return {"process_wall_s": round(time.perf_counter() - start, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "process_peak_rss_mb": round(usage.ru_maxrss / 1024.0), "load_average_before": round(load, 2)}


def prepare_case(case: dict, directory: Path, reference_python: str) -> Path:
    """Raw features and the reference's processed features of ``case`` (made once, kept in ``directory``)."""
    directory.mkdir(parents=True, exist_ok=True)
    raw_path, features_path = directory / "raw.npz", directory / "features.npz"
    if not raw_path.exists():
        num_templates = 2 if case["preset"] in TEMPLATE_PRESETS else 0
        raw = synthetic_raw_features(case["length"], case["depth"], num_templates, seed=case["seed"])
        atomic_save_npz(raw_path, {key: value for key, value in raw.items() if value.dtype.kind not in "OSU"},
                        compress=False)
    if not features_path.exists():
        run_measured([reference_python, str(HERE / "reference_runner.py"), "prepare", "--raw", str(raw_path),
                      "--preset", case["preset"], "--num-recycle", str(case["num_recycle"]),
                      "--seed", str(case["seed"]), "--features", str(features_path)], directory / "prepare.log")
    return features_path


def run_reference(case: dict, directory: Path, features: Path, reference_python: str, params_dir: Path) -> dict:
    record = directory / "reference.json"
    process = run_measured([reference_python, str(HERE / "reference_runner.py"), "predict",
                            "--features", str(features), "--preset", case["preset"],
                            "--num-recycle", str(case["num_recycle"]), "--seed", str(case["seed"]),
                            "--params-dir", str(params_dir), "--outputs", str(directory / "reference_outputs.npz"),
                            "--record", str(record)], directory / "reference.log")
    return {**json.loads(record.read_text()), **process}


def run_snakefold(case: dict, directory: Path, features: Path, params_dir: Path, bfloat16: bool) -> dict:
    tag = "_bf16" if bfloat16 else ""
    cache = directory / f"jax_cache{tag}"
    if cache.exists():
        for entry in cache.iterdir():
            entry.unlink()
    common = ["--features", str(features), "--preset", case["preset"], "--num-recycle", str(case["num_recycle"]),
              "--cache-dir", str(cache)] + (["--bfloat16"] if bfloat16 else [])
    runner = [sys.executable, str(HERE / "snakefold_runner.py")]
    compile_record, run_record = directory / f"snakefold_compile{tag}.json", directory / f"snakefold_run{tag}.json"
    compile_process = run_measured(runner + ["compile"] + common + ["--record", str(compile_record)],
                                   directory / f"snakefold_compile{tag}.log")
    run_process = run_measured(runner + ["run"] + common + [
        "--params", str(params_dir / "params" / f"params_{case['preset']}.npz"),
        "--outputs", str(directory / f"snakefold_outputs{tag}.npz"), "--record", str(run_record)],
        directory / f"snakefold_run{tag}.log")
    return {"compile": {**json.loads(compile_record.read_text()), **compile_process},
            "run": {**json.loads(run_record.read_text()), **run_process}}


def parity(reference_path: Path, snakefold_path: Path, case: dict) -> dict:
    """How far snakefold's outputs are from the reference's (module docstring, step 5)."""
    with np.load(reference_path) as archive:
        reference = {key: archive[key].astype(np.float64) for key in archive.files}
    with np.load(snakefold_path) as archive:
        ours = {key: archive[key].astype(np.float64) for key in archive.files}
    reference["representations/msa_first_row"] = reference.pop("representations/single")
    mask = reference["structure_module/final_atom_mask"][..., None] > 0

    def max_abs(key, select=lambda array: array):
        return float(np.max(np.abs(select(ours[key]) - select(reference[key]))))

    def relative(key, select=lambda array: array):
        return max_abs(key, select) / max(float(np.max(np.abs(select(reference[key])))), 1e-30)

    real_rows = min(case["depth"], ours["masked_msa/logits"].shape[0])
    ca = residue_constants.atom_order["CA"]
    ca_deviation = np.linalg.norm(ours["structure_module/final_atom_positions"][:, ca]
                                  - reference["structure_module/final_atom_positions"][:, ca], axis=-1)
    result = {
        "atoms_A": max_abs("structure_module/final_atom_positions", lambda array: np.where(mask, array, 0.0)),
        "mean_ca_A": float(np.mean(ca_deviation)),
        "plddt": max_abs("plddt"),
        "logits_rel": {key.split("/")[0]: relative(key, (lambda array: array[:real_rows]) if key.startswith(
            "masked_msa") else (lambda array: array)) for key in LOGITS},
        "trunk_rel": {key.split("/")[1]: relative(key) for key in (
            "representations/pair", "representations/msa_first_row")},
    }
    if "ptm" in reference:
        result["pae"] = max_abs("predicted_aligned_error")
        result["ptm"] = max_abs("ptm")
    if case["num_recycle"] > 0:
        result["within_tolerances"] = result["mean_ca_A"] <= RECYCLED_MEAN_CA_TOLERANCE
        return result
    worst = {name: (max(value.values()) if isinstance(value, dict) else value) for name, value in result.items()
             if name in TOLERANCES}
    result["within_tolerances"] = all(worst[name] <= TOLERANCES[name] for name in worst)
    return result


def load_results(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def previous_reference(results: list[dict], case: dict) -> dict | None:
    for record in reversed(results):
        if record["case"] == case and record.get("reference") and not record["reference"].get("reused"):
            return {**record["reference"], "reused": record["date"]}
    return None


def machine() -> dict:
    import jax
    return {"backend": jax.default_backend(), "device_kind": jax.devices()[0].device_kind,
            "cpus": os.cpu_count(), "jax": jax.__version__}


def run_case(case: dict, index: int, args: argparse.Namespace, results: list[dict]) -> dict:
    directory = args.workdir / "cases" / case_name(case)
    features = prepare_case(case, directory, args.reference_python)
    reference = previous_reference(results, case) if args.reuse_reference else None
    order = ["reference", "snakefold"] if index % 2 == 0 else ["snakefold", "reference"]
    snakefold = None
    record = {"case": case, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine()}
    try:
        for side in order:
            if side == "reference" and reference is None:
                reference = run_reference(case, directory, features, args.reference_python, args.params_dir)
            elif side == "snakefold":
                snakefold = run_snakefold(case, directory, features, args.params_dir, bfloat16=False)
        record.update(reference=reference, snakefold=snakefold, parity=parity(
            directory / "reference_outputs.npz", directory / "snakefold_outputs.npz", case))
        if args.bfloat16:
            bfloat16 = run_snakefold(case, directory, features, args.params_dir, bfloat16=True)
            record["snakefold_bfloat16"] = {**bfloat16, "parity": parity(
                directory / "reference_outputs.npz", directory / "snakefold_outputs_bf16.npz", case)}
        record["ratios"] = ratios(record)
    except RuntimeError as error:
        record.update(reference=reference, snakefold=snakefold, error=str(error))
    return record


def ratios(record: dict) -> dict:
    reference, run = record["reference"], record["snakefold"]["run"]
    result = {"run_time": round(run["run_s"] / reference["run_s"], 3),
              "peak_memory": round(run["process_peak_rss_mb"] / reference["process_peak_rss_mb"], 3),
              "cpu_time": round(run["cpu_s"] / reference["cpu_s"], 3)}
    if "device_peak_mb" in run and "device_peak_mb" in reference:
        result["device_peak_memory"] = round(run["device_peak_mb"] / reference["device_peak_mb"], 3)
    return result


def print_table(results: list[dict]) -> None:
    latest = {}
    for record in results:
        if "error" not in record:
            latest[case_name(record["case"])] = record
    print("| preset | L | depth | recycles | reference run s | snakefold run s | time ratio | reference compile s "
          "| snakefold compile s | reference peak MB | snakefold peak MB (compile) | memory ratio | atoms A "
          "| mean CA A | worst logits rel | trunk rel | parity | load |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|--:|")
    for name in sorted(latest, key=lambda key: tuple(latest[key]["case"][field] for field in (
            "preset", "length", "depth", "num_recycle"))):
        record = latest[name]
        case, reference, parity_ = record["case"], record["reference"], record["parity"]
        compile_, run = record["snakefold"]["compile"], record["snakefold"]["run"]
        reused = " (earlier)" if reference.get("reused") else ""
        print(f"| {case['preset']} | {case['length']} | {case['depth']} | {case['num_recycle']} "
              f"| {reference['run_s']:.1f}{reused} | {run['run_s']:.1f} | {record['ratios']['run_time']:.3f} "
              f"| {reference['compile_s']:.1f} | {compile_['compile_s']:.1f} "
              f"| {reference['process_peak_rss_mb']} | {run['process_peak_rss_mb']} "
              f"({compile_['process_peak_rss_mb']}) | {record['ratios']['peak_memory']:.3f} "
              f"| {parity_['atoms_A']:.2g} | {parity_.get('mean_ca_A', float('nan')):.2g} | {max(parity_['logits_rel'].values()):.2g} "
              f"| {max(parity_['trunk_rel'].values()):.2g} | {'ok' if parity_['within_tolerances'] else 'OUT'} "
              f"| {reference['load_average_before']:.1f}/{run['load_average_before']:.1f} |")


def gpu_utilisation(args: argparse.Namespace) -> list[dict]:
    """On a GPU: snakefold at L = 512 (model_1_ptm, 1,024 sequences, one recycling iteration), float32 and
    bfloat16: the fraction of the device's bfloat16 peak reached."""
    command = [sys.executable, str(HERE / "flops.py"), "--length", "512", "--depth", "1024",
               "--preset", "model_1_ptm", "--workdir", str(args.workdir / "utilisation")]
    records = []
    for precision in ("float32", "bfloat16"):
        record_path = args.workdir / "utilisation" / f"{precision}.json"
        record_path.parent.mkdir(parents=True, exist_ok=True)
        run_measured(command + ["--record", str(record_path)] + (["--bfloat16"] if precision == "bfloat16" else []),
                     record_path.with_suffix(".log"))
        records.append(json.loads(record_path.read_text()))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="64,128,256")
    parser.add_argument("--depths", default="64,1024,5120")
    parser.add_argument("--presets", default="model_1_ptm,model_3")
    parser.add_argument("--recycles", default="1,3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-python", default=str(DEFAULT_WORKDIR / "reference-venv" / "bin" / "python"),
                        help="interpreter of the reference's environment (bench/compare/setup_reference.sh)")
    parser.add_argument("--params-dir", type=Path, default=None,
                        help="directory with params/params_<preset>.npz in the official format (default: random "
                             "parameters made with `snakefold make-params` in the work directory)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="inputs, outputs, logs, caches")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--reuse-reference", action="store_true",
                        help="take each case's reference run from an earlier record when there is one")
    parser.add_argument("--bfloat16", action="store_true", help="also run snakefold with bfloat16 activations")
    parser.add_argument("--table-only", action="store_true", help="print the table of --results and stop")
    args = parser.parse_args()

    if args.table_only:
        print_table(load_results(args.results))
        return
    if not Path(args.reference_python).exists():
        sys.exit(f"no reference interpreter at {args.reference_python}: run bench/compare/setup_reference.sh "
                 f"(it prints the interpreter to pass as --reference-python)")
    presets = args.presets.split(",")
    if args.params_dir is None:
        args.params_dir = args.workdir
        for preset in presets:
            path = args.workdir / "params" / f"params_{preset}.npz"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run([str(REPO / ".venv" / "bin" / "snakefold"), "make-params", "--preset", preset,
                                "--seed", str(args.seed), "--out", str(path)], check=True)
    cases = [{"preset": preset, "length": int(length), "depth": int(depth), "num_recycle": int(recycles),
              "seed": args.seed}
             for length in args.lengths.split(",") for depth in args.depths.split(",")
             for preset in presets for recycles in args.recycles.split(",")]
    results = load_results(args.results)
    for index, case in enumerate(cases):
        print(f"[{index + 1}/{len(cases)}] {case_name(case)}", flush=True)
        record = run_case(case, index, args, results)
        results.append(record)
        atomic_write_json(args.results, results)
        if "error" in record:
            print(f"    failed: {record['error']}", flush=True)
            continue
        print(f"    run time ratio {record['ratios']['run_time']:.3f}, peak memory ratio "
              f"{record['ratios']['peak_memory']:.3f}, parity within tolerances: "
              f"{record['parity']['within_tolerances']}", flush=True)
    print_table(results)
    if machine()["backend"] == "gpu":
        for record in gpu_utilisation(args):
            print(f"L=512 {record['precision']}: {record['flops_per_iteration'] / 1e12:.1f} TFLOP per iteration in "
                  f"{record['iteration_s']:.2f} s = {record['tflops']:.1f} TFLOP/s, "
                  f"{100 * record['fraction_of_bf16_peak']:.1f} % of the {record['device_kind']} bfloat16 peak")


if __name__ == "__main__":
    main()
