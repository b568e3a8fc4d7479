"""The MSA stage's plan: one search job per distinct sequence (or chain) and search, keyed by content.

Every distinct sequence of the batch, single-chain targets' and complexes' chains alike, gets the searches of
msa.mode and databases.preset (:mod:`snakefold.plan.msa`), each a content-keyed cache entry
``{cache}/msa/<search>/<key>.<sto|a3m>`` whose key is made of the sequence, the tool's version and the
database's fingerprint (:func:`snakefold.plan.cache.content_key`): a later batch, or another target of this
one, that shares the sequence finds its searches done. Every chain of a heteromeric complex also gets the
UniProt search that pairs rows across chains. In msa.mode precomputed a single-chain target's own file
(``<precomputed_dir>/<target>.<a3m|sto>``) stands for its searches, checked when the plan is made and keyed
by its SHA-256; single_sequence searches nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Target
from snakefold.common.hashing import file_sha256
from snakefold.common.snakemake_internals import job_functions
from snakefold.msa.formats import query_of_msa_file
from snakefold.plan.cache import content_key
from snakefold.plan.layout import Layout
from snakefold.plan.msa import TOOL_VERSIONS, MsaPlan, database_problems, msa_plan, precomputed_msa_file

#: What to run when the databases a config names are not there.
DATABASES_HINT = ("`snakemake download --configfile <your config>` installs the databases the config needs; the "
                  "demo's (config.yaml) are built by `scripts/demo` (`.venv/bin/python demo/make_databases.py`)")


@dataclass(frozen=True)
class MsaEntry:
    """One MSA of a sequence: the search's name, the file, its format and key (a precomputed file's SHA-256)."""

    name: str
    path: str
    format: str
    key: str


@dataclass(frozen=True)
class SearchJob:
    """One msa_<search> job: the sequence it searches and the search as JSON for ``snakefold msa --spec``."""

    seq: str
    spec: str


@job_functions
@dataclass(repr=False)
class SearchStage:
    """The msa_<search> rules' functions (rules read ``PLAN.searches.<name>``) and every sequence's MSAs."""

    msa: MsaPlan
    #: seq -> sequence of everything searched: single-chain targets' sequences and complexes' chains
    sequences: Mapping[str, str]
    layout: Layout
    #: what each input function calls first (the plan's problems stop the run)
    ready: Callable[[], None]
    #: seq -> its MSAs in merge order ([] for single_sequence)
    entries: dict[str, list[MsaEntry]] = field(default_factory=dict)
    #: seq -> its UniProt search for pairing, for each chain of a heteromeric complex
    pairing: dict[str, MsaEntry] = field(default_factory=dict)
    #: search cache key -> the job that makes it
    jobs: dict[str, SearchJob] = field(default_factory=dict)

    def query(self, wildcards) -> str:
        self.ready()
        return self.layout.query_fasta(self.jobs[wildcards.key].seq)

    def spec(self, wildcards) -> str:
        return self.jobs[wildcards.key].spec

    def length(self, wildcards) -> int:
        return len(self.sequences[self.jobs[wildcards.key].seq])

    def all_msas(self, wildcards=None) -> list[str]:
        """Every MSA search of the batch: each distinct sequence's and chain's, and the chains' pairing searches."""
        self.ready()
        return ([entry.path for entries in self.entries.values() for entry in entries]
                + [entry.path for entry in self.pairing.values()])

    def first_msas(self) -> dict[str, tuple[str, str]]:
        """seq -> the path and key of its first MSA (what its template search starts from)."""
        return {seq: (msas[0].path, msas[0].key) for seq, msas in self.entries.items() if msas}


def plan_searches(config: dict, layout: Layout, sequences: Mapping[str, str], paired_chains: list[str],
                  targets: Mapping[str, Target], ready: Callable[[], None], entry: Callable[[str], str],
                  stopped: bool) -> tuple[SearchStage, list[str]]:
    """Every search of the batch's ``sequences`` (and the pairing search of ``paired_chains``), or in msa.mode
    precomputed every single-chain target's file; with the problems found. ``entry`` records a cache entry;
    when the plan has ``stopped`` already, no search is planned."""
    msa = msa_plan(config, pairing=bool(paired_chains))
    stage, problems = SearchStage(msa, sequences, layout, ready), list(msa.problems)
    missing_databases = database_problems(msa, verified_dir=layout.verified_databases())
    problems.extend(missing_databases + ([DATABASES_HINT] if missing_databases else []))
    if msa.mode == "precomputed":
        if not msa.problems:
            problems.extend(_plan_precomputed(stage, targets))
        return stage, problems
    versions = {}
    for tool in sorted({search.tool for search in msa.all_searches}):
        try:
            versions[tool] = TOOL_VERSIONS[tool]()
        except SnakefoldError as error:
            problems.append(f"msa.mode '{msa.mode}' with databases.preset '{msa.preset}' needs {tool}: {error}")
    if stopped or problems or msa.mode == "single_sequence":
        return stage, problems
    fingerprints = {search.name: search.fingerprints() for search in msa.all_searches}

    def planned(search, seq: str) -> MsaEntry:
        key = content_key(search.key_parts(sequences[seq], versions[search.tool], fingerprints[search.name]))
        path = entry(layout.msa_entry(search.name, key, search.output_format))
        stage.jobs[key] = SearchJob(seq, json.dumps(search.to_spec(), sort_keys=True))
        return MsaEntry(search.name, path, search.output_format, key)

    for seq in sequences:
        stage.entries[seq] = [planned(search, seq) for search in msa.searches]
    for seq in paired_chains:
        stage.pairing[seq] = planned(msa.pairing, seq)
    return stage, problems


def _plan_precomputed(stage: SearchStage, targets: Mapping[str, Target]) -> list[str]:
    """The first target's file of each sequence, keyed by its SHA-256; the problems of the files."""
    problems = []
    for target in targets.values():
        if target.seq_key in stage.entries:
            continue
        try:
            path = precomputed_msa_file(stage.msa.precomputed_dir, target.name)
        except SnakefoldError as error:  # it names the target
            problems.append(str(error))
            continue
        try:
            searched = query_of_msa_file(path)
        except SnakefoldError as error:
            problems.append(f"target '{target.name}' ({target.path}, line {target.line}): {error}")
            continue
        if searched != target.sequence:
            problems.append(
                f"target '{target.name}': the first row of {path} is not the target's sequence (it has "
                f"{len(searched)} residues starting {searched[:20]!r}; the target {len(target.sequence)} starting "
                f"{target.sequence[:20]!r}); config key 'msa.precomputed_dir'")
            continue
        fmt = "a3m" if path.suffix == ".a3m" else "sto"
        stage.entries[target.seq_key] = [MsaEntry("precomputed", str(path), fmt, file_sha256(path))]
    return problems
