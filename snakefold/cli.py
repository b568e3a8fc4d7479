"""The ``snakefold`` command line: one subcommand per stage, called by the workflow's rules.

Subcommands live in their own modules (listed in :data:`COMMANDS`) and are imported only when used, so
``snakefold intake`` never pays for importing JAX. Each module defines ``add_arguments(parser)`` and
``run(args) -> int``. A :class:`~snakefold.common.errors.SnakefoldError` is printed as its message alone
and exits with status 1: errors are for people, not tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from snakefold.common.errors import SnakefoldError

#: command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "intake": ("snakefold.common.intake_cli", "validate FASTA inputs and list the batch's targets"),
    "build-db": ("snakefold.data.build_db", "build HH-suite, MMseqs2, FASTA or PDB70-style template databases"),
    "msa": ("snakefold.data.msa_stage", "search one sequence against one database (content-keyed cache)"),
    "templates": ("snakefold.data.template_stage", "search and featurise templates for one sequence"),
    "features": ("snakefold.data.features_stage", "assemble the raw AlphaFold2 feature dict (.npz)"),
    "make-params": ("snakefold.model.make_params", "write seeded random parameters in the official file format"),
    "process-features": ("snakefold.model.process_cli", "turn raw features into processed model inputs"),
    "model-run": ("snakefold.model.run_cli", "run the model on processed features"),
    "predict": ("snakefold.model.predict_cli", "predict one target with one preset and seed"),
    "rank": ("snakefold.model.rank_cli", "rank the predictions of one target"),
    "relax": ("snakefold.relax.relax_cli", "relax one model with OpenMM"),
    "compare": ("snakefold.metrics.compare_cli", "compare a model with a reference structure"),
    "report": ("snakefold.report.report_cli", "write a target's user-facing outputs"),
    "summary": ("snakefold.report.summary_cli", "write the batch summary"),
    "regression": ("snakefold.report.regression_cli", "check predictions against references and golden outputs"),
    "download": ("snakefold.data.download", "download and verify one parameter set or database"),
    "check-install": ("snakefold.data.check_install", "report which parameters and databases are present"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snakefold", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser = build_parser()
        if argv and argv[0] not in ("-h", "--help"):
            parser.error(f"unknown command {argv[0]!r}")
        parser.print_help()
        return 0 if argv else 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"snakefold {name}", description=COMMANDS[name][1])
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except SnakefoldError as error:
        print(f"snakefold {name}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
