"""ffindex (HH-suite's database container): build one from files, apply a program to every entry, read one.

An ffindex database is a data file (``.ffdata``) of NUL-terminated entries and an index (``.ffindex``) of
``name<TAB>offset<TAB>length`` lines sorted by name, where ``length`` counts the terminating NUL. HH-suite
databases are three of them per prefix: ``_a3m`` (the MSAs), ``_hhm`` (their HMMs) and ``_cs219`` (their
column-state sequences, hhblits' prefilter).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from snakefold.common.errors import SnakefoldError
from snakefold.tools.base import run_tool

BUILD = "ffindex_build"
APPLY = "ffindex_apply"


def build(data: str | Path, index: str | Path, directory: str | Path, *, log: str | Path, timeout: float) -> None:
    """Pack every file of ``directory`` (entry name = file name) into a new, sorted ffindex database."""
    run_tool(BUILD, [BUILD, "-s", str(data), str(index), str(directory)], log, timeout=timeout)


def apply(data: str | Path, index: str | Path, output_data: str | Path, output_index: str | Path,
          program: Sequence[str], *, log: str | Path, timeout: float) -> None:
    """Run ``program`` on every entry (on its stdin) and collect its stdout as a new ffindex database."""
    run_tool(APPLY, [APPLY, "-q", str(data), str(index), "-i", str(output_index), "-d", str(output_data), "--",
                     *program], log, timeout=timeout)


def read_index(index: str | Path) -> list[tuple[str, int, int]]:
    """(name, offset, length) of each entry, in index order; an error names a malformed line."""
    entries = []
    with open(index, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3 or not fields[1].isdigit() or not fields[2].isdigit():
                raise SnakefoldError(f"{index}:{number}: not an ffindex line ('name<TAB>offset<TAB>length')")
            entries.append((fields[0], int(fields[1]), int(fields[2])))
    return entries


def read_entries(data: str | Path, index: str | Path) -> Iterator[tuple[str, bytes]]:
    """(name, content without its NUL) of each entry."""
    with open(data, "rb") as handle:
        for name, offset, length in read_index(index):
            handle.seek(offset)
            yield name, handle.read(length).rstrip(b"\x00")
