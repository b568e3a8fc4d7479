"""Kalign: a pairwise alignment of two protein sequences (template realignment).

AlphaFold2 realigns a template hit with kalign when the hit's sequence (from the HH-suite database) is
not found in the chain sequence of the template's mmCIF file. :func:`align_pair` returns the two sequences
aligned ([A] each, same length, ``-`` for gaps).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from snakefold.common.errors import SnakefoldError
from snakefold.tools.base import run_tool, tool_version

#: Kalign refuses shorter sequences.
MIN_LENGTH = 6


def kalign_version() -> str:
    return tool_version("kalign", "--version")


def _read_fasta(text: str) -> dict[str, str]:
    records: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            records[name] = ""
        elif name is not None:
            records[name] += line.strip()
    return records


def align_pair(first: str, second: str, log_path: str | Path, timeout: float = 300.0) -> tuple[str, str]:
    """``first`` and ``second`` aligned by kalign: two gapped strings of equal length."""
    for sequence in (first, second):
        if len(sequence) < MIN_LENGTH:
            raise SnakefoldError(f"kalign cannot align the sequence {sequence!r}: it needs at least "
                                 f"{MIN_LENGTH} residues")
    with tempfile.TemporaryDirectory(prefix="snakefold-kalign-") as workdir:
        source = Path(workdir) / "pair.fasta"
        aligned = Path(workdir) / "pair.aligned.fasta"
        source.write_text(f">first\n{first}\n>second\n{second}\n")
        run_tool("kalign", ["kalign", "-i", source, "-o", aligned, "--format", "fasta", "--nthreads", "1"],
                 log_path, timeout=timeout)
        records = _read_fasta(aligned.read_text())
    if set(records) != {"first", "second"} or len(records["first"]) != len(records["second"]):
        raise SnakefoldError(f"kalign returned an unexpected alignment (see the log {log_path})")
    if records["first"].replace("-", "") != first.upper() or records["second"].replace("-", "") != second.upper():
        raise SnakefoldError(f"kalign changed the sequences it aligned (see the log {log_path})")
    return records["first"], records["second"]
