"""AlphaFold2's MSA reading rules written out plainly, character by character, for expected values.

This is deliberately the slow, literal reading of the rules (AlphaFold2 supplement 1.2.2 and its data
pipeline's behaviour), independent of snakefold.msa.formats, which is vectorised:

* a3m: every header line starts a record whose description is the line after '>'; sequence lines are
  concatenated; a lower-case letter is an insertion (counted into the next aligned column's deletion), any
  other letter or '-' is an aligned column.
* Stockholm: lines that are blank or start with '#' or '//' are markup; every other line is 'name row';
  rows of one name are concatenated in order; the first name is the query; a column where the query has
  '-' is an insertion column: a residue there counts as a deletion before the next query column.
* merge: the MSAs in order; a row equal (as aligned text) to an earlier row is dropped.
* species: the first word of the description, cut at '/', split at '|': 'sp' or 'tr', an accession of 6-10
  letters/digits (optionally '_' and one digit), an entry name 'X_SPECIES' or 'X_SPECIES_<digits>' with a
  species code of 1-5 letters/digits.
"""

from __future__ import annotations

HHBLITS_ORDER = "ACDEFGHIKLMNPQRSTVWYX-"
AMBIGUOUS = {"B": "D", "Z": "E", "U": "C", "J": "X", "O": "X"}


def a3m_rows(text: str) -> tuple[list[str], list[list[int]], list[str]]:
    sequences, descriptions = [], []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(">"):
            descriptions.append(line[1:])
            sequences.append("")
        elif line and descriptions:
            sequences[-1] += line
    rows, deletions = [], []
    for sequence in sequences:
        row, counts, run = "", [], 0
        for letter in sequence:
            if letter.islower():
                run += 1
            else:
                row += letter
                counts.append(run)
                run = 0
        rows.append(row)
        deletions.append(counts)
    return rows, deletions, descriptions


def stockholm_rows(text: str) -> tuple[list[str], list[list[int]], list[str]]:
    names, joined = [], {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("//"):
            continue
        name, part = line.split()
        if name not in joined:
            names.append(name)
            joined[name] = ""
        joined[name] += part
    query = joined[names[0]]
    rows, deletions = [], []
    for name in names:
        row, counts, run = "", [], 0
        for query_letter, letter in zip(query, joined[name]):
            if query_letter == "-":
                if letter != "-":
                    run += 1
            else:
                row += letter
                counts.append(run)
                run = 0
        rows.append(row)
        deletions.append(counts)
    return rows, deletions, names


def species(description: str) -> str:
    words = description.split()
    if not words:
        return ""
    parts = words[0].split("/")[0].split("|")
    if len(parts) != 3 or parts[0] not in ("sp", "tr"):
        return ""
    accession, entry = parts[1], parts[2]
    if "_" in accession:
        accession, _, isoform = accession.partition("_")
        if len(isoform) != 1 or not isoform.isdigit():
            return ""
    if not (6 <= len(accession) <= 10 and accession.isalnum() and accession.isascii()):
        return ""
    pieces = entry.split("_")
    if len(pieces) == 3 and pieces[2].isdigit():
        pieces = pieces[:2]
    if len(pieces) != 2 or not all(piece.isalnum() and piece.isascii() for piece in pieces):
        return ""
    return pieces[1] if 1 <= len(pieces[1]) <= 5 else ""


def merged(msas: list[tuple[list[str], list[list[int]], list[str]]]):
    """(rows, deletions, species) after merging in order and dropping repeated rows."""
    seen, rows, deletions, species_codes = set(), [], [], []
    for msa_rows, msa_deletions, descriptions in msas:
        for row, counts, description in zip(msa_rows, msa_deletions, descriptions):
            if row in seen:
                continue
            seen.add(row)
            rows.append(row)
            deletions.append(counts)
            species_codes.append(species(description))
    return rows, deletions, species_codes


def hhblits_index(letter: str) -> int:
    letter = letter.upper()
    return HHBLITS_ORDER.index(AMBIGUOUS.get(letter, letter))
