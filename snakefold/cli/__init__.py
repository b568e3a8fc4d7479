"""The ``snakefold`` command line: one subcommand per stage, called by the workflow's rules.

Each subcommand is a module of this package (``snakefold make-params`` is :mod:`snakefold.cli.make_params`),
imported only when used, so ``snakefold intake`` never pays for importing JAX. Nothing else in the package
imports a command module. Each module defines ``add_arguments(parser)`` and
``run(args) -> int``. A :class:`~snakefold.common.errors.SnakefoldError` is printed as its message alone
and exits with status 1: errors are for people, not tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from snakefold.common.errors import SnakefoldError

#: command name -> its one-line help; the command lives in snakefold.cli.<name with '-' as '_'>
COMMANDS: dict[str, str] = {
    "intake": "validate FASTA inputs and list the batch's targets",
    "build-db": "build HH-suite, MMseqs2, FASTA or PDB70-style template databases",
    "msa": "search one sequence against one database (content-keyed cache)",
    "templates": "search and featurise templates for one sequence",
    "features": "assemble the raw AlphaFold2 feature dict (.npz)",
    "complex-features": "pair and merge a complex's chain MSAs as AlphaFold-Multimer (AlphaFold2 msas/ layout)",
    "make-params": "write seeded random parameters in the official file format",
    "process-features": "turn raw features into processed model inputs",
    "model-run": "run the model on processed features",
    "predict": "predict one target with one preset and seed",
    "relax": "relax one model with OpenMM",
    "compare": "compare a model with a reference structure",
    "report": "write a target's user-facing outputs",
    "pulldown": "write a pulldown screen's table and ipTM heat map",
    "summary": "write the batch summary",
    "verify": "check every target's files against its SHA256SUMS",
    "regression": "check predictions against references and golden outputs",
    "download": "download and verify one parameter set or database",
    "check-install": "report which parameters and databases are present",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snakefold", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
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
    module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
    parser = argparse.ArgumentParser(prog=f"snakefold {name}", description=COMMANDS[name])
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except SnakefoldError as error:
        print(f"snakefold {name}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
