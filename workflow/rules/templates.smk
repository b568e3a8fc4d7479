"""Templates: hhsearch of each distinct sequence against the template database, featurised as AlphaFold2 does.

One job per distinct sequence writes two content-keyed cache entries, ``{CACHE}/templates/<key>.npz`` (the
template_* features) and ``<key>.hhr`` (the hits); the key covers the sequence, the tools' versions, the
template databases' fingerprints and every option that changes the result, so a result is computed once
for every target, batch and run that needs it. The features rule takes ``template_features_path(seq)``
(None when templates.enabled is false: the features then hold zero templates). As in AlphaFold2, hhsearch
starts from the query's first MSA (UniRef90's in AlphaFold2's presets; msa.smk's template_query_msa), or
from the sequence alone when there is none (msa.mode single_sequence). `snakemake all_templates` runs the
template stage (and the MSA search it starts from) only.

The template databases (databases.pdb70, databases.pdb_mmcif, databases.obsolete_pdbs) are checked when
the DAG is built, and only when templates are enabled.
"""

import json

from snakefold.templates.search import (template_cache_parts, template_database_problems,
                                            template_search_identity, template_settings)
from snakefold.plan.cache import content_key

TEMPLATES = config["templates"]
#: template cache key -> (seq_key, query MSA path or None, the key's parts as JSON) of every distinct sequence.
TEMPLATE_JOBS = {}
#: template cache key -> query sequence, for the resources of each job.
TEMPLATE_QUERIES = {}
#: seq_key -> template cache key.
TEMPLATE_KEYS = {}


def _plan_templates():
    CONFIG_PROBLEMS.extend(template_database_problems(config, verified_dir=f"{CACHE}/databases/verified"))
    if CONFIG_PROBLEMS:
        return None  # the run stops before any job (stop_on_problems); MSA entries may be unplanned
    try:
        settings = template_settings(config)
        identity = template_search_identity(settings)
    except SnakefoldError as error:
        CONFIG_PROBLEMS.append(f"template search: {error}")
        return None
    for seq_key, sequence in SEQUENCES.items():
        query_msa, query_msa_key = template_query_msa(seq_key)
        parts = template_cache_parts(sequence, identity, query_msa_key=query_msa_key)
        key = content_key(parts)
        TEMPLATE_KEYS[seq_key] = key
        TEMPLATE_JOBS[key] = (seq_key, query_msa, json.dumps(parts, sort_keys=True))
        TEMPLATE_QUERIES[key] = sequence
        cache_entry(f"{CACHE}/templates/{key}.npz")
        cache_entry(f"{CACHE}/templates/{key}.hhr")
    return settings


TEMPLATE_SETTINGS = _plan_templates() if TEMPLATES["enabled"] else None


def template_features_path(seq):
    """The template features (.npz) of distinct sequence ``seq``; None when templates are disabled."""
    if not TEMPLATES["enabled"]:
        return None
    return f"{CACHE}/templates/{TEMPLATE_KEYS[seq]}.npz"


def template_hits_path(seq):
    """The hhsearch hits (.hhr) of distinct sequence ``seq``; None when templates are disabled."""
    if not TEMPLATES["enabled"]:
        return None
    return f"{CACHE}/templates/{TEMPLATE_KEYS[seq]}.hhr"


def _template_arguments(settings):
    """The command-line options of `snakefold templates` that the config sets."""
    if settings is None:
        return []
    filters = settings.filters
    arguments = ["--database", settings.database, "--mmcif-dir", settings.mmcif_dir,
                 "--obsolete", settings.obsolete, "--max-template-date", filters.max_template_date.isoformat(),
                 "--max-hits", filters.max_hits, "--max-subsequence-ratio", filters.max_subsequence_ratio,
                 "--min-align-ratio", filters.min_align_ratio, "--min-template-length", filters.min_template_length]
    for name, value in sorted(settings.hhsearch_options.items()):
        arguments += ["--hhsearch-option", f"{name}={value}"]
    return [str(argument) for argument in arguments]


def _query_msa_arguments(wildcards):
    query_msa = TEMPLATE_JOBS[wildcards.tkey][1]
    return ["--query-msa", query_msa] if query_msa else []


localrules:
    all_templates,


rule templates:
    input:
        query=lambda wildcards: query_fasta_path(TEMPLATE_JOBS[wildcards.tkey][0]),
        msa=lambda wildcards: TEMPLATE_JOBS[wildcards.tkey][1] or [],
    output:
        features=f"{CACHE}/templates/{{tkey}}.npz",
        hits=f"{CACHE}/templates/{{tkey}}.hhr",
    wildcard_constraints:
        tkey="[0-9a-f]{24}",
    params:
        options=_template_arguments(TEMPLATE_SETTINGS),
        query_msa=_query_msa_arguments,
        parts=lambda wildcards: TEMPLATE_JOBS[wildcards.tkey][2],
    log:
        f"{LOGS}/templates/{{tkey}}.log",
    threads: stage_threads(config, "templates")
    resources:
        **stage_resources(config, "templates", length=sequence_length(TEMPLATE_QUERIES, "tkey")),
    shell:
        "snakefold templates --query-fasta {input.query:q} {params.query_msa:q} {params.options:q} --cpus {threads}"
        " --timeout-minutes {resources.runtime}"
        " --output {output.features:q} --hhr {output.hits:q} --log {log:q} --seal-parts {params.parts:q}"
        " 2>> {log:q}"


rule all_templates:
    input:
        [template_features_path(seq) for seq in TEMPLATE_KEYS],
