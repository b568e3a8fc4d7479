"""Template search for one query sequence: hhsearch against a PDB70-style database, then featurisation.

The query is searched as an a3m: the query sequence alone, or an MSA whose first row is the query
(AlphaFold2 searches PDB70 with its UniRef90 jackhmmer MSA, converted from Stockholm to a3m). The hhr
result is parsed (:mod:`snakefold.templates.hhr`) and its hits turned into AlphaFold2's template features
(:mod:`snakefold.templates.featurise`).

A search's result is stored in the content-keyed cache under a key (:func:`template_cache_parts`) made of
everything that determines it: the sequence, the MSA searched with, hhsearch's and kalign's versions, the
fingerprints (:func:`snakefold.install.databases.fingerprint`) of the HH-suite database, the mmCIF directory
and the obsolete list, and every option that changes the result (not threads, memory or time limits).
The databases are the catalog's ``pdb70``, ``pdb_mmcif`` and ``obsolete_pdbs`` (config keys
``databases.pdb70`` and so on).
"""

from __future__ import annotations

import dataclasses
import datetime
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.install.databases import TEMPLATE_DATABASES, fingerprint, missing_files
from snakefold.msa.formats import msa_format, query_of_msa_file, stockholm_to_a3m
from snakefold.templates.featurise import HitOutcome, TemplateFeaturizer, TemplateFilters, parse_obsolete
from snakefold.templates.hhr import parse_hhr
from snakefold.tools.hhsearch import hhsearch_version, run_hhsearch
from snakefold.tools.kalign import kalign_version

#: Bumped when this module's output changes for the same inputs, so old cache entries are not reused.
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class TemplateSettings:
    """What a template search reads and how it filters: database paths, AlphaFold2's filters, hhsearch flags."""

    database: str
    mmcif_dir: str
    obsolete: str | None
    filters: TemplateFilters
    hhsearch_options: dict[str, Any]


def template_filters(section: Mapping[str, Any]) -> TemplateFilters:
    """The filters of a ``templates`` config section (defaults filled in)."""
    return TemplateFilters(
        max_template_date=parse_template_date(section["max_template_date"], "config key 'templates.max_template_date'"),
        max_hits=section["max_hits"],
        max_subsequence_ratio=section["max_subsequence_ratio"],
        min_align_ratio=section["min_align_ratio"],
        min_template_length=section["min_template_length"],
    )


def parse_template_date(text: str, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(text))
    except ValueError:
        raise SnakefoldError(f"{where}: '{text}' is not a date written YYYY-MM-DD") from None


def template_search_identity(settings: TemplateSettings) -> dict[str, Any]:
    """The cache key parts shared by every query of a run: tool versions, database fingerprints, options."""
    filters = settings.filters
    return {
        "kind": "templates",
        "format": FORMAT_VERSION,
        "hhsearch": hhsearch_version(),
        "kalign": kalign_version(),
        "database": fingerprint(TEMPLATE_DATABASES["pdb70"], settings.database),
        "mmcif_dir": fingerprint(TEMPLATE_DATABASES["pdb_mmcif"], settings.mmcif_dir),
        "obsolete": fingerprint(TEMPLATE_DATABASES["obsolete_pdbs"], settings.obsolete) if settings.obsolete else None,
        "max_template_date": filters.max_template_date.isoformat(),
        "max_hits": filters.max_hits,
        "max_subsequence_ratio": filters.max_subsequence_ratio,
        "min_align_ratio": filters.min_align_ratio,
        "min_template_length": filters.min_template_length,
        "hhsearch_options": settings.hhsearch_options,
    }


def template_cache_parts(sequence: str, identity: Mapping[str, Any], query_msa_key: str | None) -> dict[str, Any]:
    """Everything that determines the template features of ``sequence`` (the cache key's parts).

    ``identity`` is :func:`template_search_identity` of the run's settings; ``query_msa_key`` identifies
    the MSA searched with (its cache key), None for the sequence alone.
    """
    return {**identity, "sequence": sequence, "query_msa": query_msa_key}


def query_a3m_text(sequence: str, query_msa: str | Path | None) -> str:
    """The a3m hhsearch searches with: ``query_msa`` (a3m or Stockholm) or the sequence alone."""
    if query_msa is None:
        return f">query\n{sequence}\n"
    searched = query_of_msa_file(query_msa)
    if searched != sequence:
        raise SnakefoldError(f"the MSA {query_msa} was searched with another sequence than this query "
                             f"({len(searched)} residues, starting {searched[:20]!r}; the query has {len(sequence)}, "
                             f"starting {sequence[:20]!r})")
    text = Path(query_msa).read_text(encoding="ascii", errors="replace")
    return text if msa_format(query_msa) == "a3m" else stockholm_to_a3m(text, source=str(query_msa))


@dataclasses.dataclass(frozen=True)
class TemplateSearchResult:
    hhr: str
    features: dict[str, np.ndarray]
    outcomes: list[HitOutcome]


def search_templates(sequence: str, settings: TemplateSettings, log_path: str | Path, *, timeout_s: float,
                     cpus: int = 1, query_msa: str | Path | None = None) -> TemplateSearchResult:
    """Search templates for ``sequence`` (hhsearch stops after ``timeout_s``) and featurise the hits.

    Tool messages go to ``log_path``.
    """
    missing = missing_files(TEMPLATE_DATABASES["pdb70"], settings.database)
    if missing:
        raise SnakefoldError(f"the HH-suite database '{settings.database}' is incomplete: {', '.join(missing)} not "
                             "found (build one with 'snakefold build-db --format pdb70')")
    obsolete = parse_obsolete(settings.obsolete) if settings.obsolete else {}
    with tempfile.TemporaryDirectory(prefix="snakefold-templates-") as workdir:
        query_a3m = Path(workdir) / "query.a3m"
        query_a3m.write_text(query_a3m_text(sequence, query_msa))
        hhr = run_hhsearch(query_a3m, [settings.database], log_path, options=settings.hhsearch_options,
                           cpus=cpus, timeout=timeout_s)
    hits = parse_hhr(hhr, source=f"hhsearch result against {settings.database}")
    featurizer = TemplateFeaturizer(settings.mmcif_dir, settings.filters, obsolete, kalign_log=log_path)
    features, outcomes = featurizer.featurize(sequence, hits)
    return TemplateSearchResult(hhr=hhr, features=features, outcomes=outcomes)
