"""``snakefold pulldown``: a pulldown screen's table and heat map from the reports of its pairs.

    snakefold pulldown --pairs pairs.json --results results --tsv results/pulldown.tsv --png results/pulldown.png

``--pairs`` is a JSON list of ``{"target": ..., "bait": ..., "prey": ...}`` (the workflow writes it from its
plan); each pair's report is read from ``<results>/<target>/`` (:func:`snakefold.report.pulldown.pair_result`).
A pair without a finished report is listed last as ``incomplete``, so the table always has one line per pair.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from snakefold.common.errors import SnakefoldError
from snakefold.report.pulldown import write_pulldown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pairs", required=True, help="JSON file: the screen's pairs (target, bait, prey)")
    parser.add_argument("--results", required=True, help="the results directory holding each pair's report")
    parser.add_argument("--tsv", required=True, help="pulldown.tsv to write")
    parser.add_argument("--png", required=True, help="pulldown.png (ipTM heat map) to write")
    parser.add_argument("--dpi", type=int, default=100, help="resolution of the heat map")


def run(args: argparse.Namespace) -> int:
    try:
        pairs = [(pair["target"], pair["bait"], pair["prey"])
                 for pair in json.loads(Path(args.pairs).read_text(encoding="utf-8"))]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SnakefoldError(f"{args.pairs}: not a list of pulldown pairs ({error})") from None
    results = write_pulldown(args.results, pairs, args.tsv, args.png, args.dpi)
    done = sum(pair.status == "ok" for pair in results)
    print(f"pulldown: {done} of {len(results)} pairs scored; {args.tsv}")
    return 0
