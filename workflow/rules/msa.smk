"""MSA search: one job per distinct sequence and search, each result a sealed content-keyed cache entry.

The searches come from databases.preset and msa.mode (snakefold/plan/msa.py); each gets a rule
msa_<search> writing {CACHE}/msa/<search>/<key>.<sto|a3m>, where the key is made, when the DAG is built,
of the sequence, the tool and its version, the databases' fingerprints and the options that change the
result. A result already in the cache is a finished output (no job); a changed sequence, tool, database or
option is a new key; an interrupted or corrupted entry is removed by cache_entry() and searched again
when a result needs it (Snakemake does not remake a missing file whose consumers are complete).
Every database a search needs is checked (present, not truncated) before any job runs.

Functions for the other rule files:
    msa_inputs(seq)         [(name, path, format)] of the MSAs of one sequence, in merge order ([] for
                            single_sequence), the features rule's inputs
    msa_keys(seq)           their cache keys (for a precomputed MSA, the file's SHA-256), in the same order
    template_query_msa(seq) (path, key) of the MSA AlphaFold2 searches templates with (the first search's,
                            UniRef90 in AlphaFold2's presets), or (None, None): search with the sequence alone
"""

import json

from snakefold.common.errors import SnakefoldError
from snakefold.msa.formats import query_of_msa_file
from snakefold.plan.msa import database_problems, msa_plan, precomputed_msa_file
from snakefold.tools.base import tool_version
from snakefold.plan.cache import content_key, file_sha256

MSA_PLAN = msa_plan(config)
CONFIG_PROBLEMS.extend(MSA_PLAN.problems)
CONFIG_PROBLEMS.extend(database_problems(MSA_PLAN, verified_dir=f"{CACHE}/databases/verified"))

#: The binary and version query of each search tool.
MSA_TOOL_BINARIES = {"jackhmmer": ("jackhmmer", "-h"), "hhblits": ("hhblits", "-h"),
                     "mmseqs2": ("mmseqs", "version", r"(\S+)")}


def _msa_tool_versions():
    """tool -> version of every tool the plan's searches use; a missing tool is a config problem."""
    versions = {}
    for tool in sorted({search.tool for search in MSA_PLAN.searches}):
        try:
            versions[tool] = tool_version(*MSA_TOOL_BINARIES[tool])
        except SnakefoldError as error:
            CONFIG_PROBLEMS.append(f"msa.mode '{MSA_PLAN.mode}' with databases.preset '{MSA_PLAN.preset}' needs "
                                   f"{tool}: {error}")
    return versions


MSA_TOOL_VERSIONS = _msa_tool_versions()


def _msa_entries():
    """seq_key -> [(search name, cache entry, format, key)] of every search that can run."""
    if CONFIG_PROBLEMS or MSA_PLAN.mode in ("precomputed", "single_sequence"):
        return {}
    fingerprints = {search.name: search.fingerprints() for search in MSA_PLAN.searches}
    entries = {}
    for seq, sequence in SEQUENCES.items():
        entries[seq] = []
        for search in MSA_PLAN.searches:
            key = content_key(search.key_parts(sequence, MSA_TOOL_VERSIONS[search.tool], fingerprints[search.name]))
            path = cache_entry(f"{CACHE}/msa/{search.name}/{key}.{search.output_format}")
            entries[seq].append((search.name, path, search.output_format, key))
            MSA_KEY_SEQUENCE[key] = seq
    return entries


def _precomputed_entries():
    """seq_key -> [("precomputed", file, format, sha256)]: the first target's file of each sequence."""
    entries = {}
    for target in TARGETS.values():
        if target.seq_key in entries:
            continue
        try:
            path = precomputed_msa_file(MSA_PLAN.precomputed_dir, target.name)
            searched = query_of_msa_file(path)
        except SnakefoldError as error:
            CONFIG_PROBLEMS.append(str(error))
            continue
        if searched != target.sequence:
            CONFIG_PROBLEMS.append(
                f"target '{target.name}': the first row of {path} is not the target's sequence (it has "
                f"{len(searched)} residues starting {searched[:20]!r}; the target {len(target.sequence)} starting "
                f"{target.sequence[:20]!r}); config key 'msa.precomputed_dir'")
            continue
        fmt = "a3m" if path.suffix == ".a3m" else "sto"
        entries[target.seq_key] = [("precomputed", str(path), fmt, file_sha256(path))]
    return entries


#: search key -> seq_key, for the msa_<search> rules' inputs
MSA_KEY_SEQUENCE = {}
if MSA_PLAN.mode == "precomputed" and not MSA_PLAN.problems:
    MSA_ENTRIES = _precomputed_entries()
else:
    MSA_ENTRIES = _msa_entries()


def msa_inputs(seq):
    """[(name, path, format)] of the MSAs of one sequence, in merge order."""
    return [(name, path, fmt) for name, path, fmt, _ in MSA_ENTRIES.get(seq, [])]


def msa_keys(seq):
    """The cache keys (or file digests, for precomputed MSAs) of one sequence's MSAs, in merge order."""
    return [key for _, _, _, key in MSA_ENTRIES.get(seq, [])]


def template_query_msa(seq):
    """(path, key) of the MSA the template search starts from, or (None, None) for the sequence alone."""
    entries = MSA_ENTRIES.get(seq, [])
    return (entries[0][1], entries[0][3]) if entries else (None, None)


#: search key -> query sequence, for the resources of each search job
MSA_KEY_QUERY = {key: SEQUENCES[seq] for key, seq in MSA_KEY_SEQUENCE.items()}

for _msa_search in MSA_PLAN.searches:

    rule:
        name:
            f"msa_{_msa_search.name}"
        input:
            query=lambda wildcards: query_fasta_path(MSA_KEY_SEQUENCE[wildcards.key]),
        output:
            f"{CACHE}/msa/{_msa_search.name}/{{key}}.{_msa_search.output_format}",
        wildcard_constraints:
            key="[0-9a-f]{24}",
        params:
            spec=json.dumps(_msa_search.to_spec(), sort_keys=True),
        log:
            f"{LOGS}/msa/{_msa_search.name}/{{key}}.log",
        threads: stage_threads(config, f"msa_{_msa_search.tool}")
        resources:
            **stage_resources(config, f"msa_{_msa_search.tool}", length=sequence_length(MSA_KEY_QUERY, "key")),
        shell:
            "snakefold msa --spec {params.spec:q} --query {input.query:q} --output {output:q}"
            " --threads {threads} --timeout-minutes {resources.runtime} --log {log:q} 2>> {log:q}"
