"""Raw features: AlphaFold2's feature dict of each distinct sequence (sequence + MSA + template features).

One content-keyed cache entry per distinct sequence, {cache}/features/<key>.npz (strings as byte arrays,
loaded with allow_pickle=False; snakefold/features/raw.py), whose key is made of the sequence, the keys of
its MSAs in merge order and its template features entry: a second batch sharing a sequence, its databases
and options finds its features done and runs no job.
"""

from snakefold.plan.resources import stage_resources, stage_threads


rule features:
    input:
        PLAN.features.inputs,
    output:
        PLAN.layout.features_entry("{fkey}"),
    log:
        PLAN.layout.log("features", "{fkey}"),
    wildcard_constraints:
        fkey="[0-9a-f]{24}",
    conda:
        "../../envs/msa.yaml"
    threads: stage_threads(config, "features")
    resources:
        **stage_resources(config, "features", length=PLAN.features.length),
    params:
        spec=PLAN.features.spec,
    shell:
        "snakefold features --spec {params.spec:q} --output {output:q} --log {log:q} 2>> {log:q}"


rule all_features:
    """Target: the raw features of every distinct sequence and the merged features of every complex (the MSA
    and template stages and no further)."""
    input:
        PLAN.all_features,
    localrule: True
