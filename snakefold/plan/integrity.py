"""What a run builds on, checked when the DAG is built: damaged files are removed so their jobs run again.

Snakemake decides what to run from which files exist and how old they are; it cannot see that a file was
truncated, bit-flipped or edited by hand. Before it decides, the workflow's main process checks the files
of every target and removes those that are not what their job wrote. Snakemake then treats a removed
intermediate file as it treats a temporary one: a job that needs it (because one of its own outputs is
missing or stale) gets it written again first; results that were made from it while it was sound are kept.
A damaged result file is missing to Snakemake, so the target's report runs again. Either way no job starts
on a damaged input, and the report job, which replaces a target's results, starts only on sound ones.

- a target's record file (``{WORK}/targets/<target>.json``) and a sequence's query FASTA: compared with
  what the plan would write;
- the predict, rank and relax stages' files of each sequence: against their seals
  (:mod:`snakefold.common.intermediates`; a stat per file when unchanged);
- a target's results: every file listed in its ``SHA256SUMS`` is hashed; a file whose content differs is
  removed (the report writes the target's files again, byte for byte), and a ``SHA256SUMS`` that cannot be
  read is removed (the same).

Cache entries (MSAs, templates, features) are checked by :func:`snakefold.plan.cache.discard_if_invalid`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from snakefold.common.checksums import SUMS_NAME, verify_directory
from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import discard_if_damaged
from snakefold.common.target_record import target_record_document

if TYPE_CHECKING:
    from snakefold.plan.run import Plan

PREDICTION_FILES = ("outputs.npz", "unrelaxed.pdb", "scores.json")


def _discard_unless(path: Path, expected, read) -> str | None:
    """Remove ``path`` when what ``read`` gives of it is not ``expected``; return why, or None if kept or absent."""
    try:
        found = read(path)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError):
        found = None
    if found == expected:
        return None
    path.unlink(missing_ok=True)
    return "it is not what the plan writes for this batch"


def sealed_files(plan: Plan) -> Iterator[str]:
    """The predict, rank and relax stages' files of each sequence and complex (existing or not)."""
    layout = plan.layout
    for seq in [*plan.sequences, *plan.complex_sequences]:
        for model in plan.models_of(seq):
            yield from (f"{layout.prediction_dir(seq, model)}/{name}" for name in PREDICTION_FILES)
        yield layout.ranking(seq)
        for rank in range(plan.relax_count(seq)):
            yield from (layout.relaxed(seq, rank), layout.relaxed(seq, rank, "json"))


def _damaged_results(directory: Path) -> Iterator[tuple[Path, str]]:
    if not (directory / SUMS_NAME).is_file():
        return
    try:
        verification = verify_directory(directory)
    except SnakefoldError as error:
        (directory / SUMS_NAME).unlink(missing_ok=True)
        yield directory / SUMS_NAME, f"it cannot be read ({error})"
        return
    for name in verification.modified:
        path = directory / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
        yield path, f"its content is not what the report wrote (its SHA-256 differs from {SUMS_NAME})"


def discard_damaged_files(plan: Plan) -> list[str]:
    """Check every target's files (see the module docstring), remove the damaged ones, and say what was removed."""
    layout, targets = plan.layout, plan.batch.targets + plan.batch.complexes
    removed: list[tuple[str, str]] = []
    for target in targets:
        expected = json.loads(json.dumps(target_record_document(target)))  # as read back: a complex's chains a list
        reason = _discard_unless(Path(layout.target_record(target.name)), expected,
                                 lambda path: json.loads(path.read_text(encoding="utf-8")))
        if reason:
            removed.append((layout.target_record(target.name), reason))
    for seq in plan.search_sequences:
        query = layout.query_fasta(seq)
        reason = _discard_unless(Path(query), plan.query_fasta_text(seq), lambda path: path.read_text(encoding="utf-8"))
        if reason:
            removed.append((query, reason))
    for path in sealed_files(plan):
        reason = discard_if_damaged(path)
        if reason:
            removed.append((path, reason))
    for target in targets:
        directory = Path(layout.target_dir(target.name))
        if os.path.isdir(directory):
            removed.extend((str(path), reason) for path, reason in _damaged_results(directory))
    return [f"{path} was removed, {reason}; the jobs that write it run again" for path, reason in removed]
