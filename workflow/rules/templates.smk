"""Templates: hhsearch of each distinct sequence against the template database, featurised as AlphaFold2 does.

One job per distinct sequence writes two content-keyed cache entries, {cache}/templates/<key>.npz (the
template_* features) and <key>.hhr (the hits); the key covers the sequence, the tools' versions, the
template databases' fingerprints and every option that changes the result. As in AlphaFold2, hhsearch
starts from the query's first MSA (UniRef90's in AlphaFold2's presets), or from the sequence alone when
there is none (msa.mode single_sequence). With templates.enabled false the features hold zero templates.
`snakemake all_templates` runs the template stage (and the MSA search it starts from) only.
"""

from snakefold.plan.resources import stage_resources, stage_threads


rule templates:
    input:
        unpack(PLAN.templates.inputs),
    output:
        features=PLAN.layout.template_entry("{tkey}", "npz"),
        hits=PLAN.layout.template_entry("{tkey}", "hhr"),
    log:
        PLAN.layout.log("templates", "{tkey}"),
    wildcard_constraints:
        tkey="[0-9a-f]{24}",
    conda:
        "../../envs/msa.yaml"
    threads: stage_threads(config, "templates")
    resources:
        **stage_resources(config, "templates", length=PLAN.templates.length),
    params:
        options=PLAN.templates.arguments,
        query_msa=PLAN.templates.query_msa_arguments,
        parts=PLAN.templates.parts,
    shell:
        "snakefold templates --query-fasta {input.query:q} {params.query_msa:q} {params.options:q} --cpus {threads}"
        " --timeout-minutes {resources.runtime}"
        " --output {output.features:q} --hhr {output.hits:q} --log {log:q} --seal-parts {params.parts:q}"
        " 2>> {log:q}"


rule all_templates:
    """Target: the template features of every distinct sequence and of every distinct chain of the complexes."""
    input:
        PLAN.all_template_features,
    localrule: True
