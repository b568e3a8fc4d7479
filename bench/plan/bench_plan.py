"""Benchmark: the dry run's CPU time, jobs and peak memory for proteome-sized batches and a large pulldown.

    .venv/bin/python bench/plan/bench_plan.py [--sizes 1000,5000,20000] [--pulldown 100x200] [--out FILE]

Each case is a batch a user would give: random protein sequences (50-400 residues, seeded), ``msa.mode:
single_sequence``, no templates, one model preset (model_3; model_1_multimer_v3 for the pulldown; small random
parameters made once with `snakefold make-params`), no relaxation; the pulldown case is ``pulldown: {baits, preys}`` of that many
random chains. Each case runs ``snakemake -n --cores 1`` on the repository's Snakefile in a fresh directory,
as a child process whose own resource usage (``os.wait4``: user + system CPU, peak resident memory) is read
when it ends; the plan's job count comes from its "Job stats" table. Beside it, ``snakemake --list-rules``
on the same batch: parsing the Snakefile (which reads and plans the batch), what every job pays before it
starts, since each cluster job parses the Snakefile again.

Two references run in the same invocation:

- Snakemake's own floor: for each case, a bare Snakefile of the same shape (one chain of three rules per
  target, features -> predict -> report, each with one output and at most one input, and no input
  function, resource function or parameter), planned for the same number of targets. What snakefold's plan
  costs above it is snakefold's; the floor itself is Snakemake's.
- The smallest single-chain batch: the single-chain batches are reported as growth factors (CPU of one size
  over the CPU of the size before it, beside the ratio of their sizes). A planning layer linear in the batch
  has growth equal to the size ratio.

The numbers go to ``--out`` (bench/plan/results.json by default) and are printed as a table, with the
machine's load average before and after each case.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from snakefold.common.atomic import atomic_write_json

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
PRESETS = ("model_3", "model_1_multimer_v3")


def random_proteins(prefix: str, count: int, rng: random.Random) -> str:
    """``count`` FASTA records of random proteins of 50-400 residues, named ``<prefix><index>``."""
    return "".join(f">{prefix}{index}\n{''.join(rng.choices(AMINO_ACIDS, k=rng.randint(50, 400)))}\n"
                   for index in range(count))


def make_params(directory: Path) -> Path:
    """Small random parameters of the presets (the plan checks that they are there and intact)."""
    for preset in PRESETS:
        subprocess.run([str(BIN / "snakefold"), "make-params", "--architecture", "small", "--preset", preset,
                        "--out", str(directory / f"params_{preset}.npz")], check=True, capture_output=True)
    return directory


def write_case(directory: Path, params: Path, singles: int = 0, baits: int = 0, preys: int = 0) -> Path:
    """The batch's FASTA files and config in ``directory``; returns the config's path."""
    rng = random.Random(singles * 1_000_003 + baits * 1_009 + preys)
    config = {"results_dir": "results", "cache_dir": "cache", "msa": {"mode": "single_sequence"},
              "templates": {"enabled": False}, "relax": {"mode": "none"},
              "model": {"presets": [PRESETS[0]], "multimer_presets": [PRESETS[1]], "params_dir": str(params),
                        "num_recycle": 0}}
    if singles:
        (directory / "batch.fasta").write_text(random_proteins("protein", singles, rng))
        config["inputs"] = ["batch.fasta"]
    if baits:
        (directory / "baits.fasta").write_text(random_proteins("bait", baits, rng))
        (directory / "preys.fasta").write_text(random_proteins("prey", preys, rng))
        config["inputs"] = []
        config["pulldown"] = {"baits": ["baits.fasta"], "preys": ["preys.fasta"]}
    path = directory / "config.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


#: Snakemake's floor for a batch of targets: the DAG's shape with nothing of snakefold in it.
BARE_SNAKEFILE = """
import os
TARGETS = [f"t{index}" for index in range(int(os.environ["BENCH_PLAN_TARGETS"]))]
rule all:
    input: expand("results/{t}/report.txt", t=TARGETS)
rule features:
    output: "cache/features/{t}.npz"
    shell: "touch {output}"
rule predict:
    input: "cache/features/{t}.npz"
    output: "work/{t}/predictions/unrelaxed.pdb"
    shell: "touch {output}"
rule report:
    input: "work/{t}/predictions/unrelaxed.pdb"
    output: "results/{t}/report.txt"
    shell: "touch {output}"
"""


def job_count(output: str) -> int:
    """The total of the dry run's "Job stats" table."""
    for line in output.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "total" and words[1].isdigit():
            return int(words[1])
    raise RuntimeError(f"no 'Job stats' total in the dry run's output:\n{output[-3000:]}")


def dry_run(directory: Path, snakefile: Path, *options: str, count_jobs: bool = True, **environ: str) -> dict:
    """``snakemake -n`` in ``directory``: CPU seconds, wall seconds, peak RSS (MiB) and (``count_jobs``) jobs of the
    child."""
    command = [str(BIN / "snakemake"), "--snakefile", str(snakefile), "--directory", str(directory), "-n", "--cores",
               "1", *options]
    environment = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", **environ)
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=directory, env=environment, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"the dry run failed ({process.returncode}):\n{text[-3000:]}")
    return {"cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "wall_s": round(wall, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), **({"jobs": job_count(text)} if count_jobs else {})}


def run_case(name: str, params: Path, **sizes: int) -> dict:
    """snakefold's dry run of the case, then the bare Snakefile's for as many targets."""
    targets = sizes.get("singles", 0) + sizes.get("baits", 0) * sizes.get("preys", 0)
    with tempfile.TemporaryDirectory(prefix="bench_plan_") as scratch, \
            tempfile.TemporaryDirectory(prefix="bench_plan_bare_") as bare:
        load_before = os.getloadavg()[0]
        config = str(write_case(Path(scratch), params, **sizes))
        measured = dry_run(Path(scratch), REPO / "Snakefile", "--configfile", config)
        # what every job of the batch pays before it starts: parsing the Snakefile (so planning the batch)
        parse = dry_run(Path(scratch), REPO / "Snakefile", "--configfile", config, "--list-rules", count_jobs=False)
        (Path(bare) / "Snakefile").write_text(BARE_SNAKEFILE)
        floor = dry_run(Path(bare), Path(bare) / "Snakefile", BENCH_PLAN_TARGETS=str(targets))
        return {"case": name, **sizes, "targets": targets, **measured, "parse_cpu_s": parse["cpu_s"],
                "bare": floor, "cpu_vs_bare": round(measured["cpu_s"] / floor["cpu_s"], 2),
                "rss_vs_bare": round(measured["peak_rss_mib"] / floor["peak_rss_mib"], 2),
                "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


def with_growth(cases: list[dict]) -> list[dict]:
    """CPU per job, and the growth between consecutive single-chain batches."""
    previous = None
    for case in cases:
        case["cpu_per_job_ms"] = round(1000 * case["cpu_s"] / case["jobs"], 3)
        if case.get("singles") and previous is not None:
            case["growth"] = round(case["cpu_s"] / previous["cpu_s"], 2)
            case["size_ratio"] = round(case["singles"] / previous["singles"], 2)
        if case.get("singles"):
            previous = case
    return cases


def table(cases: list[dict]) -> str:
    lines = ["| case | jobs | CPU s | wall s | peak RSS MiB | CPU ms / job | growth (size ratio) | bare Snakemake: "
             "jobs, CPU s, peak RSS MiB | CPU / bare | RSS / bare | parsing, CPU s per job | load before/after |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"]
    for case in cases:
        growth = f"{case['growth']} ({case['size_ratio']})" if "growth" in case else ""
        bare = case["bare"]
        lines.append(f"| {case['case']} | {case['jobs']:,} | {case['cpu_s']} | {case['wall_s']} | "
                     f"{case['peak_rss_mib']} | {case['cpu_per_job_ms']} | {growth} | {bare['jobs']:,}, "
                     f"{bare['cpu_s']}, {bare['peak_rss_mib']} | {case['cpu_vs_bare']} | {case['rss_vs_bare']} | "
                     f"{case['parse_cpu_s']} | {case['load_before']}/{case['load_after']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,20000", help="single-chain batch sizes, smallest first")
    parser.add_argument("--pulldown", default="100x200", help="baits x preys ('' for none)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "plan" / "results.json")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="bench_plan_params_") as params_dir:
        params = make_params(Path(params_dir))
        cases = []
        for size in sizes:
            cases.append(run_case(f"{size:,} single chains", params, singles=size))
            print(json.dumps(cases[-1]), flush=True)
        if args.pulldown:
            baits, preys = (int(count) for count in args.pulldown.split("x"))
            cases.append(run_case(f"pulldown {baits} x {preys}", params, baits=baits, preys=preys))
            print(json.dumps(cases[-1]), flush=True)
    cases = with_growth(cases)
    atomic_write_json(args.out, {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.node(),
                                 "cpus": os.cpu_count(), "python": platform.python_version(), "cases": cases})
    print(table(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
