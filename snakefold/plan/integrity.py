"""What a run builds on, checked when the DAG is built: damaged files are removed so their jobs run again.

Snakemake decides what to run from which files exist and how old they are; it cannot see that a file was
truncated, bit-flipped or edited by hand. Before it decides, the workflow's main process checks the files
of every target and removes those that are not what their job wrote. Snakemake then treats a removed
intermediate file as it treats a temporary one: a job that needs it (because one of its own outputs is
missing or stale) gets it written again first; results that were made from it while it was sound are kept.
A damaged result file is missing to Snakemake, so the target's report runs again. Either way no job starts
on a damaged input, and the report job, which replaces a target's results, starts only on sound ones.

- a content-keyed cache entry (MSAs, templates, features): against its manifest
  (:func:`snakefold.plan.cache.invalid_reason`);
- a sequence's query FASTA: compared with what the plan would write;
- the batch file (``{WORK}/batch.json``, every target's record) and the predict and relax stages' files of
  each sequence: against their seals (:mod:`snakefold.common.intermediates`; a stat per file when unchanged);
- a target's results: every file listed in its ``SHA256SUMS`` is hashed; a file whose content differs is
  removed, and so is ``SHA256SUMS`` when it cannot be read or a file it lists was changed or is gone: the
  workflow asks for a target's report by its ``SHA256SUMS``, so the report writes the target's files again,
  byte for byte.

Finding (:func:`damaged_files`) only reads; removing (:func:`remove_damaged`) is a real run's alone. A dry
run changes nothing on disk: it says what a real run would remove (:func:`damage_notices`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from snakefold.common.checksums import SUMS_NAME, verify_directory
from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import seal_path, seal_problem
from snakefold.plan.cache import invalid_reason, manifest_path

NOT_PLANNED = "it is not what the plan writes for this batch"


@dataclass(frozen=True)
class DamagedFile:
    """A file that is not what its job wrote: why, what goes with it (its seal or manifest), how to say it."""

    path: str
    reason: str
    companions: tuple[str, ...] = ()
    #: what happens next, said after the reason ("the jobs that write it run again")
    consequence: str = "the jobs that write it run again"
    #: how the file is named in the notice ("cache entry <path>" for a cache entry)
    label: str = ""

    def notice(self, dry_run: bool) -> str:
        name = f"{self.label} {self.path}" if self.label else self.path
        if dry_run:
            return (f"{name} would be removed by a real run, {self.reason}; then {self.consequence} (this dry run "
                    "removed nothing, so the jobs it lists do not include them)")
        return f"{name} was removed, {self.reason}; {self.consequence}"


def _unlike_planned(path: str, expected, read) -> DamagedFile | None:
    """``path`` as damaged when what ``read`` gives of it is not ``expected``; None if it is, or it is absent."""
    try:
        found = read(Path(path))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError):
        found = None
    return None if found == expected else DamagedFile(path, NOT_PLANNED)


def _damaged_results(directory: Path) -> Iterator[DamagedFile]:
    sums = directory / SUMS_NAME
    if not sums.is_file():
        return
    try:
        verification = verify_directory(directory)
    except SnakefoldError as error:
        yield DamagedFile(str(sums), f"it cannot be read ({error})")
        return
    for name in verification.modified:
        yield DamagedFile(str(directory / name), "its content is not what the report wrote (its SHA-256 differs "
                          f"from {SUMS_NAME})")
    gone = [f"{name} is gone" for name in verification.missing] + [f"{name} was changed"
                                                                    for name in verification.modified]
    if gone:
        yield DamagedFile(str(sums), f"of the files it lists, {', '.join(gone)}", consequence="the report runs again")


def _damaged_cache_entries(entries: Iterable[str]) -> Iterator[DamagedFile]:
    for entry in entries:
        reason = invalid_reason(entry)
        if reason is not None:
            yield DamagedFile(entry, reason, (str(manifest_path(entry)),), "it is computed again", "cache entry")


def damaged_files(*, cache_entries: Iterable[str], queries: Mapping[str, str], sealed: Iterable[str],
                  result_dirs: Iterable[str]) -> list[DamagedFile]:
    """Every file of a plan that is not what its job wrote (see the module docstring); reads, never writes.

    ``queries`` maps a sequence's query FASTA to what the plan writes there; ``sealed`` are the sealed files
    (the batch file, the predict and relax stages' files); ``result_dirs`` the targets' directories."""
    found = list(_damaged_cache_entries(cache_entries))
    for path, text in queries.items():
        found.append(_unlike_planned(path, text, lambda file: file.read_text(encoding="utf-8")))
    for path in sealed:
        reason = seal_problem(path, trust_unchanged=True)
        if reason is not None:
            found.append(DamagedFile(path, reason, (str(seal_path(path)),)))
    for directory in result_dirs:
        if os.path.isdir(directory):
            found.extend(_damaged_results(Path(directory)))
    return [damaged for damaged in found if damaged is not None]


def remove_damaged(damaged: Iterable[DamagedFile]) -> None:
    """Remove each damaged file and its seal or manifest (regular files only: a link or directory is left)."""
    for file in damaged:
        for path in map(Path, (file.path, *file.companions)):
            if path.is_file() and not path.is_symlink():
                path.unlink()
