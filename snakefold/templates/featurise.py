"""AlphaFold2 template features from hhsearch hits (supplement section 1.2.3, "Template search").

Hits are taken in decreasing ``Sum_probs`` and each is kept or skipped by AlphaFold2's rules until
``max_hits`` templates are kept:

1. **Obsolete entries**: a PDB ID that ``obsolete.dat`` lists as replaced is read from its replacement's
   mmCIF file; one listed as removed without replacement is skipped.
2. **Prefilters** on the hit alone (L = query length): skipped when the aligned columns are at most
   ``min_align_ratio`` * L; when the hit's aligned sequence is a substring of the query and longer than
   ``max_subsequence_ratio`` * L (a near-duplicate of the query); when it has fewer than
   ``min_template_length`` residues.
3. **Release date**: skipped when the entry's first release (from its mmCIF) is after ``max_template_date``.
4. **Locating the hit in the mmCIF**: the aligned part of the hit sequence is looked up as a substring of
   the named chain's sequence, then of any chain's, then with X as a wildcard. When it is not found (the
   database holds another version of the sequence), the hit sequence is realigned to the named chain
   with kalign and kept if at least 90 % of the shorter sequence is identical; query residues whose hit
   residue has no counterpart in the chain then get no template residue (AlphaFold2 gives them the chain's
   last residue).
5. **Coordinates**: query residue i aligned to template residue j gets row j of the chain's atom37
   coordinates; skipped when fewer than 5 atoms remain, or when consecutive observed CA atoms are more than
   150 Å apart (a broken file).

Features (T kept templates, L query residues; AlphaFold2's names, shapes and order):

    template_aatype              [T, L, 22]    float32  one-hot, HHblits alphabet (21 = gap: no template residue)
    template_all_atom_positions  [T, L, 37, 3] float32  Å, atom37 order
    template_all_atom_masks      [T, L, 37]    float32
    template_sequence            [T]           bytes    L letters, '-' where no template residue
    template_domain_names        [T]           bytes    '<pdb id>_<chain>'
    template_sum_probs           [T, 1]        float32  hhsearch Sum_probs

With no template kept, T = 0 and every feature keeps its trailing dimensions. Byte strings are stored as
fixed-width ``S`` arrays (loadable with ``allow_pickle=False``).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from snakefold.common import residue_constants
from snakefold.common.errors import SnakefoldError
from snakefold.features.raw import empty_template_features
from snakefold.templates.hhr import TemplateHit
from snakefold.templates.mmcif import MmcifEntry, TemplateChain, read_mmcif
from snakefold.tools.kalign import MIN_LENGTH as KALIGN_MIN_LENGTH
from snakefold.tools.kalign import align_pair

#: Fewest atoms a kept template must place on the query (alanine has 5 heavy atoms).
MIN_TEMPLATE_ATOMS = 5
#: Largest distance between consecutive observed CA atoms of a usable template chain (Å).
MAX_CA_CA_DISTANCE = 150.0
#: Least identity of a realigned hit sequence to the mmCIF chain sequence (fraction of the shorter one).
MIN_REALIGNMENT_IDENTITY = 0.9

_HIT_NAME = re.compile(r"^([A-Za-z0-9]+)_([A-Za-z0-9.]+)")


@dataclasses.dataclass(frozen=True)
class TemplateFilters:
    """AlphaFold2's template filters (the ``templates`` config section gives their values)."""

    max_template_date: datetime.date
    max_hits: int
    max_subsequence_ratio: float
    min_align_ratio: float
    min_template_length: int


@dataclasses.dataclass(frozen=True)
class HitOutcome:
    """What became of one hit: ``kept``, or the reason it was skipped."""

    name: str
    kept: bool
    reason: str


@dataclasses.dataclass(frozen=True)
class _Template:
    """One kept template: features for a single template, [L, ...]."""

    aatype: np.ndarray
    positions: np.ndarray
    masks: np.ndarray
    sequence: str
    domain_name: str
    sum_probs: float


class SkipHit(Exception):
    """A hit that yields no template; the message says why."""


def parse_obsolete(path: str | Path) -> dict[str, str | None]:
    """The PDB's ``obsolete.dat``: obsolete ID -> first replacement ID (None when removed), lower case.

    Lines read ``OBSLTE    31-JUL-94 116L     216L`` (replaced) or ``OBSLTE    06-NOV-19 6G9Y`` (removed).
    """
    obsolete: dict[str, str | None] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 3 and fields[0] == "OBSLTE":
                obsolete[fields[2].lower()] = fields[3].lower() if len(fields) >= 4 else None
    return obsolete


def hit_entry_and_chain(hit: TemplateHit) -> tuple[str, str]:
    """The (lower-case entry ID, chain ID) a hit names as ``<id>_<chain>``."""
    match = _HIT_NAME.match(hit.name)
    if match is None:
        raise SnakefoldError(f"the template hit '{hit.name}' is not named '<pdb id>_<chain>' as PDB70 names its "
                             "entries; was the database built with 'snakefold build-db --format pdb70'?")
    return match[1].lower(), match[2]


def stack_templates(templates: Sequence[_Template], num_residues: int) -> dict[str, np.ndarray]:
    """The template features of ``templates`` in order ([T, ...]), or the no-hit template when there are none."""
    if not templates:
        return empty_template_features(num_residues)
    return {
        "template_aatype": np.stack([t.aatype for t in templates]).astype(np.float32),
        "template_all_atom_positions": np.stack([t.positions for t in templates]).astype(np.float32),
        "template_all_atom_masks": np.stack([t.masks for t in templates]).astype(np.float32),
        "template_sequence": np.array([t.sequence.encode("ascii") for t in templates], dtype=np.bytes_),
        "template_domain_names": np.array([t.domain_name.encode("ascii") for t in templates], dtype=np.bytes_),
        "template_sum_probs": np.array([[t.sum_probs] for t in templates], dtype=np.float32),
    }


def query_to_hit_mapping(hit: TemplateHit, query_length: int) -> dict[int, int]:
    """Query residue index -> index in the hit's aligned sequence (its residues from the first aligned one)."""
    hit_indices = [index for index in hit.indices_hit if index >= 0]
    if not hit_indices:
        return {}
    first_hit_residue = min(hit_indices)
    aligned_residues = len(hit.hit_sequence.replace("-", ""))
    mapping = {}
    for query_index, hit_index in zip(hit.indices_query, hit.indices_hit):
        if query_index >= 0 and hit_index >= 0:
            relative = hit_index - first_hit_residue
            if relative < aligned_residues and query_index < query_length:
                mapping[query_index] = relative
    return mapping


def _prefilter(hit: TemplateHit, query_sequence: str, filters: TemplateFilters) -> None:
    hit_residues = hit.hit_sequence.replace("-", "")
    align_ratio = hit.aligned_cols / len(query_sequence)
    if align_ratio <= filters.min_align_ratio:
        raise SkipHit(f"too little of the query aligned ({hit.aligned_cols} of {len(query_sequence)} residues, "
                      f"ratio {align_ratio:.3f} <= {filters.min_align_ratio})")
    length_ratio = len(hit_residues) / len(query_sequence)
    if hit_residues in query_sequence and length_ratio > filters.max_subsequence_ratio:
        raise SkipHit(f"a near-duplicate of the query (an exact subsequence covering {length_ratio:.3f} of it, "
                      f"> {filters.max_subsequence_ratio})")
    if len(hit_residues) < filters.min_template_length:
        raise SkipHit(f"too short ({len(hit_residues)} residues < {filters.min_template_length})")


def _locate_in_entry(hit_residues: str, chain_id: str, entry: MmcifEntry) -> tuple[TemplateChain, int] | None:
    """The chain holding ``hit_residues`` and where they start: named chain, any chain, X as wildcard."""
    named = entry.chains.get(chain_id)
    if named is not None and hit_residues in named.sequence:
        return named, named.sequence.find(hit_residues)
    for chain in entry.chains.values():
        if hit_residues in chain.sequence:
            return chain, chain.sequence.find(hit_residues)
    wildcard = re.compile("".join("." if letter == "X" else f"[{letter}X]" for letter in hit_residues))
    for chain in entry.chains.values():
        match = wildcard.search(chain.sequence)
        if match is not None:
            return chain, match.start()
    return None


def _realign(hit_residues: str, chain_id: str, entry: MmcifEntry, mapping: dict[int, int],
             log_path: Path) -> tuple[TemplateChain, dict[int, int]]:
    """Map the query onto the mmCIF chain sequence through a kalign alignment of the hit sequence to it."""
    chain = entry.chains.get(chain_id)
    if chain is None:
        if len(entry.chains) != 1:
            raise SkipHit(f"chain {chain_id} is not a protein chain of {entry.entry_id}")
        chain = next(iter(entry.chains.values()))
    if min(len(hit_residues), len(chain.sequence)) < KALIGN_MIN_LENGTH:
        raise SkipHit("the hit sequence differs from the mmCIF chain and is too short to realign")
    aligned_hit, aligned_chain = align_pair(hit_residues, chain.sequence, log_path)
    hit_to_chain = {}
    hit_index = chain_index = identical = 0
    for hit_letter, chain_letter in zip(aligned_hit, aligned_chain):
        if hit_letter != "-" and chain_letter != "-":
            hit_to_chain[hit_index] = chain_index
            identical += hit_letter == chain_letter
        hit_index += hit_letter != "-"
        chain_index += chain_letter != "-"
    identity = identical / min(len(hit_residues), len(chain.sequence))
    if identity < MIN_REALIGNMENT_IDENTITY:
        raise SkipHit(f"the hit sequence is only {100 * identity:.0f} % identical to chain "
                      f"{chain.author_chain_id} of the mmCIF file (realigned with kalign; at least "
                      f"{100 * MIN_REALIGNMENT_IDENTITY:.0f} % needed)")
    realigned = {query: hit_to_chain[hit] for query, hit in mapping.items() if hit in hit_to_chain}
    return chain, realigned


def _check_ca_distances(chain: TemplateChain) -> None:
    ca = residue_constants.atom_order["CA"]
    observed = chain.atom_positions[chain.atom_mask[:, ca] > 0, ca]
    if len(observed) > 1:
        gaps = np.linalg.norm(np.diff(observed, axis=0), axis=-1)
        if gaps.max() > MAX_CA_CA_DISTANCE:
            raise SkipHit(f"consecutive CA atoms of chain {chain.author_chain_id} are {gaps.max():.0f} Å apart")


class TemplateFeaturizer:
    """Turns hhsearch hits into AlphaFold2 template features, reading hit structures from ``mmcif_dir``."""

    def __init__(self, mmcif_dir: str | Path, filters: TemplateFilters, obsolete: dict[str, str | None],
                 kalign_log: str | Path):
        self.mmcif_dir = Path(mmcif_dir)
        self.filters = filters
        self.obsolete = obsolete
        self.kalign_log = Path(kalign_log)
        self._entries: dict[str, MmcifEntry] = {}

    def _entry(self, entry_id: str) -> MmcifEntry:
        if entry_id not in self._entries:
            for name in (f"{entry_id}.cif", f"{entry_id}.cif.gz"):
                path = self.mmcif_dir / name
                if path.is_file():
                    self._entries[entry_id] = read_mmcif(path, entry_id=entry_id)
                    break
            else:
                raise SkipHit(f"no mmCIF file {entry_id}.cif in {self.mmcif_dir} (is the mmCIF directory the one "
                              "the template database was built with?)")
        return self._entries[entry_id]

    def _template(self, query_sequence: str, hit: TemplateHit) -> _Template:
        entry_id, chain_id = hit_entry_and_chain(hit)
        if entry_id in self.obsolete:
            replacement = self.obsolete[entry_id]
            if replacement is None:
                raise SkipHit(f"{entry_id} is obsolete and was removed from the PDB")
            entry_id = replacement
        _prefilter(hit, query_sequence, self.filters)
        mapping = query_to_hit_mapping(hit, len(query_sequence))
        hit_residues = hit.hit_sequence.replace("-", "")

        entry = self._entry(entry_id)
        if entry.release_date is None:
            raise SkipHit(f"the mmCIF file of {entry_id} records no release date")
        if entry.release_date > self.filters.max_template_date:
            raise SkipHit(f"released {entry.release_date}, after max_template_date "
                          f"{self.filters.max_template_date}")
        if not entry.chains:
            raise SkipHit(f"{entry_id} has no protein chain")

        located = _locate_in_entry(hit_residues, chain_id, entry)
        if located is not None:
            chain, offset = located
            chain_mapping = {query: offset + hit_index for query, hit_index in mapping.items()}
        else:
            chain, chain_mapping = _realign(hit_residues, chain_id, entry, mapping, self.kalign_log)
        _check_ca_distances(chain)

        length = len(query_sequence)
        positions = np.zeros((length, residue_constants.atom_type_num, 3), np.float32)
        masks = np.zeros((length, residue_constants.atom_type_num), np.float32)
        letters = ["-"] * length
        for query_index, chain_index in chain_mapping.items():
            positions[query_index] = chain.atom_positions[chain_index]
            masks[query_index] = chain.atom_mask[chain_index]
            letters[query_index] = chain.sequence[chain_index]
        if masks.sum() < MIN_TEMPLATE_ATOMS:
            raise SkipHit(f"chain {chain.author_chain_id} has no observed atoms at the aligned residues")
        sequence = "".join(letters)
        return _Template(
            aatype=residue_constants.sequence_to_onehot(sequence, residue_constants.HHBLITS_AA_TO_ID,
                                                        map_unknown_to_x=True),
            positions=positions,
            masks=masks,
            sequence=sequence,
            domain_name=f"{entry_id}_{chain.author_chain_id}",
            sum_probs=hit.sum_probs if hit.sum_probs is not None else 0.0,
        )

    def featurize(self, query_sequence: str, hits: Iterable[TemplateHit]
                  ) -> tuple[dict[str, np.ndarray], list[HitOutcome]]:
        """Template features of the best hits (decreasing Sum_probs) and what became of each hit tried."""
        templates: list[_Template] = []
        outcomes: list[HitOutcome] = []
        ranked = sorted(hits, key=lambda hit: -(hit.sum_probs or 0.0))
        for hit in ranked:
            if len(templates) >= self.filters.max_hits:
                break
            try:
                templates.append(self._template(query_sequence, hit))
                outcome = HitOutcome(hit.name, True, f"kept as {templates[-1].domain_name}")
            except SkipHit as skipped:
                outcome = HitOutcome(hit.name, False, str(skipped))
            outcomes.append(outcome)
        return stack_templates(templates, len(query_sequence)), outcomes
