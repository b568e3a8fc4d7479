"""AlphaFold-Multimer's template search of one chain: hmmbuild from its MSA, hmmsearch against ``pdb_seqres.txt``.

As AlphaFold2 v2.3.2's multimer pipeline does for each distinct chain:

1. **The query MSA** is the chain's first MSA (UniRef90's jackhmmer Stockholm, already cut to its row
   limit, in AlphaFold2's presets). A Stockholm MSA is prepared as AlphaFold2 prepares it
   (:func:`template_query_stockholm`): rows whose residues in the query's columns repeat an earlier row's are
   dropped (the query kept), then every column that is a gap in all remaining rows is removed (the
   ``#=GC RF`` line with them). hmmbuild then takes the RF line's match columns (``--hand --amino``).
   An a3m MSA (hhblits, MMseqs2 modes; AlphaFold2 has no such case) loses its inserted (lower-case)
   residues, as AlphaFold2's ``build_profile_from_a3m`` removes them, and becomes a Stockholm MSA whose RF
   line marks every remaining column, the query's residues (:func:`stockholm_of_a3m`), so that the HMM's
   match columns are the query's residues as the hits' parser expects; with no MSA (mode single_sequence)
   the query alone is that MSA.
2. **hmmsearch** of the HMM against ``pdb_seqres.txt`` with AlphaFold2's flags
   (:data:`snakefold.tools.hmmer.ALPHAFOLD_SEARCH_FLAGS`, ``--noali``), keeping the hits' Stockholm
   alignment (``pdb_hits.sto``; empty when nothing is found).
3. **Featurisation** of the hits with the mmCIF directory (:mod:`snakefold.templates.hmmsearch`): at most
   ``max_hits`` templates, AlphaFold2's all-zero no-hit template when none is kept.

The result's cache key (:func:`chain_template_parts`) is made of the chain's sequence, the key of the MSA
searched with, the HMMER and kalign versions, the fingerprints of ``pdb_seqres``, the mmCIF directory and
the obsolete list, the hmmsearch flags and the template filters. The databases are the catalog's
``pdb_seqres``, ``pdb_mmcif`` and ``obsolete_pdbs`` (config keys ``databases.pdb_seqres`` and so on).
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.install.databases import MULTIMER_TEMPLATE_DATABASES, fingerprint
from snakefold.msa.formats import msa_format, query_of_msa_file
from snakefold.templates.featurise import HitOutcome, TemplateFilters, parse_obsolete
from snakefold.templates.hmmsearch import HmmsearchHitFeaturizer, parse_hmmsearch_stockholm
from snakefold.tools import hmmer
from snakefold.tools.kalign import kalign_version

#: Bumped when this module's output changes for the same inputs, so old cache entries are not reused.
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class PdbSeqresSettings:
    """What the search reads and how its hits are filtered."""

    pdb_seqres: str
    mmcif_dir: str
    obsolete: str | None
    filters: TemplateFilters


def pdb_seqres_identity(settings: PdbSeqresSettings) -> dict[str, Any]:
    """The cache key parts shared by every chain of a run: tool versions, database fingerprints, options."""
    filters = settings.filters
    return {
        "kind": "templates_pdb_seqres",
        "format": FORMAT_VERSION,
        "hmmer": hmmer.version(),
        "kalign": kalign_version(),
        "pdb_seqres": fingerprint(MULTIMER_TEMPLATE_DATABASES["pdb_seqres"], settings.pdb_seqres),
        "mmcif_dir": fingerprint(MULTIMER_TEMPLATE_DATABASES["pdb_mmcif"], settings.mmcif_dir),
        "obsolete": (fingerprint(MULTIMER_TEMPLATE_DATABASES["obsolete_pdbs"], settings.obsolete)
                     if settings.obsolete else None),
        "hmmsearch_flags": hmmer.ALPHAFOLD_SEARCH_FLAGS,
        "max_template_date": filters.max_template_date.isoformat(),
        "max_hits": filters.max_hits,
        "max_subsequence_ratio": filters.max_subsequence_ratio,
        "min_align_ratio": filters.min_align_ratio,
        "min_template_length": filters.min_template_length,
    }


def chain_template_parts(sequence: str, identity: Mapping[str, Any], query_msa_key: str | None) -> dict[str, Any]:
    """Everything that determines a chain's template hits and features (the cache key's parts)."""
    return {**identity, "sequence": sequence, "query_msa": query_msa_key}


def _stockholm_alignment_lines(lines: list[str]) -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in lines:
        if line.strip() and not line.startswith(("#", "//")):
            name, aligned = line.split()
            rows[name] = rows.get(name, "") + aligned
    return rows


def _keep_line(line: str, kept: set[str]) -> bool:
    if not line.strip() or line.strip() == "//" or line.startswith(("# STOCKHOLM", "#=GC RF")):
        return True
    if line.startswith("#=GS"):
        return line.split(maxsplit=2)[1] in kept
    if line.startswith("#"):
        return False
    return line.split(maxsplit=1)[0] in kept


def _deduplicated(lines: list[str]) -> list[str]:
    """Lines of the rows whose residues in the query's (first row's) columns are new, the query's first."""
    rows = _stockholm_alignment_lines(lines)
    if not rows:
        raise SnakefoldError("the query MSA has no aligned sequence")
    query_columns = [letter != "-" for letter in next(iter(rows.values()))]
    seen: set[str] = set()
    kept: set[str] = set()
    for name, aligned in rows.items():
        in_query_columns = "".join(letter for letter, keep in zip(aligned, query_columns) if keep)
        if in_query_columns not in seen:
            seen.add(in_query_columns)
            kept.add(name)
    return [line for line in lines if _keep_line(line, kept)]


def _without_empty_columns(lines: list[str]) -> list[str]:
    """Each block (closed by its ``#=GC RF`` line) without the columns that are gaps in every row."""
    result = list(lines)
    block: list[int] = []
    for index, line in enumerate(lines):
        if line.startswith("#=GC RF"):
            aligned = [lines[row].rpartition(" ")[2] for row in block]
            width = len(line.rpartition(" ")[2])
            keep = [any(row[column] != "-" for row in aligned) for column in range(width)]
            for row in block + [index]:
                if any(keep):
                    prefix, _, alignment = lines[row].rpartition(" ")
                    result[row] = f"{prefix} {''.join(letter for letter, kept in zip(alignment, keep) if kept)}"
                else:
                    result[row] = ""
            block = []
        elif line.strip() and not line.startswith(("#", "//")):
            block.append(index)
    return result


def template_query_stockholm(text: str) -> str:
    """The Stockholm MSA hmmbuild reads, from a chain's Stockholm MSA, as AlphaFold2 prepares it (module doc)."""
    return "\n".join(_without_empty_columns(_deduplicated(text.splitlines())))


def stockholm_of_a3m(text: str) -> str:
    """A Stockholm MSA of an a3m without its inserted (lower-case) residues, rows named ``row<i>`` in order, the
    RF line marking every column (the query's residues) as a match column."""
    rows, parts = [], None
    for line in text.splitlines():
        if line.startswith(">"):
            parts = []
            rows.append(parts)
        elif parts is not None:
            parts.append(re.sub("[a-z.]+", "", line.strip()))
    aligned = ["".join(row) for row in rows]
    if not aligned or any(len(row) != len(aligned[0]) for row in aligned):
        raise SnakefoldError("the a3m's rows do not all have the query's length once insertions are removed")
    width = max(len(f"row{len(aligned) - 1}"), len("#=GC RF"))
    return ("# STOCKHOLM 1.0\n\n" + "".join(f"{f'row{index}':<{width}} {row}\n" for index, row in enumerate(aligned))
            + f"{'#=GC RF':<{width}} {'x' * len(aligned[0])}\n//\n")


@dataclasses.dataclass(frozen=True)
class PdbSeqresResult:
    hits_sto: str
    features: dict[str, np.ndarray]
    outcomes: list[HitOutcome]


def _write_hmmbuild_input(sequence: str, query_msa: str | Path | None, workdir: Path) -> Path:
    """The Stockholm MSA hmmbuild reads (its RF line marks the match columns)."""
    path = workdir / "query.sto"
    if query_msa is None:
        path.write_text(stockholm_of_a3m(f">query\n{sequence}\n"))
        return path
    searched = query_of_msa_file(query_msa)
    if searched != sequence:
        raise SnakefoldError(f"the MSA {query_msa} was searched with another sequence than this chain "
                             f"({len(searched)} residues, starting {searched[:20]!r}; the chain has {len(sequence)}, "
                             f"starting {sequence[:20]!r})")
    text = Path(query_msa).read_text(encoding="ascii", errors="replace")
    path.write_text(stockholm_of_a3m(text) if msa_format(query_msa) == "a3m" else template_query_stockholm(text))
    return path


def search_pdb_seqres(sequence: str, settings: PdbSeqresSettings, log_path: str | Path, *, timeout_s: float,
                      cpus: int = 1, query_msa: str | Path | None = None) -> PdbSeqresResult:
    """Search templates for one chain (each tool stops after ``timeout_s``) and featurise the hits (module doc).

    Tool messages and kalign's go to ``log_path``."""
    obsolete = parse_obsolete(settings.obsolete) if settings.obsolete else {}
    with tempfile.TemporaryDirectory(prefix="snakefold-pdb-seqres-") as scratch:
        workdir = Path(scratch)
        msa = _write_hmmbuild_input(sequence, query_msa, workdir)
        hmmer.build(msa, workdir / "query.hmm", log=log_path, timeout=timeout_s)
        hits_path = workdir / "pdb_hits.sto"
        hmmer.search(workdir / "query.hmm", settings.pdb_seqres, hits_path, flags=hmmer.ALPHAFOLD_SEARCH_FLAGS,
                     threads=cpus, log=log_path, timeout=timeout_s, database_name="pdb_seqres")
        hits_sto = hits_path.read_text(encoding="ascii", errors="replace") if hits_path.exists() else ""
    hits = parse_hmmsearch_stockholm(hits_sto, sequence, f"hmmsearch result against {settings.pdb_seqres}")
    featurizer = HmmsearchHitFeaturizer(settings.mmcif_dir, settings.filters, obsolete, kalign_log=log_path)
    features, outcomes = featurizer.featurize(sequence, hits)
    return PdbSeqresResult(hits_sto=hits_sto, features=features, outcomes=outcomes)
