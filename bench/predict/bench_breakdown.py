"""Where a predict job's time goes: a batch of targets of one length bucket, one process per target or one for all.

    nice .venv/bin/python bench/predict/bench_breakdown.py [--preset model_1_ptm] [--architecture full] \
        [--lengths 49,50,...] [--bucket 64] [--msa-depth 64] [--num-recycle 3] [--modes jobs,group]

Targets: ``--lengths`` random sequences (default twelve lengths of the 64-residue bucket), each with a small
precomputed MSA (``--msa-depth`` rows: the query and copies with 15 % of positions substituted and a few
gaps), made into raw features by the features stage's own functions (:mod:`snakefold.msa.features`,
:mod:`snakefold.features.raw`), no templates. Parameters: random, in the official format, made once by
``snakefold make-params`` into ``--params-dir``.

Every run shares one persistent compilation cache, which a first ``snakefold predict`` (the warm-up) fills
for the bucket, so what follows is the steady state of a batch: every target's bucket already compiled.

- ``jobs``: one ``snakefold predict`` process per target, as one Snakemake job per model run runs it;
- ``group``: one ``snakefold predict`` process for all the targets (``--features`` and ``--out-dir`` of each):
  parameters loaded once, the compiled iteration loaded once and kept.

For each mode the bench prints the breakdown summed over the targets: process start and imports
(``startup_s``), parameter loading (``params_s``), cache lookup and load (``compile_s``), feature reading and
processing (``features_s``), model compute (``predict_s``), output writing (``write_s``) and what the
process spent outside them (interpreter exit, JAX teardown: wall minus the rest), with the batch's wall time,
the XLA compilations run, and the ratio of the batch's wall time to the sum of the model-compute times (the
issue's target: <= 1.2). Each run is appended to ``results.json`` beside this script with the load average.
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

from snakefold.common import residue_constants as rc
from snakefold.common.atomic import atomic_write_json, atomic_write_text
from snakefold.features.raw import empty_template_features, save_features, sequence_features
from snakefold.msa.features import make_msa_features
from snakefold.msa.formats import read_msa

SNAKEFOLD = Path(sys.executable).parent / "snakefold"
RESULTS = Path(__file__).with_name("results.json")
#: In-process phases of scores.json's timings, in the order of a job.
PHASES = ("startup_s", "params_s", "compile_s", "features_s", "predict_s", "write_s")
DEFAULT_LENGTHS = "49,50,51,52,54,55,57,58,60,61,63,64"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snakefold" / "bench-predict"


def random_a3m(sequence: str, depth: int, rng: np.random.Generator) -> str:
    """An a3m of ``depth`` rows: the query, then copies with 15 % of positions substituted and 5 % gapped."""
    letters = np.array(list(rc.restypes))
    query = np.array(list(sequence))
    rows = [f">query\n{sequence}\n"]
    for index in range(1, depth):
        row = query.copy()
        substituted = rng.random(len(row)) < 0.15
        row[substituted] = rng.choice(letters, size=int(substituted.sum()))
        row[rng.random(len(row)) < 0.05] = "-"
        rows.append(f">hit{index}\n{''.join(row)}\n")
    return "".join(rows)


def make_targets(directory: Path, lengths: list[int], depth: int, seed: int) -> list[Path]:
    """Raw features (.npz) of one random sequence per length, each with its precomputed a3m."""
    rng = np.random.default_rng(seed)
    paths = []
    for index, length in enumerate(lengths):
        sequence = "".join(rng.choice(list(rc.restypes), size=length))
        a3m = directory / f"target{index:02d}.a3m"
        atomic_write_text(a3m, random_a3m(sequence, depth, rng))
        features = {**sequence_features(sequence, f"target{index:02d}"),
                    **make_msa_features([read_msa(a3m, "a3m")], [str(a3m)]),
                    **empty_template_features(length)}
        path = directory / f"target{index:02d}.npz"
        save_features(path, features)
        paths.append(path)
    return paths


def ensure_params(params_dir: Path, preset: str, architecture: str) -> Path:
    path = params_dir / f"params_{preset}.npz"
    subprocess.run([str(SNAKEFOLD), "make-params", "--preset", preset, "--architecture", architecture,
                    "--seed", "0", "--out", str(path)], check=True)
    return path


def predict_command(args: argparse.Namespace, params: Path, cache: Path, features: list[Path],
                    out_dirs: list[Path]) -> list[str]:
    return [str(SNAKEFOLD), "predict", "--preset", args.preset, "--params", str(params), "--seed", "0",
            "--num-recycle", str(args.num_recycle), "--length-buckets", str(args.bucket),
            "--compilation-cache-dir", str(cache), "--features", *map(str, features),
            "--out-dir", *map(str, out_dirs)]


def run_process(command: list[str], log: Path) -> float:
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        result = subprocess.run(command, check=False, stdout=handle, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: see {log}")
    return wall


def run_mode(mode: str, args: argparse.Namespace, params: Path, cache: Path, targets: list[Path],
             work: Path) -> dict:
    out_dirs = [work / mode / target.stem for target in targets]
    started = time.perf_counter()
    process_walls = []
    if mode == "jobs":
        for target, out_dir in zip(targets, out_dirs):
            process_walls.append(run_process(predict_command(args, params, cache, [target], [out_dir]),
                                             work / f"{mode}_{target.stem}.log"))
    else:
        process_walls.append(run_process(predict_command(args, params, cache, targets, out_dirs),
                                         work / f"{mode}.log"))
    wall = time.perf_counter() - started
    scores = [json.loads((out_dir / "scores.json").read_text()) for out_dir in out_dirs]
    phases = {phase: sum(score["timings"][phase] for score in scores) for phase in PHASES}
    phases["outside_s"] = sum(process_walls) - sum(phases.values())
    padded = {score["compilation"]["padded_length"] for score in scores}
    return {
        "mode": mode, "processes": len(process_walls), "wall_s": wall, "phases_s": phases,
        "ratio_wall_to_compute": wall / phases["predict_s"],
        "xla_compilations": sum(score["compilation"]["xla_compilations"] for score in scores),
        "cache_hits": sum(score["compilation"]["cache_hits"] for score in scores),
        "padded_lengths": sorted(padded),
        "per_target_predict_s": [score["timings"]["predict_s"] for score in scores],
    }


def print_table(runs: list[dict]) -> None:
    columns = [*PHASES, "outside_s"]
    print("| mode | processes | " + " | ".join(columns) + " | batch wall s | wall / compute | XLA compilations "
          "| cache loads | load |")
    print("|---|--:|" + "--:|" * len(columns) + "--:|--:|--:|--:|--:|")
    for run in runs:
        cells = " | ".join(f"{run['phases_s'][column]:.1f}" for column in columns)
        print(f"| {run['mode']} | {run['processes']} | {cells} | {run['wall_s']:.1f} | "
              f"{run['ratio_wall_to_compute']:.3f} | {run['xla_compilations']} | {run['cache_hits']} | "
              f"{run['load_before']:.2f}/{run['load_after']:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="model_1_ptm")
    parser.add_argument("--architecture", default="full", choices=("full", "small"))
    parser.add_argument("--lengths", default=DEFAULT_LENGTHS, help="comma-separated target lengths")
    parser.add_argument("--bucket", type=int, default=64, help="the length bucket (>= every length)")
    parser.add_argument("--msa-depth", type=int, default=64, help="rows of each precomputed MSA")
    parser.add_argument("--num-recycle", type=int, default=3)
    parser.add_argument("--modes", default="jobs,group", help="comma-separated: jobs, group")
    parser.add_argument("--params-dir", type=Path, default=CACHE / "params")
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a new one in /tmp)")
    args = parser.parse_args()
    lengths = [int(word) for word in args.lengths.split(",")]
    if max(lengths) > args.bucket:
        parser.error(f"--lengths go beyond --bucket {args.bucket}")

    work = args.work or Path(f"/tmp/bench-predict-{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    args.params_dir.mkdir(parents=True, exist_ok=True)
    params = ensure_params(args.params_dir, args.preset, args.architecture)
    targets = make_targets(work, lengths, args.msa_depth, seed=0)
    cache = work / "jax_cache"
    warm_dir = work / "warm"
    warm_wall = run_process(predict_command(args, params, cache, targets[:1], [warm_dir]), work / "warm.log")
    warm = json.loads((warm_dir / "scores.json").read_text())
    print(f"warm-up (fills the compilation cache for bucket {args.bucket}): {warm_wall:.1f} s wall, "
          f"compile {warm['timings']['compile_s']:.1f} s, {warm['compilation']['xla_compilations']} XLA "
          f"compilation(s)", file=sys.stderr)

    runs = []
    for mode in args.modes.split(","):
        load_before = os.getloadavg()[0]
        run = run_mode(mode, args, params, cache, targets, work)
        run.update(load_before=load_before, load_after=os.getloadavg()[0])
        runs.append(run)
        print(f"{mode}: {run['wall_s']:.1f} s wall, ratio {run['ratio_wall_to_compute']:.3f}", file=sys.stderr)
    print(f"{args.preset} ({args.architecture}), {len(lengths)} targets of {min(lengths)}-{max(lengths)} residues "
          f"in bucket {args.bucket}, MSA depth {args.msa_depth}, {args.num_recycle} recycles; "
          f"warm-up {warm_wall:.1f} s (compile {warm['timings']['compile_s']:.1f} s)")
    print_table(runs)
    record = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "preset": args.preset,
              "architecture": args.architecture, "lengths": lengths, "bucket": args.bucket,
              "msa_depth": args.msa_depth, "num_recycle": args.num_recycle, "cpus": os.cpu_count(),
              "warm_up": {"wall_s": warm_wall, "timings": warm["timings"]}, "runs": runs}
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    atomic_write_json(RESULTS, [*previous, record])
    return 0


if __name__ == "__main__":
    sys.exit(main())
