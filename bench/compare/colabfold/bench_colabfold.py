"""Throughput on a batch: snakefold's workflow against ColabFold's ``colabfold_batch``, same parameters, same a3m files.

    bench/compare/colabfold/setup_colabfold.sh                  # once: prints the colabfold_batch to use
    nice .venv/bin/python bench/compare/colabfold/bench_colabfold.py --colabfold-batch PATH \
        [--halves shallow,deep] [--targets NAME,...] [--order snakefold,colabfold,colabfold,snakefold] \
        [--num-recycle 3] [--params-dir DIR] [--work DIR]

The batch (:data:`TARGETS`): eight single chains of 50-300 residues in two halves, each half one batch of
both tools.

- **shallow**: random sequences of 60, 120, 200 and 300 residues, each with a precomputed a3m of 32 to 128
  rows (the query and mutated copies, :func:`bench.predict.bench_breakdown.random_a3m`);
- **deep**: four real alignments of over 1,000 rows from ``../shared/data/msas`` (read there at run time):
  ColabFold's MMseqs2 MSAs of 4-OT (59 residues) and of 3G5O chain A (93), OpenProteinSet's UniRef90 MSA of
  haemoglobin alpha (141), HH-suite's example of phosphoribulokinase (290).

Both tools read the same a3m files, written into the work directory: the alignment's records as they are,
without comment lines (``#``, ``;``) and HH-suite's secondary-structure records (``ss_*``), which are not
sequences. Parameters: random, in the official format, for all five ``params_model_{1..5}_ptm.npz`` (ColabFold
loads them from ``<data>/params/`` and wants ``download_finished.txt`` there), made once by ``snakefold
make-params --architecture full``. Both run model_1_ptm only, seed 0, ``--num-recycle`` recycles (3), no
templates, no relaxation:

- **snakefold**: the Snakemake workflow (``snakemake --cores 2``) with ``msa.mode: precomputed``, one preset
  and seed, ``relax.mode: none``, from an empty results and cache directory (compilations included, as
  ColabFold compiles in every invocation), through its report stage;
- **ColabFold**: ``colabfold_batch <a3m dir> <out> --model-type alphafold2_ptm --num-models 1 --num-recycle
  3 --num-relax 0 --data <params>`` (offline: the a3m files carry the MSAs, the parameters are in place), its
  defaults otherwise (the batch padding it chooses included).

Runs alternate (``--order``, default snakefold, ColabFold, ColabFold, snakefold), each a fresh process tree.
For each the bench prints the batch's wall time, CPU time (user + system of the whole process tree), the peak
resident memory of its largest process, each target's time (snakefold: the predict job's in-process time
from scores.json; ColabFold: the time between its "Query i/N" log lines, compile included) and the load
average before and after; then the snakefold/ColabFold ratios of the two tools' mean wall time, CPU time and
peak memory per half. Every run is appended to ``results.json`` beside this script.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench.predict.bench_breakdown import random_a3m
from snakefold.common import residue_constants as rc
from snakefold.common.atomic import atomic_write_json, atomic_write_text
from snakefold.msa.formats import read_msa

SHARED_MSAS = REPO.parent / "shared" / "data" / "msas"
RESULTS = Path(__file__).with_name("results.json")
BIN = Path(sys.executable).parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snakefold" / "bench-compare"
PRESETS = tuple(f"model_{index}_ptm" for index in range(1, 6))

#: name -> (half, source): a shallow target's (length, MSA rows), or a deep target's a3m under SHARED_MSAS.
TARGETS: dict[str, tuple[str, tuple[int, int] | str]] = {
    "shallow_l060": ("shallow", (60, 32)),
    "shallow_l120": ("shallow", (120, 64)),
    "shallow_l200": ("shallow", (200, 96)),
    "shallow_l300": ("shallow", (300, 128)),
    "deep_4ot": ("deep", "colabfold/4OT_PIAQIHILEG_complex_monomer.a3m"),
    "deep_3g5o_a": ("deep", "colabfold/3G5O_A_unpaired.a3m"),
    "deep_1a00_a": ("deep", "biotite/1a00_A_uniref90.a3m"),
    "deep_1a7j_a": ("deep", "hhsuite/1a7j_A_hhpred_example.a3m"),
}


def alignment_records(text: str) -> str:
    """The a3m's sequence records, without comment lines and HH-suite's ``ss_*`` records."""
    kept, keep = [], True
    for line in text.splitlines():
        if line.startswith(("#", ";")) or not line.strip():
            continue
        if line.startswith(">"):
            keep = not line[1:].startswith("ss_")
        if keep:
            kept.append(line)
    return "\n".join(kept) + "\n"


def write_inputs(directory: Path, names: list[str]) -> dict[str, dict]:
    """``<name>.a3m`` of every target and ``targets.fasta`` in ``directory``; each target's length and rows."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    described, fasta = {}, []
    for name, (_, source) in TARGETS.items():  # every shallow target drawn, so a subset keeps its sequences
        if isinstance(source, tuple):
            length, depth = source
            text = random_a3m("".join(rng.choice(list(rc.restypes), size=length)), depth, rng)
        elif name in names:
            path = SHARED_MSAS / source
            if not path.is_file():
                raise SystemExit(f"{path} is missing: the deep targets read ../shared/data/msas")
            text = alignment_records(path.read_text())
        if name not in names:
            continue
        a3m = directory / f"{name}.a3m"
        atomic_write_text(a3m, text)
        msa = read_msa(a3m, "a3m")
        query = msa.query.replace("-", "")
        described[name] = {"length": len(query), "rows": len(msa)}
        fasta.append(f">{name}\n{query}\n")
    atomic_write_text(directory / "targets.fasta", "".join(fasta))
    return described


def ensure_params(params_dir: Path) -> None:
    params_dir.mkdir(parents=True, exist_ok=True)
    for preset in PRESETS:
        subprocess.run([str(BIN / "snakefold"), "make-params", "--preset", preset, "--architecture", "full",
                        "--seed", "0", "--out", str(params_dir / f"params_{preset}.npz")], check=True)


def colabfold_data(work: Path, params_dir: Path) -> Path:
    """ColabFold's data directory: ``params/`` with links to the five parameter files and its marker file."""
    data = work / "colabfold_data"
    (data / "params").mkdir(parents=True, exist_ok=True)
    for preset in PRESETS:
        link = data / "params" / f"params_{preset}.npz"
        if not link.exists():
            link.symlink_to((params_dir / f"params_{preset}.npz").resolve())
    (data / "params" / "download_finished.txt").touch()
    return data


#: Runs argv[2:] and writes its process tree's rusage to argv[1]: a fresh parent per run, so that the children's
#: peak RSS (ru_maxrss, never reset within one parent) is this run's own.
RUSAGE_PARENT = """
import json, resource, subprocess, sys
status = subprocess.run(sys.argv[2:], check=False).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as handle:
    json.dump({"status": status, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_kb": usage.ru_maxrss}, handle)
"""


def measured(command: list[str], log: Path, cwd: Path) -> dict:
    """Run ``command`` as a fresh process tree: wall, CPU (user + system) and the largest process's peak RSS."""
    usage_file = log.with_suffix(".rusage.json")
    load_before = os.getloadavg()
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        subprocess.run([sys.executable, "-c", RUSAGE_PARENT, str(usage_file), *command], cwd=cwd, stdout=handle,
                       stderr=subprocess.STDOUT, check=True)
    wall = time.perf_counter() - started
    usage = json.loads(usage_file.read_text())
    if usage["status"] != 0:
        raise SystemExit(f"{' '.join(command)} failed (status {usage['status']}): see {log}")
    return {"wall_s": wall, "cpu_s": usage["cpu_s"], "peak_rss_mb": usage["peak_rss_kb"] / 1024,
            "load_before": load_before[:2], "load_after": os.getloadavg()[:2]}


def run_snakefold(run_dir: Path, inputs: Path, params_dir: Path, args: argparse.Namespace) -> dict:
    run_dir.mkdir(parents=True)
    config = {"inputs": [str(inputs / "targets.fasta")], "results_dir": str(run_dir / "results"),
              "cache_dir": str(run_dir / "cache"), "templates": {"enabled": False},
              "msa": {"mode": "precomputed", "precomputed_dir": str(inputs)},
              "model": {"presets": ["model_1_ptm"], "num_seeds": 1, "random_seed": 0,
                        "num_recycle": args.num_recycle, "params_dir": str(params_dir)},
              "relax": {"mode": "none"}}
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config))
    record = measured([str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(run_dir),
                       "--configfile", str(run_dir / "config.yaml"), "--cores", str(args.cores)],
                      run_dir / "snakemake.log", run_dir)
    # Each prediction's scores name its length, not its target: the bench's targets differ in length.
    batch = json.loads((run_dir / "results" / "_work" / "batch.json").read_text())
    name_of_length = {len(target["sequence"]): name for name, target in batch["targets"].items()}
    per_target = {}
    for scores in run_dir.glob("results/_work/*/predictions/model_1_ptm_seed0/scores.json"):
        document = json.loads(scores.read_text())
        per_target[name_of_length[document["length"]]] = round(sum(document["timings"].values()), 1)
    return {**record, "per_target_s": per_target}


def colabfold_per_target(log: Path) -> dict[str, float]:
    """Seconds from each "Query i/N: name" line of ColabFold's log to the next (or to "Done")."""
    stamps = []
    for line in log.read_text().splitlines():
        match = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+) (.*)", line)
        if not match:
            continue
        when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        query = re.match(r"Query \d+/\d+: (\S+)", match.group(2))
        if query or match.group(2).strip() == "Done":
            stamps.append((query.group(1) if query else None, when))
    return {name: round(stamps[index + 1][1] - when, 1) for index, (name, when) in enumerate(stamps[:-1]) if name}


def run_colabfold(run_dir: Path, inputs: Path, data: Path, args: argparse.Namespace) -> dict:
    a3m_dir = run_dir / "inputs"
    a3m_dir.mkdir(parents=True)
    for a3m in inputs.glob("*.a3m"):
        (a3m_dir / a3m.name).symlink_to(a3m.resolve())
    record = measured([str(args.colabfold_batch), str(a3m_dir), str(run_dir / "out"), "--model-type",
                       "alphafold2_ptm", "--num-models", "1", "--num-recycle", str(args.num_recycle),
                       "--num-relax", "0", "--random-seed", "0", "--data", str(data)],
                      run_dir / "colabfold.log", run_dir)
    return {**record, "per_target_s": colabfold_per_target(run_dir / "colabfold.log")}


def summary(half: str, runs: list[dict]) -> dict:
    def mean(tool: str, key: str) -> float:
        values = [run[key] for run in runs if run["tool"] == tool]
        return sum(values) / len(values)

    return {"half": half, **{f"{key}_ratio": mean("snakefold", key) / mean("colabfold", key)
                             for key in ("wall_s", "cpu_s", "peak_rss_mb")}}


def print_table(runs: list[dict], ratios: list[dict]) -> None:
    print("| half | run | tool | wall s | CPU s | peak RSS MB | per-target s | load before/after (1 min) |")
    print("|---|--:|---|--:|--:|--:|---|---|")
    for run in runs:
        targets = ", ".join(f"{name}: {seconds}" for name, seconds in run["per_target_s"].items())
        print(f"| {run['half']} | {run['index']} | {run['tool']} | {run['wall_s']:.0f} | {run['cpu_s']:.0f} | "
              f"{run['peak_rss_mb']:.0f} | {targets} | {run['load_before'][0]:.2f}/{run['load_after'][0]:.2f} |")
    for ratio in ratios:
        print(f"{ratio['half']}: snakefold/ColabFold wall {ratio['wall_s_ratio']:.3f}, CPU {ratio['cpu_s_ratio']:.3f}, "
              f"peak memory {ratio['peak_rss_mb_ratio']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--colabfold-batch", type=Path, required=True, help="setup_colabfold.sh's colabfold_batch")
    parser.add_argument("--halves", default="shallow,deep", help="comma-separated: shallow, deep")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of the batch")
    parser.add_argument("--order", default="snakefold,colabfold,colabfold,snakefold")
    parser.add_argument("--num-recycle", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (default 2)")
    parser.add_argument("--params-dir", type=Path, default=CACHE / "params")
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a new one in /tmp)")
    args = parser.parse_args()
    names = args.targets.split(",")
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    work = args.work or Path(f"/tmp/bench-colabfold-{os.getpid()}")
    ensure_params(args.params_dir)
    data = colabfold_data(work, args.params_dir)

    runs, ratios = [], []
    for half in args.halves.split(","):
        half_names = [name for name in names if TARGETS[name][0] == half]
        if not half_names:
            continue
        inputs = work / "inputs" / half
        described = write_inputs(inputs, half_names)
        print(f"{half}: {described}", file=sys.stderr)
        half_runs = []
        for index, tool in enumerate(args.order.split(",")):
            run_dir = work / half / f"{index}_{tool}"
            record = (run_snakefold(run_dir, inputs, args.params_dir, args) if tool == "snakefold"
                      else run_colabfold(run_dir, inputs, data, args))
            record.update(half=half, index=index, tool=tool)
            half_runs.append(record)
            print(f"{half} run {index} {tool}: {record['wall_s']:.0f} s wall, {record['cpu_s']:.0f} s CPU, "
                  f"load {record['load_before'][0]:.2f}/{record['load_after'][0]:.2f}", file=sys.stderr)
        runs.extend(half_runs)
        ratios.append({**summary(half, half_runs), "targets": described})
    print_table(runs, ratios)
    record = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "num_recycle": args.num_recycle,
              "cores": args.cores, "cpus": os.cpu_count(), "runs": runs, "ratios": ratios}
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    atomic_write_json(RESULTS, [*previous, record])
    return 0


if __name__ == "__main__":
    sys.exit(main())
