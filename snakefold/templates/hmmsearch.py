"""AlphaFold-Multimer's template hits: hmmsearch's Stockholm output against ``pdb_seqres.txt``, and their features.

AlphaFold-Multimer (v2.3.2) builds an HMM from the chain's UniRef90 MSA (hmmbuild, match columns = the
query's residues), searches ``pdb_seqres.txt`` with hmmsearch and reads the ``-A`` alignment
(``pdb_hits.sto``) as AlphaFold2 v2.3.2 does:

* each row's name is ``<pdb id>_<chain>/<start>-<end>`` and its ``#=GS ... DE`` line must hold
  ``mol:protein length:<n>`` (rows of other molecule types are skipped); the pdb id is lower case;
* the aligned row, with the Stockholm ``.`` removed, is read as an a3m row: upper case and ``-`` are the
  HMM's match columns (query residues 0, 1, ..., L-1 in order), lower case are residues inserted between
  them. The hit's residue indices start at ``start - 1`` and count inserted residues too; the template's
  sequence is the row without gaps, upper-cased; ``aligned_cols`` counts the upper-case residues.

The hits are taken in file order (hmmsearch's, best first) and featurised as the monomer's hhsearch hits
(:mod:`snakefold.templates.featurise`: obsolete entries, prefilters, release date, mmCIF lookup or kalign
realignment), except that a hit whose template sequence equals an already kept template's is skipped and
does not count towards ``max_hits``. When no hit is kept, the features hold one all-zero template
(AlphaFold2's no-hit template: T = 1, template sequence and domain name empty) instead of none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from snakefold.common import residue_constants
from snakefold.common.errors import SnakefoldError
from snakefold.features.raw import TEMPLATE_AATYPE_CLASSES
from snakefold.templates.featurise import HitOutcome, SkipHit, TemplateFeaturizer, stack_templates
from snakefold.templates.hhr import TemplateHit

_HIT_DESCRIPTION = re.compile(r"^>?([a-z0-9]+)_(\w+)/([0-9]+)-([0-9]+).*protein length:([0-9]+) *(.*)$")


def _hit_indices(row: str, start: int) -> list[int]:
    """0-based hit residue index of each match column of an a3m row (-1 for a gap); inserts count, unlisted."""
    indices = []
    next_index = start
    for letter in row:
        if letter == "-":
            indices.append(-1)
        elif letter.islower():
            next_index += 1
        else:
            indices.append(next_index)
            next_index += 1
    return indices


def _stockholm_rows_and_descriptions(text: str) -> tuple[dict[str, str], dict[str, str]]:
    rows: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#=GS"):
            fields = line.split(maxsplit=3)
            if len(fields) >= 3 and fields[2] == "DE":
                descriptions[fields[1]] = fields[3] if len(fields) == 4 else ""
        elif line.strip() and not line.startswith(("#", "//")):
            name, aligned = line.split(maxsplit=1)
            rows[name] = rows.get(name, "") + aligned
    return rows, descriptions


def parse_hmmsearch_stockholm(text: str, query_sequence: str, source: str = "hmmsearch output") -> list[TemplateHit]:
    """The template hits of hmmsearch's ``-A`` Stockholm output for ``query_sequence``, in file order."""
    rows, descriptions = _stockholm_rows_and_descriptions(text)
    query_indices = tuple(range(len(query_sequence)))
    hits = []
    for index, (name, aligned) in enumerate(rows.items(), start=1):
        description = f"{name} {descriptions.get(name, '')}"
        if "mol:protein" not in description:
            continue
        match = _HIT_DESCRIPTION.match(description.strip())
        if match is None:
            raise SnakefoldError(f"{source}: the hit '{name}' is not named '<pdb id>_<chain>/<start>-<end>' with a "
                                 "'mol:protein length:<n>' description, as hmmsearch names pdb_seqres.txt hits")
        row = aligned.replace(".", "").strip()
        hits.append(TemplateHit(
            index=index,
            name=f"{match[1]}_{match[2]}",
            aligned_cols=sum(letter.isupper() for letter in row),
            sum_probs=None,
            probability=0.0,
            query=query_sequence,
            hit_sequence=row.upper(),
            indices_query=query_indices,
            indices_hit=tuple(_hit_indices(row, int(match[3]) - 1)),
        ))
    return hits


def read_hmmsearch_hits(path: str | Path, query_sequence: str) -> list[TemplateHit]:
    """:func:`parse_hmmsearch_stockholm` of a file."""
    return parse_hmmsearch_stockholm(Path(path).read_text(encoding="ascii", errors="replace"), query_sequence,
                                     str(path))


def no_hit_template_features(num_res: int) -> dict[str, np.ndarray]:
    """AlphaFold2's template features when hmmsearch finds nothing usable: one all-zero template."""
    return {
        "template_aatype": np.zeros((1, num_res, TEMPLATE_AATYPE_CLASSES), np.float32),
        "template_all_atom_masks": np.zeros((1, num_res, residue_constants.atom_type_num), np.float32),
        "template_all_atom_positions": np.zeros((1, num_res, residue_constants.atom_type_num, 3), np.float32),
        "template_domain_names": np.array([b""], dtype=np.bytes_),
        "template_sequence": np.array([b""], dtype=np.bytes_),
        "template_sum_probs": np.zeros((1, 1), np.float32),
    }


class HmmsearchHitFeaturizer(TemplateFeaturizer):
    """Template features of hmmsearch hits: file order, repeated template sequences skipped, no-hit template."""

    def featurize(self, query_sequence: str, hits: Iterable[TemplateHit]
                  ) -> tuple[dict[str, np.ndarray], list[HitOutcome]]:
        templates = []
        outcomes: list[HitOutcome] = []
        kept_sequences: set[str] = set()
        for hit in hits:
            if len(kept_sequences) >= self.filters.max_hits:
                break
            try:
                template = self._template(query_sequence, hit)
            except SkipHit as skipped:
                outcomes.append(HitOutcome(hit.name, False, str(skipped)))
                continue
            if template.sequence in kept_sequences:
                outcomes.append(HitOutcome(hit.name, False, "the same template sequence as a template kept before"))
                continue
            kept_sequences.add(template.sequence)
            templates.append(template)
            outcomes.append(HitOutcome(hit.name, True, f"kept as {template.domain_name}"))
        if not templates:
            return no_hit_template_features(len(query_sequence)), outcomes
        return stack_templates(templates, len(query_sequence)), outcomes
