"""Benchmark: time per query and hits of jackhmmer, hhblits and mmseqs2 on one database built by build-db.

    .venv/bin/python bench/msa/bench_msa.py [--threads 2] [--families 8] [--homologs 40] [--decoys 1000]

The database: for each of the first ``--families`` real protein sequences of ../shared/data/sequences.fasta
(the structures' chains), ``--homologs`` seeded homologs (20-90% identity, indels, trimmed ends), plus
``--decoys`` random sequences with natural amino-acid frequencies. The same records are built three times
with ``snakefold build-db`` (FASTA for jackhmmer, HH-suite clusters for hhblits, MMseqs2 for mmseqs2) and
every family's seed sequence is searched with each tool through the pipeline's own wrappers and default
flags (AlphaFold2's for jackhmmer and hhblits, ColabFold's for mmseqs2). Reported per tool: wall time per
query (median and total), MSA rows found, family members found (recall) and decoys found. The numbers go
to bench/msa/results.json and are printed as a table; the machine's load average is recorded with them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from snakefold.cli import main as snakefold_main
from snakefold.msa.formats import read_msa
from snakefold.plan.config import schema_defaults
from snakefold.tools import hhblits, jackhmmer, mmseqs

REPO = Path(__file__).resolve().parents[2]
SHARED_SEQUENCES = Path(os.environ.get("SNAKEFOLD_SHARED_DATA", REPO.parent / "shared" / "data")) / "sequences.fasta"
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
FREQUENCIES = (8.3, 1.4, 5.5, 6.7, 3.9, 7.1, 2.3, 5.9, 5.8, 9.7, 2.4, 4.1, 4.7, 3.9, 5.5, 6.6, 5.3, 6.9, 1.1, 2.9)


def seeds(count: int) -> list[tuple[str, str]]:
    records, name = [], None
    for line in SHARED_SEQUENCES.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
        elif name and len(line.strip()) >= 30 and set(line.strip()) <= set(AMINO_ACIDS):
            records.append((name, line.strip()))
            name = None
    return records[:count]


def homolog(sequence: str, rng: random.Random) -> str:
    identity = rng.uniform(0.2, 0.9)
    residues = [letter if rng.random() < identity else rng.choices(AMINO_ACIDS, FREQUENCIES)[0] for letter in sequence]
    if rng.random() < 0.4:
        at = rng.randrange(1, len(residues))
        residues[at:at] = rng.choices(AMINO_ACIDS, FREQUENCIES, k=rng.randint(1, 8))
    if rng.random() < 0.4:
        at = rng.randrange(1, len(residues) - 10)
        del residues[at:at + rng.randint(1, 8)]
    return "".join(residues[rng.randint(0, 5):len(residues) - rng.randint(0, 5)])


def write_database_fasta(path: Path, families: list[tuple[str, str]], homologs: int, decoys: int) -> None:
    rng = random.Random(int(hashlib.sha256(b"snakefold-bench-msa").hexdigest()[:8], 16))
    lines = []
    for name, sequence in families:
        for index in range(homologs):
            lines.append(f">{name}_h{index} homolog of {name}\n{homolog(sequence, rng)}\n")
    for index in range(decoys):
        length = rng.randint(50, 350)
        lines.append(f">decoy{index}\n{''.join(rng.choices(AMINO_ACIDS, FREQUENCIES, k=length))}\n")
    path.write_text("".join(lines))


def count_hits(msa, family: str) -> tuple[int, int, int]:
    """(rows besides the query, family members among them, decoys among them), distinct records."""
    names = {description.split()[0].split("/")[0] for description in msa.descriptions[1:]}
    members = {name for name in names if name.startswith(f"{family}_h")}
    return len(msa) - 1, len(members), sum(name.startswith("decoy") for name in names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--families", type=int, default=8)
    parser.add_argument("--homologs", type=int, default=40)
    parser.add_argument("--decoys", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()
    if not SHARED_SEQUENCES.exists():
        sys.exit(f"bench_msa: {SHARED_SEQUENCES} not found (set SNAKEFOLD_SHARED_DATA)")
    settings = schema_defaults("msa")
    families = seeds(args.families)
    with tempfile.TemporaryDirectory(prefix="snakefold-bench-msa-") as scratch:
        root = Path(scratch)
        source = root / "bench.fasta"
        write_database_fasta(source, families, args.homologs, args.decoys)
        build_seconds = {}
        outputs = {"fasta": root / "db.fasta", "hhsuite": root / "hh" / "db", "mmseqs": root / "mm" / "db"}
        for fmt, output in outputs.items():
            started = time.perf_counter()
            assert snakefold_main(["build-db", "--format", fmt, "--input", str(source), "--output", str(output),
                                   "--threads", str(args.threads)]) == 0
            build_seconds[fmt] = round(time.perf_counter() - started, 2)
        results = {tool: [] for tool in ("jackhmmer", "hhblits", "mmseqs2")}
        log = root / "tools.log"
        for name, sequence in families:
            query = root / f"{name}.fasta"
            query.write_text(f">{name}\n{sequence}\n")
            for tool in results:
                output = root / f"{name}.{tool}.{'sto' if tool == 'jackhmmer' else 'a3m'}"
                work = root / f"{name}.{tool}.work"
                work.mkdir()
                started = time.perf_counter()
                if tool == "jackhmmer":
                    jackhmmer.search(query, root / "db.fasta", output, flags=settings["jackhmmer"]["flags"],
                                     threads=args.threads, log=log, timeout=3600, database_name="bench")
                elif tool == "hhblits":
                    hhblits.search(query, [root / "hh" / "db"], output, flags=settings["hhblits"]["flags"],
                                   threads=args.threads, log=log, timeout=3600, database_name="bench")
                else:
                    mmseqs.search_to_a3m(query, root / "mm" / "db", output, work,
                                         search_flags=settings["mmseqs2"]["search_flags"],
                                         msa_flags=settings["mmseqs2"]["msa_flags"], threads=args.threads, log=log,
                                         timeout=3600, database_name="bench")
                seconds = time.perf_counter() - started
                rows, members, decoys = count_hits(read_msa(output), name)
                results[tool].append({"query": name, "length": len(sequence), "seconds": round(seconds, 3),
                                      "rows": rows, "family_found": members, "decoys_found": decoys})
    summary = {}
    for tool, runs in results.items():
        summary[tool] = {
            "median_seconds_per_query": round(statistics.median(run["seconds"] for run in runs), 3),
            "total_seconds": round(sum(run["seconds"] for run in runs), 2),
            "mean_rows": round(statistics.mean(run["rows"] for run in runs), 1),
            "recall": round(sum(run["family_found"] for run in runs) / (args.homologs * len(runs)), 3),
            "decoys_found": sum(run["decoys_found"] for run in runs),
        }
    record = {
        "database": {"families": len(families), "homologs_per_family": args.homologs, "decoys": args.decoys,
                     "sequences": len(families) * args.homologs + args.decoys, "build_seconds": build_seconds},
        "threads": args.threads, "load_average_at_end": os.getloadavg(), "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "tool_versions": {"jackhmmer": jackhmmer.version(), "hhblits": hhblits.version(), "mmseqs2": mmseqs.version()},
        "summary": summary, "queries": results,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{'tool':10} {'median s/query':>15} {'total s':>8} {'rows':>6} {'recall':>7} {'decoys':>7}")
    for tool, line in summary.items():
        print(f"{tool:10} {line['median_seconds_per_query']:>15} {line['total_seconds']:>8} {line['mean_rows']:>6} "
              f"{line['recall']:>7} {line['decoys_found']:>7}")
    print(f"database build (s): {build_seconds}; load average {os.getloadavg()}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
