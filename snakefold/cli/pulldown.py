"""``snakefold pulldown``: a pulldown screen's table and heat map from the reports of its pairs.

    snakefold pulldown --batch results/_work/batch.json --results results --tsv results/pulldown.tsv \
        --png results/pulldown.png

The screen's pairs (target, bait, prey) come from the batch file the intake job writes
(:mod:`snakefold.common.target_record`); each pair's report is read from ``<results>/<target>/`` (:func:`snakefold.report.pulldown.pair_result`).
A pair without a finished report is listed last as ``incomplete``, so the table always has one line per pair.
"""

from __future__ import annotations

import argparse

from snakefold.common.target_record import read_pulldown_pairs
from snakefold.report.pulldown import write_pulldown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", required=True, help="the batch file (JSON, written by the workflow's intake)")
    parser.add_argument("--results", required=True, help="the results directory holding each pair's report")
    parser.add_argument("--tsv", required=True, help="pulldown.tsv to write")
    parser.add_argument("--png", required=True, help="pulldown.png (ipTM heat map) to write")
    parser.add_argument("--dpi", type=int, default=100, help="resolution of the heat map")


def run(args: argparse.Namespace) -> int:
    pairs = read_pulldown_pairs(args.batch)
    results = write_pulldown(args.results, pairs, args.tsv, args.png, args.dpi)
    done = sum(pair.status == "ok" for pair in results)
    print(f"pulldown: {done} of {len(results)} pairs scored; {args.tsv}")
    return 0
