"""A target directory's ``SHA256SUMS``: written by the report after every other file, checked by ``snakefold verify``.

The file is in the format ``sha256sum -c`` reads: one line per file, ``<64 hex digits>  <file name>``, sorted
by name, listing every file the report wrote into the directory (never ``SHA256SUMS`` itself). The report
writes it last and atomically, and removes an old one before it writes anything else, so a directory
without it is one whose report did not finish.

:func:`verify_directory` compares a directory with its ``SHA256SUMS``: listed files that are gone
(missing), listed files whose content differs (modified), and entries nobody listed (unexpected). A
malformed ``SHA256SUMS`` (truncated, garbled, not text) is a :class:`SnakefoldError` naming the file and
the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from snakefold.common.atomic import atomic_write_text
from snakefold.common.errors import SnakefoldError
from snakefold.common.hashing import file_sha256

SUMS_NAME = "SHA256SUMS"
#: What a directory without SHA256SUMS is said to be.
NO_SUMS = f"no {SUMS_NAME} (its report did not finish)"
#: ``<digest>  <name>`` (text mode) or ``<digest> *<name>`` (binary mode, which sha256sum also writes).
LINE = re.compile(r"^(?P<digest>[0-9A-Fa-f]{64}) [ *](?P<name>.+)$")
REWRITE_ADVICE = "re-run the target's report to write it again"


def _check_name(name: str) -> str | None:
    """Why ``name`` cannot be listed in SHA256SUMS (None when it can): plain names of this directory only."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\n" in name or "\r" in name or "\0" in name:
        return f"{name!r} is not the name of a file in this directory"
    if name == SUMS_NAME:
        return f"{SUMS_NAME} cannot list itself"
    return None


def checksums_text(digests: dict[str, str]) -> str:
    """The SHA256SUMS text of name -> hex digest, sorted by name."""
    return "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))


def write_checksums(directory: str | Path, names: Iterable[str]) -> dict[str, str]:
    """Hash the files ``names`` of ``directory`` and write ``directory/SHA256SUMS`` atomically; return the digests."""
    directory = Path(directory)
    digests = {}
    for name in names:
        problem = _check_name(name)
        if problem:
            raise SnakefoldError(f"{directory}: cannot list {problem} in {SUMS_NAME}")
        digests[name] = file_sha256(directory / name)
    atomic_write_text(directory / SUMS_NAME, checksums_text(digests))
    return digests


def read_checksums(path: str | Path) -> dict[str, str]:
    """Name -> lower-case hex digest of a SHA256SUMS file; a SnakefoldError naming the file and line when malformed."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SnakefoldError(f"cannot read {path}: {error.strerror or error}") from error
    if not data.strip():
        raise SnakefoldError(f"{path}: the file is empty: it lists no files; {REWRITE_ADVICE}")
    lines = data.split(b"\n")
    digests: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if number == len(lines):
            if raw:
                raise SnakefoldError(f"{path}, line {number}: the last line does not end with a line break (the "
                                     f"file is truncated); {REWRITE_ADVICE}")
            break
        try:
            line = raw.decode("utf-8").removesuffix("\r")
        except UnicodeDecodeError:
            raise SnakefoldError(f"{path}, line {number}: not UTF-8 text (the file is garbled); "
                                 f"{REWRITE_ADVICE}") from None
        match = LINE.match(line)
        if match is None:
            shown = line if len(line) <= 80 else line[:77] + "..."
            raise SnakefoldError(f"{path}, line {number}: expected '<64 hex digits>  <file name>', found {shown!r}; "
                                 f"{REWRITE_ADVICE}")
        name = match["name"]
        problem = _check_name(name)
        if problem:
            raise SnakefoldError(f"{path}, line {number}: {problem}; {REWRITE_ADVICE}")
        if name in digests:
            raise SnakefoldError(f"{path}, line {number}: {name} is listed again (first on line {first_line[name]}); "
                                 f"{REWRITE_ADVICE}")
        digests[name] = match["digest"].lower()
        first_line[name] = number
    return digests


@dataclass(frozen=True)
class TargetVerification:
    """A directory checked against its SHA256SUMS: each list sorted by name."""

    directory: Path
    listed: tuple[str, ...]
    missing: tuple[str, ...]
    modified: tuple[str, ...]
    unexpected: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.modified or self.unexpected)

    def problems(self) -> list[str]:
        """One phrase per problem: '<name> modified', '<name> missing', '<name> unexpected'."""
        return ([f"{name} modified" for name in self.modified] + [f"{name} missing" for name in self.missing]
                + [f"{name} unexpected" for name in self.unexpected])

    def describe(self, limit: int | None = None) -> str:
        """'ok (N files)', or the problems (the first ``limit`` of them, then how many more)."""
        if self.ok:
            return f"ok ({len(self.listed)} files)"
        problems = self.problems()
        if limit is not None and len(problems) > limit:
            problems = problems[:limit] + [f"and {len(problems) - limit} more"]
        return ", ".join(problems)


def verify_directory(directory: str | Path) -> TargetVerification:
    """Check every file of ``directory`` against its SHA256SUMS (a SnakefoldError when that is absent or malformed).

    Unexpected entries are every name in the directory that SHA256SUMS does not list (directories get a
    trailing '/'); a listed name that is no longer a regular file counts as modified.
    """
    directory = Path(directory)
    sums = directory / SUMS_NAME
    if not sums.is_file():
        if not directory.is_dir():
            raise SnakefoldError(f"{directory}: no such directory")
        raise SnakefoldError(f"{directory}: {NO_SUMS}")
    digests = read_checksums(sums)
    missing, modified = [], []
    for name, digest in sorted(digests.items()):
        path = directory / name
        if not os.path.lexists(path):
            missing.append(name)
        elif not path.is_file():
            modified.append(name)
        else:
            try:
                actual = file_sha256(path)
            except OSError as error:
                raise SnakefoldError(f"cannot read {path}: {error.strerror or error}") from error
            if actual != digest:
                modified.append(name)
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as error:
        raise SnakefoldError(f"cannot list {directory}: {error.strerror or error}") from error
    unexpected = [entry.name + ("/" if entry.is_dir(follow_symlinks=False) else "") for entry in entries
                  if entry.name != SUMS_NAME and entry.name not in digests]
    return TargetVerification(directory, tuple(sorted(digests)), tuple(missing), tuple(modified), tuple(unexpected))


def target_directories(results_dir: str | Path) -> list[Path]:
    """The target directories of a results directory: every direct subdirectory not starting with '_' or '.'
    (``_logs``, ``_work`` and hidden temporary directories are not targets), sorted by name."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise SnakefoldError(f"{results_dir}: no such directory (the results directory of a batch)")
    try:
        return sorted(Path(entry.path) for entry in os.scandir(results_dir)
                      if entry.is_dir() and not entry.name.startswith(("_", ".")))
    except OSError as error:
        raise SnakefoldError(f"cannot list {results_dir}: {error.strerror or error}") from error
