"""MSA file formats, read the way AlphaFold2 reads them: a3m (HHblits, MMseqs2) and Stockholm (jackhmmer).

An MSA of N rows over a query of L residues is held as :class:`Msa`:

* ``sequences``: N strings of length L, row 0 the query, each row's residues (or ``-``) in the query's
  columns; residues the row has *between* two query columns (insertions) are left out;
* ``deletion_matrix``: [N, L] int32, the number of inserted residues a row has immediately before each
  query column (the "deletion" of AlphaFold2's ``deletion_matrix_int``);
* ``descriptions``: N strings, where the species identifier of a row is read from (see
  :mod:`snakefold.msa.species`).

a3m (HH-suite's format): FASTA records; upper-case letters and ``-`` are query columns, lower-case letters
are insertions, ``.`` (a gap in an insertion column, optional in a3m) is ignored. The description is the
whole header line after ``>``. Comment lines starting with ``#`` or ``;`` before the first record
(HH-suite, ColabFold and OpenProteinSet write them), NUL bytes (ColabFold's record separators) and
HH-suite's annotation records (``>ss_dssp``, ``>ss_pred``, ``>ss_conf``, ``>sa_dssp``, ``>Consensus``),
which AlphaFold2 would read as sequences, are skipped. An a3m has no closing line; one cut after a header
ends in a record without residues, an error of the record's width.

Stockholm (HMMER's ``-A`` output): ``name aligned-row`` lines, possibly over several blocks; ``#`` markup
is skipped. The file must end with the closing ``//`` line (HMMER always writes it): a file without it was cut
short, and every reader here refuses it rather than use the rows before the cut. The first row is the query:
columns where it has a gap are insertion columns.
The description of a row is its name (``UniRef90_Q9H5Z4/4-78``), as in AlphaFold2. Gaps written ``.``
are read as ``-`` (AlphaFold2 would count a ``.`` in an insertion column as an inserted residue; HMMER's
jackhmmer output, which AlphaFold2 reads, has no ``.``).

Also here: truncating a Stockholm file to its first rows without reading it whole (AlphaFold2's per-database
hit limits) and converting Stockholm to a3m (the template search's input).
"""

from __future__ import annotations

import dataclasses
import os
import string
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from snakefold.common.errors import SnakefoldError

_LOWER_A, _LOWER_Z = ord("a"), ord("z")
_DROP_LOWER_CASE = str.maketrans("", "", string.ascii_lowercase)
#: HH-suite's annotation records of an a3m (secondary structure, consensus): not sequences of the MSA.
ANNOTATION_RECORDS = frozenset({"ss_dssp", "ss_pred", "ss_conf", "sa_dssp", "Consensus"})
#: The line that closes a Stockholm alignment.
STOCKHOLM_END = "//"


@dataclasses.dataclass(frozen=True)
class Msa:
    """An MSA aligned to its first row (the query): see the module docstring for the fields."""

    sequences: list[str]
    deletion_matrix: np.ndarray
    descriptions: list[str]

    def __post_init__(self):
        rows = len(self.sequences)
        if self.deletion_matrix.shape[0] != rows or len(self.descriptions) != rows:
            raise ValueError(f"an MSA needs one deletion row and one description per sequence: {rows} sequences, "
                             f"{self.deletion_matrix.shape[0]} deletion rows, {len(self.descriptions)} descriptions")

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def query(self) -> str:
        return self.sequences[0]

    def truncated(self, max_rows: int | None) -> "Msa":
        """The first ``max_rows`` rows (the query counts as one), or the whole MSA for None."""
        if max_rows is None or max_rows >= len(self):
            return self
        return Msa(self.sequences[:max_rows], self.deletion_matrix[:max_rows], self.descriptions[:max_rows])


def single_sequence_msa(sequence: str, description: str = "query") -> Msa:
    """The MSA of a query alone: one row, no insertions."""
    return Msa([sequence], np.zeros((1, len(sequence)), dtype=np.int32), [description])


def _fasta_records(lines: Iterable[str], source: str) -> Iterator[tuple[str, str, int]]:
    """(description, joined sequence lines, header line number) of each a3m record that holds a sequence."""
    description = None
    chunks: list[str] = []
    header_line = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.replace("\x00", "").strip()
        if not line:
            continue
        if line.startswith(">"):
            if description is not None and _is_sequence_record(description):
                yield description, "".join(chunks), header_line
            description, chunks, header_line = line[1:], [], number
        elif description is None:
            if line.startswith(("#", ";")):
                continue
            raise SnakefoldError(f"{source}:{number}: not an a3m file: text before the first '>' header")
        else:
            chunks.append(line)
    if description is not None and _is_sequence_record(description):
        yield description, "".join(chunks), header_line


def _is_sequence_record(description: str) -> bool:
    words = description.split(None, 1)
    return not words or words[0] not in ANNOTATION_RECORDS


def _row_deletions(row: bytes) -> np.ndarray:
    """[aligned columns] the run of inserted (lower-case) residues just before each aligned letter."""
    codes = np.frombuffer(row, dtype=np.uint8)
    inserted = (codes >= _LOWER_A) & (codes <= _LOWER_Z)
    inserted_so_far = np.cumsum(inserted)[~inserted]
    return np.diff(inserted_so_far, prepend=0).astype(np.int32)


def parse_a3m(text: str, source: str = "a3m") -> Msa:
    """Read an a3m MSA; ``source`` (a file name) is used in error messages."""
    sequences, deletions, descriptions = [], [], []
    width = None
    for description, row, line in _fasta_records(text.splitlines(), source):
        row = row.replace(".", "")
        aligned = row.translate(_DROP_LOWER_CASE)
        if width is None:
            width = len(aligned)
        elif len(aligned) != width:
            raise SnakefoldError(f"{source}:{line}: record '{description[:60]}' has {len(aligned)} aligned "
                                 f"columns (upper-case letters and '-'), but the query has {width}")
        sequences.append(aligned)
        deletions.append(_row_deletions(row.encode("ascii", errors="replace")))
        descriptions.append(description)
    if not sequences:
        raise SnakefoldError(f"{source}: no MSA record found (an a3m file holds '>' headers and aligned rows)")
    return Msa(sequences, np.stack(deletions), descriptions)


def _cut_short(source: str | Path) -> SnakefoldError:
    """The error of a Stockholm file without its closing line."""
    return SnakefoldError(f"{source}: ends without the closing '{STOCKHOLM_END}' line of a Stockholm alignment: the "
                          "file was cut short; copy or make it again")


def _stockholm_rows(lines: Iterable[str], source: str) -> dict[str, str]:
    """name -> aligned row, in the order names first appear, joined over all blocks (none for no row).

    Raises if rows are found but the lines do not end with the closing '//'."""
    rows: dict[str, list[str]] = {}
    last_line = ""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        last_line = line or last_line
        if not line or line.startswith(("#", STOCKHOLM_END)):
            continue
        fields = line.split()
        if len(fields) != 2:
            raise SnakefoldError(f"{source}:{number}: a Stockholm alignment line is 'name aligned-row', "
                                 f"found {len(fields)} fields")
        rows.setdefault(fields[0], []).append(fields[1])
    if rows and last_line != STOCKHOLM_END:
        raise _cut_short(source)
    return {name: "".join(parts) for name, parts in rows.items()}


def parse_stockholm(text: str, source: str = "Stockholm") -> Msa:
    """Read a Stockholm MSA whose first row is the query; ``source`` is used in error messages."""
    rows = _stockholm_rows(text.splitlines(), source)
    if not rows:
        raise SnakefoldError(f"{source}: no aligned sequence found in this Stockholm file")
    names = list(rows)
    query_row = rows[names[0]].replace(".", "-")
    query_columns = np.frombuffer(query_row.encode("ascii", errors="replace"), dtype=np.uint8) != ord("-")
    sequences, deletions = [], []
    for name in names:
        row = rows[name].replace(".", "-")
        if len(row) != len(query_row):
            raise SnakefoldError(f"{source}: row '{name}' is {len(row)} columns wide, the query row "
                                 f"'{names[0]}' {len(query_row)}")
        codes = np.frombuffer(row.encode("ascii", errors="replace"), dtype=np.uint8)
        kept = codes[query_columns]
        sequences.append(kept.tobytes().decode("ascii").upper())
        # A residue in an insertion column (query gap) is a deletion for the next query column.
        inserted = (~query_columns) & (codes != ord("-"))
        totals = np.cumsum(inserted)[query_columns]
        deletions.append(np.diff(totals, prepend=0).astype(np.int32))
    return Msa(sequences, np.stack(deletions), names)


def msa_format(path: str | Path) -> str:
    """``a3m`` or ``sto`` from a file name (``.a3m``; ``.sto``, ``.sth``, ``.stockholm``)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".a3m":
        return "a3m"
    if suffix in (".sto", ".sth", ".stockholm"):
        return "sto"
    raise SnakefoldError(f"{path}: cannot tell the MSA format from the file name; name it .a3m or .sto")


def read_msa(path: str | Path, fmt: str | None = None) -> Msa:
    """Parse an MSA file by its format (given, or told by its name)."""
    fmt = fmt or msa_format(path)
    text = Path(path).read_text(encoding="ascii", errors="replace")
    return parse_a3m(text, str(path)) if fmt == "a3m" else parse_stockholm(text, str(path))


def query_of_msa_file(path: str | Path, fmt: str | None = None) -> str:
    """The first row of an MSA file with gaps removed and upper-cased: the sequence it was searched with.

    Reads only as much of the file as needed (the first record of an a3m; a Stockholm file whole, as the first
    name's rows may span blocks and its last line must close it).
    """
    fmt = fmt or msa_format(path)
    with open(path, encoding="ascii", errors="replace") as handle:
        if fmt == "a3m":
            record = next(_fasta_records(handle, str(path)), None)
            if record is None:
                raise SnakefoldError(f"{path}: no MSA record found")
            row = record[1]
        else:
            first_name, parts, last_line = None, [], ""
            for line in handle:
                stripped = line.strip()
                last_line = stripped or last_line
                if not stripped or stripped.startswith(("#", STOCKHOLM_END)):
                    continue
                name, *aligned = stripped.split(None, 1)
                first_name = first_name or name
                if name == first_name:
                    parts.extend(aligned)
            if first_name is None:
                raise SnakefoldError(f"{path}: no aligned sequence found in this Stockholm file")
            if last_line != STOCKHOLM_END:
                raise _cut_short(path)
            row = "".join(parts)
    return row.replace("-", "").replace(".", "").upper()


def stockholm_names(lines: Iterable[str]) -> Iterator[str]:
    """Each sequence name of a Stockholm file once, in the order it first appears."""
    seen = set()
    for line in lines:
        if not line.strip() or line.startswith(("#", STOCKHOLM_END)):
            continue
        name = line.split(None, 1)[0]
        if name not in seen:
            seen.add(name)
            yield name


def truncate_stockholm(source: str | Path, destination_handle, max_rows: int | None) -> int:
    """Copy a Stockholm file keeping only its first ``max_rows`` sequences (all for None); return how many.

    AlphaFold2's per-database hit limit: the kept sequences are the first ``max_rows`` names in order of
    appearance (the query is the first); their alignment rows and ``#=GS`` lines are kept, as are the
    header, the ``#=GC RF`` line and ``//``; other per-sequence and per-file markup is dropped. The file is
    streamed twice, never held in memory whole; one without its closing ``//`` is refused before anything is written.
    """
    if _last_line(source) != STOCKHOLM_END:
        raise _cut_short(source)
    with open(source, encoding="ascii", errors="replace") as handle:
        kept = set()
        for name in stockholm_names(handle):
            if max_rows is not None and len(kept) >= max_rows:
                break
            kept.add(name)
    with open(source, encoding="ascii", errors="replace") as handle:
        for line in handle:
            if _keep_stockholm_line(line, kept):
                destination_handle.write(line)
    return len(kept)


def _last_line(path: str | Path, block: int = 65536) -> str:
    """The last line of a file that holds more than whitespace, stripped, read from the file's end."""
    with open(path, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        tail = b""
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            if b"\n" in tail.rstrip():
                break
    return tail.rstrip().rsplit(b"\n", 1)[-1].strip().decode("ascii", errors="replace")


def _keep_stockholm_line(line: str, kept: set[str]) -> bool:
    stripped = line.strip()
    if not stripped or stripped == STOCKHOLM_END or line.startswith(("# STOCKHOLM", "#=GC RF")):
        return True
    if line.startswith("#=GS"):
        fields = line.split(None, 2)
        return len(fields) > 1 and fields[1] in kept
    if line.startswith("#"):
        return False
    return line.split(None, 1)[0] in kept


def stockholm_to_a3m(text: str, deduplicate: bool = True, source: str = "Stockholm") -> str:
    """An a3m of a Stockholm MSA, as AlphaFold2 prepares its UniRef90 MSA for the template search.

    With ``deduplicate``, a row whose residues in the query's columns repeat an earlier row's is dropped
    (the query is kept). Each row keeps its residues in query columns as they are and its residues in
    insertion columns as lower case; gaps in insertion columns are dropped. Headers are ``>name
    description`` with the ``#=GS name DE`` description where there is one.
    """
    lines = text.splitlines()
    rows = _stockholm_rows(lines, source)
    if not rows:
        raise SnakefoldError(f"{source}: no aligned sequence found in this Stockholm file")
    descriptions = {}
    for line in lines:
        if line.startswith("#=GS"):
            fields = line.split(None, 3)
            if len(fields) >= 3 and fields[2] == "DE":
                descriptions[fields[1]] = fields[3] if len(fields) == 4 else ""
    query_row = next(iter(rows.values())).replace(".", "-")
    in_query = [letter != "-" for letter in query_row]
    seen, records = set(), []
    for name, row in rows.items():
        row = row.replace(".", "-")
        if deduplicate:
            matched = "".join(letter for letter, keep in zip(row, in_query) if keep)
            if matched in seen:
                continue
            seen.add(matched)
        a3m_row = "".join(letter if keep else letter.lower()
                          for letter, keep in zip(row, in_query) if keep or letter != "-")
        records.append(f">{name} {descriptions.get(name, '')}".rstrip() + f"\n{a3m_row}\n")
    return "".join(records)
