"""The HH-suite result format (``.hhr``, written by hhsearch and hhblits): one aligned record per hit.

An hhr file starts with a summary table and then has one paragraph per hit, opened by ``No <n>``:

    No 1
    >1HF9_B ATPASE INHIBITOR (MITOCHONDRIAL); ...
    Probab=7.51  E-value=3.8e+02  Score=16.19  Aligned_cols=22  Identities=23%  Similarity=0.398  Sum_probs=13.1 ...

    Q query             7 AEHHHKAAEHHEQAAKHHHAAA   28 (73)
    Q Consensus         7 aEhH~kAAeHHe~AA~HH~eAA   28 (73)
    T 1HF9_B           10 ISHHAKEIERLQKEIERHKQSI   31 (41)

An alignment may be split over several such blocks. Each hit is read the way AlphaFold2 reads it: the
name is the whole description line; ``Aligned_cols`` and ``Sum_probs`` come from the summary line (whose
trailing ``Template_Neff=...`` field, absent from hhsuite files before version 3, is optional here); the
aligned query and template rows are the concatenated ``Q <name>`` and ``T <name>`` rows of every block
(annotation rows ``ss_pred``, ``ss_dssp``, ``ss_conf`` and ``Consensus`` are skipped), and each aligned
column gets the 0-based residue index of query and template, or -1 for a gap.
"""

from __future__ import annotations

import dataclasses
import re

from snakefold.common.errors import SnakefoldError

#: Rows of an alignment block that annotate a sequence rather than carry it.
ANNOTATION_ROWS = frozenset({"ss_pred", "ss_dssp", "ss_conf", "Consensus"})

_SUMMARY = re.compile(
    r"Probab=\s*(?P<probability>\S+)\s+E-value=\s*(?P<e_value>\S+)\s+Score=\s*(?P<score>\S+)\s+"
    r"Aligned_cols=\s*(?P<aligned_cols>\d+)\s+Identities=\s*(?P<identities>\S+)%\s+"
    r"Similarity=\s*(?P<similarity>\S+)\s+Sum_probs=\s*(?P<sum_probs>\S+)"
    r"(?:\s+Template_Neff=\s*(?P<template_neff>\S+))?\s*$")

#: ``Q name  start ALIGNED-ROW  end (length)``: the sequence row of query (Q) or template (T).
_SEQUENCE_ROW = re.compile(
    r"^(?P<side>[QT]) (?P<name>\S+)\s+(?P<start>\d+) (?P<residues>[A-Z-]+)\s+(?P<end>\d+) \(\s*(?P<length>\d+)\)\s*$")


@dataclasses.dataclass(frozen=True)
class TemplateHit:
    """One hit of an hhr file, aligned to the query.

    ``query`` and ``hit_sequence`` are the aligned rows (same length, ``-`` for gaps);
    ``indices_query[i]`` and ``indices_hit[i]`` are the 0-based residue indices of column i in the query and
    in the hit's sequence, -1 where that side has a gap.
    """

    index: int
    name: str
    aligned_cols: int
    sum_probs: float | None
    probability: float
    query: str
    hit_sequence: str
    indices_query: tuple[int, ...]
    indices_hit: tuple[int, ...]


def _residue_indices(aligned: str, start: int) -> list[int]:
    """0-based residue index of each aligned column (``start`` is the first residue's), -1 for gaps."""
    indices = []
    next_index = start
    for letter in aligned:
        if letter == "-":
            indices.append(-1)
        else:
            indices.append(next_index)
            next_index += 1
    return indices


def _parse_hit(lines: list[str], first_line: int, source: str) -> TemplateHit:
    """One hit paragraph (``lines[0]`` is ``No <n>``; ``first_line`` its 1-based line number)."""

    def fail(offset: int, what: str) -> SnakefoldError:
        return SnakefoldError(f"{source}, line {first_line + offset}: {what}. Is this an hhsearch/hhblits "
                              "result (.hhr) file, complete and unedited?")

    try:
        number = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise fail(0, f"expected 'No <hit number>', found {lines[0]!r}") from None
    if len(lines) < 3 or not lines[1].startswith(">"):
        raise fail(1, "expected the hit's description line starting with '>'")
    summary = _SUMMARY.search(lines[2])
    if summary is None:
        raise fail(2, f"cannot read the hit summary (Probab=... Aligned_cols=... Sum_probs=...) in {lines[2]!r}")

    rows = {"Q": "", "T": ""}
    indices = {"Q": [], "T": []}
    block_width = None
    for offset, line in enumerate(lines[3:], start=3):
        if not line.startswith(("Q ", "T ")) or line.split(maxsplit=2)[1] in ANNOTATION_ROWS:
            continue
        row = _SEQUENCE_ROW.match(line)
        if row is None:
            raise fail(offset, f"cannot read the aligned sequence row {line!r}")
        side, residues = row["side"], row["residues"]
        start = int(row["start"]) - 1
        if side == "Q":
            block_width = len(residues)
        elif len(residues) != block_width:
            raise fail(offset, "the template row is not as long as the query row above it")
        if len(residues) - residues.count("-") != int(row["end"]) - start:
            raise fail(offset, f"the row holds {len(residues) - residues.count('-')} residues, but its start and "
                               f"end say {int(row['end']) - start}")
        rows[side] += residues
        indices[side].extend(_residue_indices(residues, start))

    if len(rows["Q"]) != len(rows["T"]):
        raise fail(0, f"hit {number} has {len(rows['Q'])} aligned query columns but {len(rows['T'])} template "
                      "columns")
    return TemplateHit(
        index=number,
        name=lines[1][1:].strip(),
        aligned_cols=int(summary["aligned_cols"]),
        sum_probs=float(summary["sum_probs"]),
        probability=float(summary["probability"]),
        query=rows["Q"],
        hit_sequence=rows["T"],
        indices_query=tuple(indices["Q"]),
        indices_hit=tuple(indices["T"]),
    )


def parse_hhr(text: str, source: str = "hhr file") -> list[TemplateHit]:
    """Every hit of an hhr file's text, in file order; ``source`` names the file in error messages."""
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines) if line.startswith("No ")]
    starts.append(len(lines))
    return [_parse_hit(lines[begin:end], begin + 1, source) for begin, end in zip(starts, starts[1:])]


def read_hhr(path) -> list[TemplateHit]:
    """Every hit of the hhr file at ``path``."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return parse_hhr(handle.read(), source=str(path))
