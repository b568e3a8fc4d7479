"""The template stage's plan: one search per distinct sequence, the same for single chains and complexes' chains.

Two searches share this plan, told apart by a :class:`TemplateSearch`:

- ``HHSEARCH`` (rule ``templates``): AlphaFold2's monomer search, hhsearch against the template database
  (:mod:`snakefold.templates.search`), for each distinct single-chain sequence; hits in ``<key>.hhr``;
- ``PDB_SEQRES`` (rule ``complex_templates``): AlphaFold-Multimer's, an HMM of the chain's first MSA searched
  against pdb_seqres with hmmsearch (:mod:`snakefold.templates.pdb_seqres`), for each distinct chain of the
  complexes; hits in ``<key>.sto``.

Each search starts from the sequence's first MSA (UniRef90's in AlphaFold2's presets), or from the sequence
alone when it has none. A job writes two content-keyed cache entries, the features ``<key>.npz`` and the hits;
the key covers the sequence, the first MSA's key, the tools' versions, the databases' fingerprints and every
option that changes the result (the search's ``parts``). :func:`plan_templates` plans a :class:`TemplateStage`
(its keys, jobs and `snakefold templates` options); its methods are the rule's input and parameter functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snakefold.common.errors import SnakefoldError
from snakefold.common.snakemake_internals import job_functions
from snakefold.install.databases import MULTIMER_TEMPLATE_DATABASES, TEMPLATE_DATABASES, check_database, database_path
from snakefold.plan.cache import content_key
from snakefold.templates.pdb_seqres import PdbSeqresSettings, chain_template_parts, pdb_seqres_identity
from snakefold.templates.search import (
    TemplateSettings,
    template_cache_parts,
    template_filters,
    template_search_identity,
)


@dataclass(frozen=True)
class TemplateJob:
    """One template job: the sequence, the MSA the search starts from (None: the sequence alone), key parts."""

    seq: str
    query_msa: str | None
    parts: str


@dataclass(frozen=True)
class TemplateSearch:
    """What tells the two template searches apart: how each is named, checked, configured and keyed."""

    #: how a problem of its settings is introduced
    name: str
    #: the suffix of its hits entry
    hits: str
    database_problems: Callable[..., list[str]]
    settings: Callable[[Mapping[str, Any]], Any]
    identity: Callable[[Any], dict[str, Any]]
    #: the key parts of one sequence's search: (sequence, identity, the first MSA's key or None)
    parts: Callable[[str, Mapping[str, Any], str | None], dict[str, Any]]
    #: its jobs' `snakefold templates` options
    arguments: Callable[[Any], list]


def _featurisation_options(settings) -> list:
    """`snakefold templates` options shared by both searches: the mmCIF files and the hit filters."""
    filters = settings.filters
    return ["--mmcif-dir", settings.mmcif_dir, "--obsolete", settings.obsolete,
            "--max-template-date", filters.max_template_date.isoformat(), "--max-hits", filters.max_hits,
            "--max-subsequence-ratio", filters.max_subsequence_ratio, "--min-align-ratio", filters.min_align_ratio,
            "--min-template-length", filters.min_template_length]


def _hhsearch_arguments(settings) -> list:
    arguments = ["--database", settings.database, *_featurisation_options(settings)]
    for name, value in sorted(settings.hhsearch_options.items()):
        arguments += ["--hhsearch-option", f"{name}={value}"]
    return arguments


def _pdb_seqres_arguments(settings) -> list:
    return ["--pdb-seqres", settings.pdb_seqres, *_featurisation_options(settings)]


def template_settings(config: Mapping[str, Any]) -> TemplateSettings:
    """The settings of a run's template search: the ``templates`` section and the template databases."""
    section = config["templates"]
    databases_section = config["databases"]
    return TemplateSettings(
        database=database_path(databases_section, "pdb70"),
        mmcif_dir=database_path(databases_section, "pdb_mmcif"),
        obsolete=database_path(databases_section, "obsolete_pdbs"),
        filters=template_filters(section),
        hhsearch_options=dict(section["hhsearch_options"]),
    )


def template_database_problems(config: Mapping[str, Any], verified_dir: str | Path | None = None) -> list[str]:
    """Every missing or damaged template database, naming the config key that sets its path."""
    databases_section = config["databases"]
    problems = []
    for name, fmt in TEMPLATE_DATABASES.items():
        for problem in check_database(name, fmt, database_path(databases_section, name), verified_dir):
            problems.append(f"config key 'databases.{name}' (template search; set templates.enabled: false to "
                            f"predict without templates): {problem}")
    return problems


def pdb_seqres_settings(config: Mapping[str, Any]) -> PdbSeqresSettings:
    """The settings of a run's multimer template search: the ``templates`` section and its databases."""
    databases_section = config["databases"]
    return PdbSeqresSettings(
        pdb_seqres=database_path(databases_section, "pdb_seqres"),
        mmcif_dir=database_path(databases_section, "pdb_mmcif"),
        obsolete=database_path(databases_section, "obsolete_pdbs"),
        filters=template_filters(config["templates"]),
    )


def pdb_seqres_database_problems(config: Mapping[str, Any], verified_dir: str | Path | None = None,
                                 names: tuple[str, ...] = tuple(MULTIMER_TEMPLATE_DATABASES)) -> list[str]:
    """Every missing or damaged database of the complexes' template search (``names`` of them), by config key."""
    databases_section = config["databases"]
    problems = []
    for name in names:
        fmt = MULTIMER_TEMPLATE_DATABASES[name]
        for problem in check_database(name, fmt, database_path(databases_section, name), verified_dir):
            problems.append(f"config key 'databases.{name}' (template search of complexes' chains; set "
                            f"templates.enabled: false to predict without templates): {problem}")
    return problems


HHSEARCH = TemplateSearch("template search", "hhr", template_database_problems, template_settings,
                          template_search_identity, template_cache_parts, _hhsearch_arguments)
PDB_SEQRES = TemplateSearch("template search of complexes' chains", "sto", pdb_seqres_database_problems,
                            pdb_seqres_settings, pdb_seqres_identity, chain_template_parts, _pdb_seqres_arguments)


@job_functions
@dataclass(repr=False)
class TemplateStage:
    """The planned jobs of one template search (wildcard ``{tkey}``: a job's key)."""

    #: seq -> sequence, of every sequence the search covers
    sequences: Mapping[str, str]
    #: the cache entry of (key, suffix)
    entry: Callable[[str, str], str]
    #: the query FASTA of a sequence
    query_fasta: Callable[[str], str]
    #: what each input function calls first (the plan's problems stop the run)
    ready: Callable[[], None]
    #: seq -> key; key -> job
    keys: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, TemplateJob] = field(default_factory=dict)
    #: the `snakefold templates` options of every job
    arguments: list[str] = field(default_factory=list)

    def features(self, seq: str) -> str:
        """The template features entry of ``seq``."""
        return self.entry(self.keys[seq], "npz")

    def all_features(self) -> list[str]:
        return [self.entry(key, "npz") for key in self.keys.values()]

    def inputs(self, wildcards) -> dict[str, Any]:
        self.ready()
        job = self.jobs[wildcards.tkey]
        return {"query": self.query_fasta(job.seq), "msa": job.query_msa or []}

    def query_msa_arguments(self, wildcards) -> list[str]:
        query_msa = self.jobs[wildcards.tkey].query_msa
        return ["--query-msa", query_msa] if query_msa else []

    def parts(self, wildcards) -> str:
        return self.jobs[wildcards.tkey].parts

    def length(self, wildcards) -> int:
        return len(self.sequences[self.jobs[wildcards.tkey].seq])


def plan_templates(stage: TemplateStage, search: TemplateSearch, config: Mapping[str, Any], verified_dir: str,
                   first_msas: Mapping[str, tuple[str, str]], entry: Callable[[str], str], *,
                   stopped: bool = False) -> list[str]:
    """Plan ``search`` for every sequence of ``stage``; return the problems found (then nothing is planned).

    ``first_msas`` holds each sequence's first MSA (path, key), where it has one; ``entry`` is called with every
    cache entry planned. A plan ``stopped`` by earlier problems (its MSA entries may be unplanned) gets only the
    databases' problems, so that every missing database is reported at once."""
    problems = search.database_problems(config, verified_dir=verified_dir)
    if problems or stopped:
        return problems
    try:
        settings = search.settings(config)
        identity = search.identity(settings)
    except SnakefoldError as error:
        return [f"{search.name}: {error}"]
    stage.arguments = [str(argument) for argument in search.arguments(settings)]
    for seq, sequence in stage.sequences.items():
        query_msa, query_msa_key = first_msas.get(seq, (None, None))
        parts = search.parts(sequence, identity, query_msa_key)
        key = content_key(parts)
        stage.keys[seq] = key
        stage.jobs[key] = TemplateJob(seq, query_msa, json.dumps(parts, sort_keys=True))
        entry(stage.entry(key, "npz"))
        entry(stage.entry(key, search.hits))
    return []
