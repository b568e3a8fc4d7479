"""Raw features: AlphaFold2's feature dict of each distinct sequence (sequence + MSA + template features).

One content-keyed cache entry per distinct sequence, {CACHE}/features/<key>.npz (strings as byte arrays,
loaded with allow_pickle=False; snakefold/features/raw.py), whose key is made of the sequence, the keys of
its MSAs in merge order, its template features entry and FEATURES_FORMAT: a second batch sharing a
sequence, its databases and options finds its features done and runs no job.

For the other rule files:
    features_path(seq)   the raw features of distinct sequence ``seq`` (the predict stage's input)
"""

import json

#: Bumped when the features written for the same inputs change, so old cache entries are not reused.
FEATURES_FORMAT = 1
#: features key -> (seq_key, spec JSON for `snakefold features`)
FEATURE_JOBS = {}
#: seq_key -> features key
FEATURE_KEYS = {}
#: features key -> query sequence, for the resources of each job
FEATURE_QUERIES = {}


def _template_features(seq):
    """The template features entry of ``seq``, or None (zero templates) when the template stage is off."""
    function = globals().get("template_features_path")
    return function(seq) if function is not None else None


def _plan_features():
    if CONFIG_PROBLEMS:
        return  # the run stops before any job (stop_on_problems); MSA or template entries may be unplanned
    for seq, sequence in SEQUENCES.items():
        msas = msa_inputs(seq)
        templates = _template_features(seq)
        parts = {"kind": "features", "format": FEATURES_FORMAT, "sequence": sequence, "description": seq,
                 "msas": [[name, key] for (name, _, _), key in zip(msas, msa_keys(seq))],
                 "templates": Path(templates).name if templates else None}
        key = content_key(parts)
        spec = {"sequence": sequence, "description": seq, "templates": templates, "parts": parts,
                "msas": [{"name": name, "path": path, "format": fmt} for name, path, fmt in msas]}
        FEATURE_KEYS[seq] = key
        FEATURE_JOBS[key] = (seq, json.dumps(spec, sort_keys=True))
        FEATURE_QUERIES[key] = sequence
        cache_entry(f"{CACHE}/features/{key}.npz")


_plan_features()


def features_path(seq):
    """The raw feature file (.npz) of distinct sequence ``seq``."""
    return f"{CACHE}/features/{FEATURE_KEYS[seq]}.npz"


def _feature_inputs(wildcards):
    seq, spec = FEATURE_JOBS[wildcards.fkey]
    spec = json.loads(spec)
    return [entry["path"] for entry in spec["msas"]] + ([spec["templates"]] if spec["templates"] else [])


rule features:
    input:
        _feature_inputs,
    output:
        f"{CACHE}/features/{{fkey}}.npz",
    wildcard_constraints:
        fkey="[0-9a-f]{24}",
    params:
        spec=lambda wildcards: FEATURE_JOBS[wildcards.fkey][1],
    log:
        f"{LOGS}/features/{{fkey}}.log",
    threads: stage_threads(config, "features")
    resources:
        **stage_resources(config, "features", length=sequence_length(FEATURE_QUERIES, "fkey")),
    shell:
        "snakefold features --spec {params.spec:q} --output {output:q} --log {log:q} 2>> {log:q}"



rule all_features:
    """Target: the raw features of every distinct sequence (the MSA and template stages and no further)."""
    input:
        [features_path(seq) for seq in FEATURE_KEYS],
