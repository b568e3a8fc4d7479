"""Where every file of a run lives: the results tree the user reads and the content-keyed cache.

    {results}/<target>/...                       a target's outputs (report stage)
    {results}/summary.tsv, targets.tsv, ...      the batch's tables
    {results}/_logs/<stage>/...                  job logs and benchmarks
    {results}/_work/batch.json                   every target's record (ID, description, sequence), a screen's pairs
    {results}/_work/<seq>/...                    per distinct sequence: predictions, relaxed models
    {cache}/queries/<seq>.fasta                  per distinct sequence: the query of every search
    {cache}/msa/<search>/<key>.<sto|a3m>         sealed cache entries, keyed by content
    {cache}/templates/<key>.npz, <key>.hhr
    {cache}/templates/pdb_seqres/<key>.npz, <key>.sto   per distinct chain of a complex (hmmsearch)
    {cache}/features/<key>.npz
    {cache}/complex_features/<key>.npz, <key>.summary.json   per complex: merged features, pairing summary

``<seq>`` is a sequence key (:func:`snakefold.common.fasta.sequence_key`), ``<key>`` a content key
(:func:`snakefold.plan.cache.content_key`). Every path here may also be a Snakemake pattern: pass
``"{seq}"`` for a wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: A target's name as :func:`snakefold.common.fasta.target_name` makes it: never empty, never starting with
#: '.', '_' or '-' (so never the results directory's ``_work``), never holding '/'.
TARGET_NAME = "[A-Za-z0-9][A-Za-z0-9._-]*"

#: What one model run writes into its prediction directory (the predict stage's files, sealed; scores.json last).
PREDICTION_FILES = ("outputs.npz", "unrelaxed.pdb", "scores.json")
#: The batch's own files at the top of the results directory, beside the target directories: no target may
#: be named after one (intake refuses it).
BATCH_FILES = ("targets.tsv", "rejected.tsv", "summary.tsv", "summary.html", "pulldown.tsv", "pulldown.png")


def alternatives(names: Iterable[str]) -> str:
    """A regular expression (a wildcard's constraint) matching exactly ``names`` (nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


@dataclass(frozen=True)
class Layout:
    results: str
    cache: str

    @property
    def logs(self) -> str:
        return f"{self.results}/_logs"

    @property
    def work(self) -> str:
        return f"{self.results}/_work"

    def log(self, stage: str, name: str) -> str:
        return f"{self.logs}/{stage}/{name}.log"

    def benchmark(self, stage: str, name: str) -> str:
        return f"{self.logs}/benchmarks/{stage}/{name}.tsv"

    # the batch
    def batch_file(self, name: str) -> str:
        if name not in BATCH_FILES:
            raise ValueError(f"{name} is not one of the batch's files {BATCH_FILES}")
        return f"{self.results}/{name}"

    def target_dir(self, target: str) -> str:
        return f"{self.results}/{target}"

    def batch_records(self) -> str:
        """The batch file: every accepted target's record and a screen's pairs (:mod:`snakefold.common.target_record`)."""
        return f"{self.work}/batch.json"

    # per distinct sequence
    def query_fasta(self, seq: str) -> str:
        return f"{self.cache}/queries/{seq}.fasta"

    def predictions(self, seq: str) -> str:
        return f"{self.work}/{seq}/predictions"

    def prediction_dir(self, seq: str, model: str) -> str:
        return f"{self.predictions(seq)}/{model}"

    def relaxed(self, seq: str, rank: int | str, suffix: str = "pdb") -> str:
        """A relaxed model (pdb) or its energies, violations and timings (json)."""
        return f"{self.work}/{seq}/relaxed/rank_{rank}.{suffix}"

    # the cache
    def msa_entry(self, search: str, key: str, fmt: str) -> str:
        return f"{self.cache}/msa/{search}/{key}.{fmt}"

    def template_entry(self, key: str, suffix: str) -> str:
        return f"{self.cache}/templates/{key}.{suffix}"

    def chain_template_entry(self, key: str, suffix: str) -> str:
        """A complex's chain's template features (npz) or hmmsearch hits (sto)."""
        return f"{self.cache}/templates/pdb_seqres/{key}.{suffix}"

    def features_entry(self, key: str) -> str:
        return f"{self.cache}/features/{key}.npz"

    def complex_features_entry(self, key: str, suffix: str) -> str:
        """A complex's merged features (npz) or its pairing summary (summary.json)."""
        return f"{self.cache}/complex_features/{key}.{suffix}"

    def verified_databases(self) -> str:
        return f"{self.cache}/databases/verified"

    def download_receipt(self, kind: str, name: str) -> str:
        return f"{self.work}/download/{kind}/{name}.json"
