"""``snakefold verify``: check every target's files against the ``SHA256SUMS`` its report wrote.

    snakefold verify [RESULTS_DIR]        (default: results)

Every direct subdirectory of RESULTS_DIR not starting with '_' or '.' is a target directory (``_logs`` and
``_work`` are not). One line per target: ``<target>: ok (N files)``, or its problems: files listed in
SHA256SUMS that are missing or modified, and files it does not list (unexpected). A target directory
without SHA256SUMS is one whose report did not finish. Exit status 0 when every target matches, 1 otherwise.
The same check is ``sha256sum -c SHA256SUMS`` in a target directory, except for the unexpected files.
"""

from __future__ import annotations

import argparse

from snakefold.common.checksums import NO_SUMS, SUMS_NAME, target_directories, verify_directory
from snakefold.common.errors import SnakefoldError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="?", default="results", metavar="RESULTS_DIR",
                        help="the results directory of a batch (default: results)")


def run(args: argparse.Namespace) -> int:
    directories = target_directories(args.results)
    if not directories:
        raise SnakefoldError(f"{args.results}: no target directories to verify (is it the results directory "
                             f"of a batch?)")
    failed = 0
    for directory in directories:
        if not (directory / SUMS_NAME).is_file():
            line, ok = NO_SUMS, False
        else:
            try:
                verification = verify_directory(directory)
                line, ok = verification.describe(), verification.ok
            except SnakefoldError as error:  # a malformed SHA256SUMS: the other targets are still checked
                line, ok = str(error), False
        print(f"{directory.name}: {line}", flush=True)
        failed += not ok
    return 1 if failed else 0
