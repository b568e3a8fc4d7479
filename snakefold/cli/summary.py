"""``snakefold summary``: write the batch summary (``summary.tsv``) from what exists on disk.

    snakefold summary --targets results/targets.tsv --rejected results/rejected.tsv \
        --results results --output results/summary.tsv [--html results/summary.html]

Every target and rejected record gets a row with its status (ok, rejected, incomplete: this command sees
the files, not a run). The workflow's handlers write the same file after every run with the failed jobs of
that run, each with its error and log; see :mod:`snakefold.report.summary`.
"""

from __future__ import annotations

import argparse
import sys

from snakefold.report.summary import describe, rejected_from_tsv, summarise_batch, targets_from_tsv, write_summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", required=True, help="targets.tsv written by intake")
    parser.add_argument("--rejected", help="rejected.tsv written by intake")
    parser.add_argument("--results", required=True, help="the results directory (per-target outputs)")
    parser.add_argument("--output", required=True, help="where to write summary.tsv")
    parser.add_argument("--html", help="also write the summary as an HTML page here")


def run(args: argparse.Namespace) -> int:
    rows = summarise_batch(targets_from_tsv(args.targets),
                           rejected_from_tsv(args.rejected) if args.rejected else [],
                           args.results)
    write_summary(args.output, rows, args.html)
    print(describe(rows, args.output), file=sys.stderr)
    return 0
