"""``snakefold intake``: validate FASTA inputs and write the batch's target and rejection tables.

A record whose sequence holds chains separated by ``:`` is a complex; complex sheets and pulldown screens
are read by the workflow from the config (:mod:`snakefold.plan.complexes`).
"""

from __future__ import annotations

import argparse
import sys

from snakefold.common.batch_checks import load_batch
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import NONSTANDARD_POLICIES
from snakefold.plan.batch import intake_report, write_rejected_tsv, write_targets_tsv
from snakefold.plan.config import schema_defaults
from snakefold.plan.layout import BATCH_FILES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = schema_defaults()
    parser.add_argument("inputs", nargs="+", help="FASTA files, directories or glob patterns (gzip accepted)")
    parser.add_argument("--min-length", type=int, default=defaults["min_length"])
    parser.add_argument("--max-length", type=int, default=defaults["max_length"])
    parser.add_argument("--nonstandard-residues", choices=sorted(NONSTANDARD_POLICIES),
                        default=defaults["nonstandard_residues"])
    parser.add_argument("--on-invalid", choices=("fail", "skip"), default=defaults["on_invalid"])
    parser.add_argument("--targets", help="write the accepted targets to this TSV")
    parser.add_argument("--rejected", help="write the rejected records to this TSV")


def run(args: argparse.Namespace) -> int:
    batch = load_batch(args.inputs, args.min_length, args.max_length, args.nonstandard_residues,
                       reserved_names=BATCH_FILES)
    report = intake_report(batch, args.on_invalid)
    if batch.errors and args.on_invalid == "fail":
        raise SnakefoldError(report)
    if report:
        print(report, file=sys.stderr)
    accepted = batch.targets + batch.complexes  # complexes (':' records) last, as the workflow lists them
    if args.targets:
        write_targets_tsv(args.targets, accepted)
    if args.rejected:
        write_rejected_tsv(args.rejected, batch.errors)
    if not args.targets:
        for target in accepted:
            print(f"{target.name}\t{target.length}\t{target.seq_key}")
    return 0
