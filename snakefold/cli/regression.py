"""``snakefold regression``: check predictions against references and golden outputs; refresh golden outputs.

    snakefold regression check --record T.json --best-model results/T/ranked_0.pdb \
        --work-dir results/_work/<seq> --models model_1_seed0 ... [--reference ref.pdb [--chain A]] \
        [--golden golden/T] [--min-lddt-ca 0.7 ...] --output regression/targets/T.json
    snakefold regression report VERDICT.json... --markdown regression/report.md --junit regression/junit.xml
    snakefold regression verdict VERDICT.json... [--report regression/report.md]   # exits 1 on any regression
    snakefold regression refresh --batch results/_work/batch.json --target T [U ...] \
        --work-dir results/_work/<seq of T> [...] --golden golden/T [...] --models model_1_seed0 ...

A target's name and sequence come from its record, or for refresh from the batch file
(snakefold.common.target_record); golden outputs are kept for the model runs ``--models`` (the batch's
single-chain runs).

``check`` and ``report`` always succeed when they could measure (a regression is a result, written down);
``verdict`` is what fails, naming each target and metric. ``refresh`` replaces golden outputs on purpose.
"""

from __future__ import annotations

import argparse
import sys

from snakefold.common.atomic import atomic_write_json, atomic_write_text
from snakefold.common.errors import SnakefoldError
from snakefold.common.target_record import read_target_record, read_target_records
from snakefold.report.checks import THRESHOLD_KEYS
from snakefold.report.golden import write_golden
from snakefold.report.junit import junit_xml
from snakefold.report.regression import check_target, failure_lines, read_verdicts, report_markdown

NO_TARGETS = ("no regression targets: list them under the config key 'regression.targets', each with a "
              "'reference' structure and/or 'golden' outputs")


def _threshold(text: str) -> float | None:
    return None if text.lower() in ("none", "null", "off") else float(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    check = commands.add_parser("check", help="check one target; write its verdict JSON")
    check.add_argument("--record", required=True, help="the target's record (a JSON file)")
    check.add_argument("--best-model", required=True, help="the target's ranked_0.pdb")
    check.add_argument("--work-dir", required=True, help="the sequence's work directory ({WORK}/<seq>)")
    check.add_argument("--models", nargs="+", required=True, help="the sequence's model runs (<preset>_seed<seed>)")
    check.add_argument("--reference", help="reference structure (PDB or mmCIF)")
    check.add_argument("--chain", help="chain of the reference to compare with (default: all chains)")
    check.add_argument("--golden", help="directory of golden outputs")
    for key in THRESHOLD_KEYS:
        check.add_argument(f"--{key.replace('_', '-')}", dest=key, type=_threshold, default=None,
                           help="threshold ('none' to switch the check off)")
    check.add_argument("--output", required=True, help="where to write the verdict JSON")

    report = commands.add_parser("report", help="write report.md and junit.xml from verdicts")
    report.add_argument("verdicts", nargs="*")
    report.add_argument("--markdown", required=True)
    report.add_argument("--junit", required=True)

    verdict = commands.add_parser("verdict", help="exit 1 naming every target and metric that regressed")
    verdict.add_argument("verdicts", nargs="*")
    verdict.add_argument("--report", help="the report.md to point at")

    refresh = commands.add_parser("refresh", help="write targets' golden outputs from their predictions")
    refresh.add_argument("--batch", required=True, help="the batch file (JSON, written by the workflow's intake)")
    refresh.add_argument("--target", nargs="+", required=True, help="each target's name in the batch file")
    refresh.add_argument("--work-dir", nargs="+", required=True, help="each target's sequence work directory")
    refresh.add_argument("--golden", nargs="+", required=True, help="each target's golden directory")
    refresh.add_argument("--models", nargs="+", required=True, help="the model runs to keep (<preset>_seed<seed>)")


def run(args: argparse.Namespace) -> int:
    if args.action == "check":
        thresholds = {key: getattr(args, key) for key in THRESHOLD_KEYS}
        target = read_target_record(args.record)
        verdict = check_target(target.name, target.sequence, args.best_model, args.work_dir, args.models,
                               args.reference, args.chain, args.golden, thresholds, is_complex=target.is_complex)
        atomic_write_json(args.output, verdict)
        failed = sum(not check["passed"] for check in verdict["checks"])
        print(f"{target.name}: {len(verdict['checks']) - failed} of {len(verdict['checks'])} checks passed")
        return 0
    if args.action == "report":
        verdicts = read_verdicts(args.verdicts)
        atomic_write_text(args.markdown, report_markdown(verdicts))
        atomic_write_text(args.junit, junit_xml(verdicts))
        return 0
    if args.action == "verdict":
        if not args.verdicts:
            raise SnakefoldError(NO_TARGETS)
        verdicts = read_verdicts(args.verdicts)
        failures = failure_lines(verdicts)
        checks = sum(len(verdict["checks"]) for verdict in verdicts)
        where = f" (report: {args.report})" if args.report else ""
        if failures:
            print(f"snakefold regression: {len(failures)} of {checks} checks failed{where}:", file=sys.stderr)
            for line in failures:
                print(f"  - {line}", file=sys.stderr)
            return 1
        print(f"snakefold regression: all {checks} checks of {len(verdicts)} target(s) passed{where}")
        return 0
    if not len(args.target) == len(args.work_dir) == len(args.golden):
        raise SnakefoldError("refresh: give --target, --work-dir and --golden once per target, in the same order")
    for target, work_dir, golden in zip(read_target_records(args.batch, args.target), args.work_dir, args.golden):
        manifest = write_golden(target.name, target.sequence, work_dir, args.models, golden)
        print(f"{target.name}: golden outputs of {len(manifest['models'])} model run(s) written to {golden}")
    return 0
