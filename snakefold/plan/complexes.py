"""Complexes of a batch beyond ':' records: complex sheets and pulldown screens, checked before any job.

A **complex** is a target of two or more chains (:class:`snakefold.common.fasta.Target` with ``chains``).
Intake (:func:`snakefold.common.batch_checks.load_batch`) already accepts ColabFold's ``:``-separated records; this
module adds the complexes the config names, from the records of the batch:

* ``complexes.sheets``: TSV lines ``<name><TAB><RECORD>[:<copies>],...`` (the name ends at the first tab, so it
  may hold spaces; a line without a tab ends it at the first space) or YAML mappings of a name to the
  same text, to a list of ``RECORD[:copies]`` or to a mapping ``{RECORD: copies}``. A name becomes a target name
  as a record ID does (``my complex`` is ``my_complex``, with a warning). Copies are expanded in
  place (``HBA:2,HBB:2`` gives chains A, B of HBA and C, D of HBB, as AlphaFold2 orders a FASTA file). A
  record is named by its ID or its target name, and is a single-chain record of ``inputs`` (then also folded
  alone) or of ``complexes.chains`` (a chain only).
* ``pulldown``: every bait x prey pair, or every pair of two different records of baits and preys together
  (``all_vs_all``), and optionally each record with itself (``homodimers``); a pair is named
  ``<bait>__<prey>`` from the records' target names (cut to 64 characters with a hash, as long IDs are).
  Unordered duplicates (X x Y and Y x X) are folded once, in the first order met.

Every problem is collected at once, each naming its file, line and complex: unreadable sheets, unknown or
rejected records, copy numbers, more chains than AlphaFold2's 62 chain IDs, a chain below ``min_length``, a
complex above ``max_length`` (its total length), names reserved or taken by another target (without case).

One model preset family per target: complexes (a homomer of one chain included) run
``model.multimer_presets``, single-chain targets ``model.presets`` (:func:`target_presets`).
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from snakefold.common.batch_checks import batch_problem
from snakefold.common.chains import MAX_CHAINS
from snakefold.common.fasta import (
    Batch,
    NonstandardPolicy,
    Problem,
    Target,
    bounded_name,
    complex_chains,
    expand_inputs,
    read_records,
    target_name,
)

TSV_SUFFIXES = (".tsv", ".tab", ".txt")
YAML_SUFFIXES = (".yaml", ".yml")
#: Joins the target names of a pulldown pair's bait and prey.
PAIR_SEPARATOR = "__"
_COPIES = re.compile(r"^(?P<record>.+?)(?::(?P<copies>[^:]*))?$")
#: A copy number's ASCII digits (``str.isdigit`` takes '²' too, which ``int`` refuses), and the most it may have
#: (any more and it is no number a person means; Python refuses str <-> int conversions beyond 4,300 digits).
_DIGITS = re.compile(r"[0-9]+")
_MAX_COPY_DIGITS = 18


@dataclass(frozen=True)
class ComplexSettings:
    """The config's ``complexes`` and ``pulldown`` sections, typed."""

    sheets: tuple[str, ...] = ()
    chains: tuple[str, ...] = ()
    baits: tuple[str, ...] = ()
    preys: tuple[str, ...] = ()
    all_vs_all: bool = False
    homodimers: bool = False

    @classmethod
    def from_config(cls, config: dict) -> ComplexSettings:
        complexes, pulldown = config["complexes"], config["pulldown"]
        return cls(tuple(complexes["sheets"]), tuple(complexes["chains"]), tuple(pulldown["baits"]),
                   tuple(pulldown["preys"]), bool(pulldown["all_vs_all"]), bool(pulldown["homodimers"]))


def target_presets(model_section: dict, target: Target) -> list[str]:
    """The model presets of ``target``: the multimer family for a complex, the monomer family otherwise."""
    return list(model_section["multimer_presets"] if target.is_complex else model_section["presets"])


@dataclass(frozen=True)
class SheetChain:
    """One ``RECORD[:copies]`` of a sheet entry, with the line it is on."""

    record: str
    copies: int
    line: int


@dataclass(frozen=True)
class SheetEntry:
    """One complex of a sheet: its name as written, the chains' text, its records, where it is."""

    name: str
    text: str
    chains: tuple[SheetChain, ...]
    path: str
    line: int
    #: what is wrong with the entry as written (reported with what is wrong with its records)
    problems: tuple[Problem, ...] = ()


@dataclass
class _Records:
    """The single-chain records complexes may name, by ID and by target name, and the files they came from."""

    by_id: dict[str, Target] = field(default_factory=dict)
    by_name: dict[str, Target] = field(default_factory=dict)
    by_file: dict[Path, list[Target]] = field(default_factory=dict)
    #: record IDs that are complexes (':' records) or were rejected, and why they cannot be chains
    unusable: dict[str, str] = field(default_factory=dict)

    def add(self, record: Target, path: Path) -> None:
        self.by_id.setdefault(record.record_id, record)
        self.by_name.setdefault(record.name, record)
        self.by_file.setdefault(path, []).append(record)

    def find(self, reference: str) -> Target | None:
        return self.by_id.get(reference) or self.by_name.get(reference)

    def unknown(self, reference: str) -> str:
        """Why ``reference`` names no usable record, for a person."""
        if reference in self.unusable:
            return self.unusable[reference]
        close = difflib.get_close_matches(reference, list(self.by_id) + list(self.by_name), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return (f"'{reference}' is not a record of the batch{hint}; a sheet names single-chain records of 'inputs' "
                f"or 'complexes.chains' by ID or target name, with an optional copy number (ID:2)")


def add_complexes(batch: Batch, config: dict, reserved: Iterable[str]) -> None:
    """Add the complexes of the config's sheets and pulldown screen to ``batch`` (its errors too)."""
    settings = ComplexSettings.from_config(config)
    if not (settings.sheets or settings.baits or settings.preys):
        return
    reserved = {name.lower() for name in reserved}
    limits = (config["min_length"], config["max_length"])
    records = _batch_records(batch)
    chain_files = {key: _read_chain_files(batch, records, paths, key, limits, config["nonstandard_residues"])
                   for key, paths in (("complexes.chains", settings.chains), ("pulldown.baits", settings.baits),
                                      ("pulldown.preys", settings.preys))}
    names = batch.names()
    for index, sheet in enumerate(settings.sheets):
        if Path(sheet).is_file():
            batch.complex_inputs.append(sheet)
        entries, problems = read_sheet(sheet, f"complexes.sheets[{index}]")
        batch.errors.extend(problems)
        for entry in entries:
            _accept(batch, _sheet_complex(batch, entry, records), names, limits, reserved)
    if settings.baits or settings.preys:
        baits = _records_of(chain_files["pulldown.baits"], records)
        preys = _records_of(chain_files["pulldown.preys"], records)
        for first, second in pulldown_pairs(baits, preys, settings.all_vs_all, settings.homodimers):
            pair = _pair(first, second)
            if _accept(batch, pair, names, limits, reserved, context=_pair_context(first, second)):
                batch.pulldown[pair.name] = (first.name, second.name)
    batch.errors.sort(key=lambda problem: (problem.path, problem.line or 0))


def _batch_records(batch: Batch) -> _Records:
    records = _Records()
    for target in batch.targets:
        records.add(target, Path(target.path).resolve())
    for target in batch.complexes:
        records.unusable[target.record_id] = (f"'{target.record_id}' ({target.path}:{target.line}) is a complex; "
                                              "complexes are made of single-chain records")
        records.by_file.setdefault(Path(target.path).resolve(), [])
    for problem in batch.errors:
        if problem.record_id is not None:
            records.unusable.setdefault(problem.record_id, f"the record '{problem.record_id}' was rejected "
                                        f"({problem.path}:{problem.line}: {problem.reason})")
    return records


def _read_chain_files(batch: Batch, records: _Records, inputs: Iterable[str], key: str, limits: tuple[int, int],
                      nonstandard: NonstandardPolicy) -> list[Path]:
    """Read the chain-only FASTA files of config key ``key`` (each file once); return them, resolved."""
    files, problems = expand_inputs(inputs, key)
    batch.errors.extend(problems)
    resolved = []
    for path in files:
        where = path.resolve()
        resolved.append(where)
        batch.complex_inputs.append(str(path))
        if where in records.by_file or where in batch.files:
            continue
        batch.files.append(where)
        targets, problems = read_records(path, nonstandard)
        batch.errors.extend(p for p in problems if p.severity == "error")
        batch.warnings.extend(p for p in problems if p.severity == "warning")
        records.by_file[where] = []
        for target in targets:
            known = records.by_id.get(target.record_id)
            if known is not None and known.sequence == target.sequence:
                records.by_file[where].append(known)  # the same record listed in another file too
                continue
            problem = _chain_record_problem(target, records, limits, key)
            if problem is not None:
                batch.errors.append(problem)
                records.unusable.setdefault(target.record_id, f"the record '{target.record_id}' was rejected "
                                            f"({problem.path}:{problem.line}: {problem.reason})")
                continue
            records.add(target, where)
    return resolved


def _chain_record_problem(target: Target, records: _Records, limits: tuple[int, int], key: str) -> Problem | None:
    if target.is_complex:
        return Problem(target.path, target.line, target.record_id, f"a record of '{key}' is one chain; ':' makes a "
                       "complex, which only 'inputs' may hold")
    return batch_problem(target, {}, *limits, set(), records.by_id)


def _records_of(files: list[Path], records: _Records) -> list[Target]:
    """The usable records of ``files`` in file order, each record once."""
    found = [record for path in files for record in records.by_file.get(path, [])]
    return list({record.record_id: record for record in found}.values())


# ------------------------------------------------------------------------------------------------- sheets
def read_sheet(path: str, config_key: str) -> tuple[list[SheetEntry], list[Problem]]:
    """The entries of a TSV or YAML complex sheet, and every problem found in it (file and line each)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TSV_SUFFIXES + YAML_SUFFIXES:
        return [], [Problem(f"config {config_key}", None, None, f"'{path}' is neither a TSV sheet "
                            f"({', '.join(TSV_SUFFIXES)}) nor a YAML sheet ({', '.join(YAML_SUFFIXES)})")]
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return [], [Problem(f"config {config_key}", None, None, f"the complex sheet '{path}' does not exist")]
    except (OSError, UnicodeDecodeError) as error:
        return [], [Problem(path, None, None, f"the complex sheet cannot be read as UTF-8 text ({error})")]
    reader = _tsv_entries if suffix in TSV_SUFFIXES else _yaml_entries
    entries, problems = reader(text.replace("\r\n", "\n").replace("\r", "\n"), path)
    if not entries and not problems:
        problems.append(Problem(path, None, None, "the complex sheet lists no complex"))
    return entries, problems


def _tsv_entries(text: str, path: str) -> tuple[list[SheetEntry], list[Problem]]:
    entries, problems = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        # the name ends at the first tab (a name may hold spaces, as a YAML key may); without a tab, at a space
        words = content.split("\t" if "\t" in content else None, 1)
        name = words[0].strip()
        text_of_chains = re.sub(r"\s+", "", words[1]) if len(words) > 1 else ""
        if not text_of_chains:
            problems.append(Problem(path, number, name, "the line names a complex but no chains: write the name, "
                                    "a tab, then its records with copy numbers, e.g. 'hb<TAB>HBA_HUMAN:2,HBB_HUMAN:2'"))
            continue
        chains, chain_problems = _parse_chains(text_of_chains.split(","), number, path, name)
        entries.append(SheetEntry(name, text_of_chains, tuple(chains), path, number, tuple(chain_problems)))
    return entries, problems


def _yaml_entries(text: str, path: str) -> tuple[list[SheetEntry], list[Problem]]:
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return [], [Problem(path, mark.line + 1 if mark else None, None, f"not valid YAML: {error}")]
    if document is None:
        return [], []
    if not isinstance(document, yaml.MappingNode):
        return [], [Problem(path, document.start_mark.line + 1, None, "a YAML complex sheet is a mapping of complex "
                            "names to their records, e.g. 'hb: [HBA_HUMAN:2, HBB_HUMAN:2]'")]
    entries, problems = [], []
    for key_node, value_node in document.value:
        name, number = str(key_node.value), key_node.start_mark.line + 1
        tokens = _yaml_tokens(value_node)
        if tokens is None:
            problems.append(Problem(path, number, name, "the complex's records must be a text "
                                    "('HBA_HUMAN:2,HBB_HUMAN:2'), a list of 'RECORD[:copies]' or a mapping of records "
                                    "to copy numbers"))
            continue
        chains, chain_problems = [], []
        for token, line in tokens:
            parsed, token_problems = _parse_chains(token.split(","), line, path, name)
            chains.extend(parsed)
            chain_problems.extend(token_problems)
        text_of_chains = ",".join(f"{chain.record}:{chain.copies}" for chain in chains)
        entries.append(SheetEntry(name, text_of_chains, tuple(chains), path, number, tuple(chain_problems)))
    return entries, problems


def _yaml_tokens(node: Any) -> list[tuple[str, int]] | None:
    """``RECORD[:copies]`` texts of a YAML value, each with its line; None for a value of another shape."""
    if isinstance(node, yaml.ScalarNode):
        return [(re.sub(r"\s+", "", str(node.value)), node.start_mark.line + 1)]
    if isinstance(node, yaml.SequenceNode) and all(isinstance(item, yaml.ScalarNode) for item in node.value):
        return [(str(item.value).strip(), item.start_mark.line + 1) for item in node.value]
    if isinstance(node, yaml.MappingNode) and all(isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode)
                                                  for key, value in node.value):
        return [(f"{key.value}:{value.value}", key.start_mark.line + 1) for key, value in node.value]
    return None


def _parse_chains(tokens: list[str], line: int, path: str, name: str) -> tuple[list[SheetChain], list[Problem]]:
    chains, problems = [], []
    for token in tokens:
        match = _COPIES.match(token)
        if not token or match is None:
            problems.append(Problem(path, line, name, "an empty record name in the list of chains (two commas, or "
                                    "one at the end?)"))
            continue
        copies = match.group("copies")
        copies_problem = None if copies is None else _copy_number_problem(copies)
        if copies_problem is not None:
            problems.append(Problem(path, line, name, f"'{_shortened(token)}': {copies_problem}"))
            continue
        chains.append(SheetChain(match.group("record"), int(copies) if copies else 1, line))
    return chains, problems


def _copy_number_problem(copies: str) -> str | None:
    """Why the text after a record's ':' is not a copy number, or None.

    A large number is a copy number, which the complex's chain count then finds above MAX_CHAINS; one of more than
    _MAX_COPY_DIGITS digits is refused here (past 4,300 digits Python would not even read or print it)."""
    if not _DIGITS.fullmatch(copies) or not copies.strip("0"):
        return (f"the copy number after ':' must be a whole number of at least 1, not '{_shortened(copies)}' (name a "
                "record whose ID holds ':' by its target name)")
    if len(copies) > _MAX_COPY_DIGITS:
        return (f"the copy number has {len(copies)} digits; a complex holds at most {MAX_CHAINS} chains (one per PDB "
                "chain ID)")
    return None


def _shortened(text: str, limit: int = 60) -> str:
    """``text`` for a message: cut to ``limit`` characters, ending in '...' when cut."""
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _sheet_complex(batch: Batch, entry: SheetEntry, records: _Records) -> Target | list[Problem]:
    """The complex of a sheet entry, or every problem that stops it."""
    problems = list(entry.problems)
    found = []
    for chain in entry.chains:
        record = records.find(chain.record)
        if record is None:
            problems.append(Problem(entry.path, chain.line, entry.name, records.unknown(chain.record)))
        else:
            found.append((record, chain.copies))
    count = sum(chain.copies for chain in entry.chains)  # counted before any copy is made: a copy number may be huge
    countable = not entry.problems  # a list with unreadable parts has no chain count
    if countable and count > MAX_CHAINS:
        problems.append(Problem(entry.path, entry.line, entry.name, f"the complex has {count} chains (copies "
                                f"included); AlphaFold2 names at most {MAX_CHAINS} (one per PDB chain ID)"))
    elif countable and count < 2:
        problems.append(Problem(entry.path, entry.line, entry.name, "one chain is not a complex: give a copy number "
                                "(RECORD:2 for a homodimer) or more records; a single chain is a target of 'inputs'"))
    name = target_name(entry.name)
    if not name:
        problems.append(Problem(entry.path, entry.line, entry.name, "the complex's name has no letter or digit left "
                                "after making it filesystem-safe; rename it"))
    if problems:
        return problems
    if name != entry.name:
        batch.warnings.append(Problem(entry.path, entry.line, entry.name, f"the complex's name is not a usable file "
                                      f"name as it stands; the target is named '{name}'", severity="warning"))
    chains = complex_chains([(record.record_id, record.sequence) for record, copies in found for _ in range(copies)])
    return Target(name, entry.name, entry.text, ":".join(chain.sequence for chain in chains), entry.path,
                  entry.line, chains)


# ----------------------------------------------------------------------------------------------- pulldown
def pulldown_pairs(baits: list[Target], preys: list[Target], all_vs_all: bool,
                   homodimers: bool) -> list[tuple[Target, Target]]:
    """The pairs a screen folds, in order, each unordered pair once (module doc)."""
    proteins = list({record.record_id: record for record in baits + preys}.values())
    pairs = (list(itertools.combinations(proteins, 2)) if all_vs_all
             else [(bait, prey) for bait in baits for prey in preys])
    if homodimers:
        pairs += [(protein, protein) for protein in proteins]
    unique: dict[frozenset[str], tuple[Target, Target]] = {}
    for first, second in pairs:
        unique.setdefault(frozenset((first.record_id, second.record_id)), (first, second))
    return list(unique.values())


def pair_name(first: Target, second: Target) -> str:
    """``<first>__<second>`` of the records' target names, at most 64 characters, stable."""
    return bounded_name(f"{first.name}{PAIR_SEPARATOR}{second.name}",
                        f"{first.record_id}{PAIR_SEPARATOR}{second.record_id}")


def _pair(first: Target, second: Target) -> Target:
    chains = complex_chains([(first.record_id, first.sequence), (second.record_id, second.sequence)])
    return Target(pair_name(first, second), f"{first.record_id}{PAIR_SEPARATOR}{second.record_id}",
                  f"pulldown pair: {first.record_id} x {second.record_id}",
                  ":".join(chain.sequence for chain in chains), first.path, first.line, chains)


def _pair_context(first: Target, second: Target) -> str:
    return (f" (pulldown pair of '{first.record_id}' at {first.path}:{first.line} and '{second.record_id}' at "
            f"{second.path}:{second.line})")


def _accept(batch: Batch, found: Target | list[Problem], names: dict[str, Target], limits: tuple[int, int],
            reserved: set[str], context: str = "") -> bool:
    """Add a complex to the batch after the batch-wide checks (limits, reserved and taken names); whether it was."""
    if isinstance(found, list):
        batch.errors.extend(found)
        return False
    problem = batch_problem(found, names, *limits, reserved)
    if problem is not None:
        batch.errors.append(Problem(problem.path, problem.line, problem.record_id, problem.reason + context))
        return False
    names[found.name.lower()] = found
    batch.complexes.append(found)
    return True
