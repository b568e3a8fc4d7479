"""Batch FASTA intake: read, validate and name every target before any job runs.

The ``inputs`` of a run are FASTA files, directories of FASTA files and glob patterns, optionally
gzip-compressed, each with any number of records. :func:`snakefold.common.batch_checks.load_batch` reads
them all (:func:`read_records` here) and returns every problem at once, each naming the file, the line and
the record, so a user fixes a batch in one go.

Rules (documented for users in the README):

* A record's ID is the first word of its header (as Biopython and BLAST read it); the rest is its
  description. Its **target name** is the ID made filesystem-safe: letters, digits, ``.``, ``_`` and ``-``
  are kept, accented letters lose their accents, every other run of characters becomes ``_`` (so ``/``,
  ``..``, ``|``, ``$`` and friends never reach a path or a shell), names are at most 64 characters (longer
  ones end in a hash of the full ID so they stay unique and stable). A changed ID is reported as a warning.
* Sequences: whitespace is stripped, lowercase is upper-cased, a single trailing ``*`` is dropped. The twenty
  standard residues and ``X`` are accepted. ``U O B Z J`` follow ``nonstandard_residues``: ``map`` (default:
  selenocysteine U -> C and pyrrolysine O -> K, their parent residues; the ambiguity codes B, Z, J -> X),
  ``unknown`` (all five -> X, as AlphaFold2's model sees them) or ``reject``. Anything else (digits, gaps,
  ``*`` inside, punctuation) is an error naming its line and column. A chain of unknown residues alone (``X``,
  letters read as ``X`` included) is an error: AlphaFold2 places no atoms for ``X``, so there is nothing to
  predict; a chain that is partly ``X`` is accepted.
* Errors: an empty file, a file that is not FASTA (binary, gzip that does not decompress, PDB or mmCIF or
  Stockholm text, text before the first header), a record with no ID or no sequence, a sequence outside
  ``[min_length, max_length]``, the same ID twice, two IDs that become the same target name (compared
  without case, as on macOS filesystems), a name reserved for the batch's own outputs.
* Complexes (ColabFold's convention): a sequence whose chains are separated by ``:`` (``>hb\nVLS...:VHL...``)
  is a complex whose chains are named ``A``, ``B``, ... in order (:mod:`snakefold.common.chains`, at most 62).
  An empty chain (``A::B``, a leading or trailing ``:``) is an error naming its line and column;
  ``min_length`` applies to each chain, ``max_length`` to the complex's total length. Complexes named in
  sheets and pulldown screens are added by :mod:`snakefold.plan.complexes`.

Identical sequences under different names are computed once: each target carries ``seq_key``, a hash of
its sequence, and the workflow keys its computations by it. A complex's sequence is its chains joined by
``:`` (copies repeated), so its ``seq_key`` keys the complex, and each chain has its own ``seq_key``.
"""

from __future__ import annotations

import functools
import glob
import gzip
import hashlib
import io
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

from Bio.SeqIO.FastaIO import SimpleFastaParser

from snakefold.common import residue_constants
from snakefold.common.chains import MAX_CHAINS, chain_ids
from snakefold.common.errors import SnakefoldError

FASTA_SUFFIXES = (".fasta", ".fa", ".faa", ".fas", ".fsa", ".seq")
MAX_NAME_LENGTH = 64
#: Separates the chains of a complex in a record's sequence (ColabFold's convention).
CHAIN_SEPARATOR = ":"
NonstandardPolicy = Literal["map", "unknown", "reject"]
NONSTANDARD_POLICIES: dict[str, dict[str, str]] = {
    "map": {"U": "C", "O": "K", "B": "X", "Z": "X", "J": "X"},
    "unknown": {letter: "X" for letter in residue_constants.NONSTANDARD_RESIDUES},
    "reject": {},
}
_ACCEPTED_LETTERS = frozenset(residue_constants.restypes_with_x)
_NOT_FASTA_SIGNATURES = (
    (re.compile(r"^(HEADER|ATOM  |HETATM|CRYST1|REMARK|COMPND|MODEL |TITLE )"), "a PDB file"),
    (re.compile(r"^data_"), "an mmCIF file"),
    (re.compile(r"^# STOCKHOLM"), "a Stockholm alignment"),
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as it can be."""

    path: str
    line: int | None
    record_id: str | None
    reason: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        record = f" record '{self.record_id}':" if self.record_id is not None else ""
        return f"{where}:{record} {self.reason}"


@dataclass(frozen=True)
class Chain:
    """One chain of a complex: its chain ID (A, B, ...), the record its sequence comes from, the sequence."""

    chain_id: str
    record_id: str
    sequence: str

    @functools.cached_property
    def seq_key(self) -> str:
        return sequence_key(self.sequence)


@dataclass(frozen=True)
class Target:
    """A validated record: what the workflow predicts, and where it came from.

    A complex has ``chains`` (copies resolved, in chain-ID order) and the sequence ``CHAIN_SEPARATOR.join``
    of their sequences; a single-chain target has none."""

    name: str
    record_id: str
    description: str
    sequence: str
    path: str
    line: int
    chains: tuple[Chain, ...] = ()

    @functools.cached_property
    def seq_key(self) -> str:
        return sequence_key(self.sequence)

    @property
    def is_complex(self) -> bool:
        """A complex, a homomer of one chain (``A:A``) included, is any target of more than one chain."""
        return bool(self.chains)

    @property
    def length(self) -> int:
        """Residues in all: the sum of the chains' lengths for a complex."""
        return sum(len(chain.sequence) for chain in self.chains) if self.chains else len(self.sequence)


@dataclass
class Batch:
    """The outcome of intake: accepted single-chain targets and complexes, rejected records (errors), warnings.

    ``files`` are the FASTA files read (resolved), so that no file is read twice; ``complex_inputs`` the
    complex sheets and chain-only FASTA files read for complexes, as the config names them; ``pulldown`` the
    bait and prey of each complex of a pulldown screen."""

    targets: list[Target] = field(default_factory=list)
    complexes: list[Target] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    complex_inputs: list[str] = field(default_factory=list)
    #: a pulldown screen's complexes: name -> (bait's target name, prey's target name)
    pulldown: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def sequences(self) -> dict[str, str]:
        """seq_key -> sequence, one entry per distinct sequence of a single-chain target, in input order."""
        return {target.seq_key: target.sequence for target in self.targets}

    @property
    def chain_sequences(self) -> dict[str, str]:
        """seq_key -> sequence, one entry per distinct chain of the complexes, in input order."""
        return {chain.seq_key: chain.sequence for target in self.complexes for chain in target.chains}

    @property
    def paired_chain_keys(self) -> list[str]:
        """The distinct chains of heteromeric complexes (those AlphaFold-Multimer pairs by species), in order.

        A homomer's chains are not paired (AlphaFold2 pairs only complexes of two or more distinct sequences)."""
        keys = [chain.seq_key for target in self.complexes if len({c.sequence for c in target.chains}) > 1
                for chain in target.chains]
        return list(dict.fromkeys(keys))

    def names(self) -> dict[str, Target]:
        """Every accepted target by its name without case (target names compare as on macOS filesystems)."""
        return {target.name.lower(): target for target in self.targets + self.complexes}


def sequence_key(sequence: str) -> str:
    """Content key of a sequence: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(sequence.encode("ascii")).hexdigest()[:16]


def target_name(record_id: str) -> str:
    """The filesystem-safe, stable, readable name of a record ID ('' when nothing usable is left)."""
    ascii_id = unicodedata.normalize("NFKD", record_id).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_id)
    name = re.sub(r"\.{2,}", "_", name)
    name = re.sub(r"_{2,}", "_", name).strip("._-")
    return bounded_name(name, record_id)


def bounded_name(name: str, identity: str) -> str:
    """``name`` (already filesystem-safe) cut to MAX_NAME_LENGTH, ending in a hash of ``identity`` when cut."""
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:8]
        name = f"{name[:MAX_NAME_LENGTH - 9].rstrip('._-')}_{digest}"
    return name


def read_query_fasta(path: str | Path) -> str:
    """The sequence of a query FASTA file (one record of letters, as the workflow writes it for each search)."""
    try:
        lines = [line.strip() for line in Path(path).read_text(encoding="ascii").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise SnakefoldError(f"cannot read the query FASTA {path}: {error}") from error
    headers = [line for line in lines if line.startswith(">")]
    if len(headers) != 1 or not lines[0].startswith(">"):
        raise SnakefoldError(f"{path}: a query FASTA file holds exactly one record, found {len(headers)}")
    sequence = "".join(lines[1:]).upper()
    if not sequence.isalpha():
        raise SnakefoldError(f"{path}: the query sequence holds characters other than letters")
    return sequence


def expand_inputs(inputs: Iterable[str], config_key: str = "inputs") -> tuple[list[Path], list[Problem]]:
    """Resolve the config's ``inputs`` (files, directories, globs) into a sorted, de-duplicated file list.

    ``config_key`` names the list in messages (``pulldown.baits`` reads its files the same way)."""
    files: list[Path] = []
    problems: list[Problem] = []
    for index, entry in enumerate(inputs):
        key = f"config {config_key}[{index}]"
        if any(char in entry for char in "*?["):
            matches = sorted(Path(match) for match in glob.glob(entry, recursive=True) if Path(match).is_file())
            if not matches:
                problems.append(Problem(key, None, None, f"the pattern '{entry}' matches no file"))
            files.extend(matches)
        elif Path(entry).is_dir():
            matches = sorted(path for path in Path(entry).iterdir() if path.is_file() and _is_fasta_name(path))
            if not matches:
                problems.append(Problem(key, None, None, f"the directory '{entry}' holds no FASTA file "
                                        f"(names ending in {', '.join(FASTA_SUFFIXES)}, optionally .gz)"))
            files.extend(matches)
        elif Path(entry).is_file():
            files.append(Path(entry))
        else:
            problems.append(Problem(key, None, None, f"'{entry}' does not exist"))
    unique: dict[Path, Path] = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    return list(unique.values()), problems


def _is_fasta_name(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(FASTA_SUFFIXES)


def _read_text(path: Path) -> tuple[str | None, Problem | None]:
    """The file's text with a BOM removed and line endings made ``\\n``, or the reason it has none."""
    where = str(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        return None, Problem(where, None, None, f"cannot be read ({error}); is it a complete gzip file?")
    if not raw.strip():
        return None, Problem(where, None, None, "the file is empty")
    if b"\x00" in raw[:65536]:
        return None, Problem(where, None, None, "binary data, not a FASTA file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, Problem(where, line, None, "not UTF-8 text (a binary file or another encoding); "
                                               "save it as plain UTF-8 or ASCII FASTA")
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


def read_records(path: Path, nonstandard: NonstandardPolicy = "map") -> tuple[list[Target], list[Problem]]:
    """Parse one FASTA file with Biopython and check every record's ID and sequence.

    Returns the valid records (named) and the problems (errors and warnings) found in this file.
    """
    where = str(path)
    text, problem = _read_text(path)
    if problem is not None:
        return [], [problem]
    lines = text.split("\n")
    header_lines = [number for number, line in enumerate(lines, start=1) if line.startswith(">")]
    first_content = next((number for number, line in enumerate(lines, start=1) if line.strip()), None)
    if not header_lines or first_content < header_lines[0]:
        first_line = lines[first_content - 1]
        kind = next((kind for pattern, kind in _NOT_FASTA_SIGNATURES if pattern.match(first_line)), None)
        reason = (f"this is {kind}, not FASTA" if kind else
                  "not FASTA: the first line with text does not start with '>' (a FASTA record starts "
                  "with a header line '>ID description')")
        return [], [Problem(where, first_content, None, reason)]

    targets: list[Target] = []
    problems: list[Problem] = []
    record_ends = header_lines[1:] + [len(lines) + 1]
    parsed = SimpleFastaParser(io.StringIO(text))
    for header_line, end_line, (title, _joined) in zip(header_lines, record_ends, parsed):
        words = title.split(None, 1)
        record_id = words[0] if words else ""
        description = words[1] if len(words) > 1 else ""
        if not record_id:
            problems.append(Problem(where, header_line, None, "the header has no ID: write '>ID' "
                                    "followed by an optional description"))
            continue
        body = lines[header_line:end_line - 1]
        sequence, sequence_problems = _check_sequence(body, header_line, where, record_id, nonstandard)
        problems.extend(sequence_problems)
        if sequence_problems:
            continue
        chains = sequence.split(CHAIN_SEPARATOR) if CHAIN_SEPARATOR in sequence else []
        if len(chains) > MAX_CHAINS:
            problems.append(Problem(where, header_line, record_id, f"the complex has {len(chains)} chains; "
                                    f"AlphaFold2 names at most {MAX_CHAINS} (one per PDB chain ID)"))
            continue
        name = target_name(record_id)
        if not name:
            problems.append(Problem(where, header_line, record_id, "the ID has no letter or digit left to "
                                    "name the target after making it filesystem-safe; rename the record"))
            continue
        if name != record_id:
            problems.append(Problem(where, header_line, record_id, f"{_describe_unsafe(record_id)}; the target "
                                    f"is named '{name}'", severity="warning"))
        targets.append(Target(name, record_id, description, sequence, where, header_line,
                              complex_chains([(record_id, chain) for chain in chains])))
    return targets, problems


def complex_chains(records: list[tuple[str, str]]) -> tuple[Chain, ...]:
    """The chains of a complex from (record ID, sequence) pairs in chain order: IDs A, B, ... ('' for none)."""
    if not records:
        return ()
    return tuple(Chain(chain_id, record_id, sequence)
                 for chain_id, (record_id, sequence) in zip(chain_ids(len(records)), records))


def _check_sequence(body: list[str], header_line: int, where: str, record_id: str,
                    nonstandard: NonstandardPolicy) -> tuple[str, list[Problem]]:
    substitutions = NONSTANDARD_POLICIES[nonstandard]
    letters: list[str] = []
    bad: dict[str, tuple[int, int]] = {}
    separators: list[tuple[int, int]] = []
    for offset, line in enumerate(body, start=1):
        for column, char in enumerate(line, start=1):
            if char.isspace():
                continue
            upper = char.upper()
            if upper in _ACCEPTED_LETTERS:
                letters.append(upper)
            elif char == CHAIN_SEPARATOR:
                separators.append((header_line + offset, column))
                letters.append(char)
            elif upper in substitutions:
                letters.append(substitutions[upper])
            else:
                bad.setdefault(char, (header_line + offset, column))
                letters.append(char)
    sequence = "".join(letters)
    if sequence.endswith("*") and bad.get("*") == _last_position(body, header_line, "*"):
        sequence = sequence[:-1]
        del bad["*"]
    problems = [Problem(where, line, record_id, f"column {column}: {_describe_character(char, nonstandard)}")
                for char, (line, column) in sorted(bad.items(), key=lambda item: item[1])]
    if not sequence:
        problems.append(Problem(where, header_line, record_id, "the record has no sequence"))
    elif separators:
        problems.extend(_empty_chain_problems(sequence, separators, where, record_id))
    return sequence, problems


def _empty_chain_problems(sequence: str, separators: list[tuple[int, int]], where: str,
                          record_id: str) -> list[Problem]:
    """An error for every empty chain of a ':'-separated complex, at the ':' that closes or opens it."""
    chains = sequence.split(CHAIN_SEPARATOR)
    problems = []
    for index, chain in enumerate(chains):
        if chain:
            continue
        if index == 0:
            (line, column), reason = separators[0], "the sequence starts with ':', an empty first chain"
        elif index == len(chains) - 1:
            (line, column), reason = separators[-1], "the sequence ends with ':', an empty last chain"
        else:
            (line, column), reason = separators[index], f"'::' leaves chain {index + 1} empty"
        problems.append(Problem(where, line, record_id, f"column {column}: {reason}; ':' separates the chains "
                                "of a complex, each of which needs residues"))
    return problems


def _last_position(body: list[str], header_line: int, char: str) -> tuple[int, int] | None:
    for offset in range(len(body), 0, -1):
        stripped = body[offset - 1].rstrip()
        if stripped:
            return (header_line + offset, len(stripped)) if stripped.endswith(char) else None
    return None


def _describe_character(char: str, nonstandard: NonstandardPolicy) -> str:
    if char.isdigit():
        return f"'{char}' is a digit; sequences hold amino-acid letters only (remove numbering)"
    if char in "-.":
        return f"'{char}' is an alignment gap; give the unaligned sequence"
    if char == "*":
        return "'*' (a stop) inside the sequence; only a single trailing '*' is allowed"
    if char.upper() in residue_constants.NONSTANDARD_RESIDUES and nonstandard == "reject":
        return (f"'{char}' is a non-standard residue code, rejected because nonstandard_residues is 'reject' "
                "(use 'map' or 'unknown' to accept it)")
    return f"'{char}' is not an amino-acid letter"


def _describe_unsafe(record_id: str) -> str:
    if "/" in record_id or ".." in record_id:
        return "the ID contains a path ('/' or '..')"
    if not record_id.isascii():
        return "the ID contains non-ASCII characters"
    if re.search(r"\s", record_id):
        return "the ID contains whitespace"
    if re.search(r"[^A-Za-z0-9._-]", record_id):
        return "the ID contains shell metacharacters or punctuation"
    return "the ID is not a usable file name as it stands"
