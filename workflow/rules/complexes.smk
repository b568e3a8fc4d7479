"""Complexes: AlphaFold-Multimer's template search per distinct chain, and each complex's merged features.

Each distinct chain of the complexes is searched once (keyed by its content and shared with every complex
and batch that has it): its MSAs and UniProt search come from msa.smk; complex_templates builds an HMM from
its first MSA (hmmbuild), searches pdb_seqres with hmmsearch and featurises the hits from the mmCIF
directory, writing {cache}/templates/pdb_seqres/<key>.sto (AlphaFold2's pdb_hits.sto) and <key>.npz.
complex_features pairs and merges one complex's chains as AlphaFold-Multimer v2.3.2 does into
{cache}/complex_features/<key>.npz and its pairing summary <key>.summary.json (rows paired per chain and
species), keyed by the chains' entries' keys in chain order (copies included) and the pairing settings; in
msa.mode precomputed the chains' files come from AlphaFold2's msas/ directory of the complex.
`snakemake all_features` makes them all.
"""

from snakefold.plan.resources import stage_resources, stage_threads


rule complex_templates:
    input:
        unpack(PLAN.chain_template_inputs),
    output:
        features=PLAN.layout.chain_template_entry("{ckey}", "npz"),
        hits=PLAN.layout.chain_template_entry("{ckey}", "sto"),
    log:
        PLAN.layout.log("complex_templates", "{ckey}"),
    wildcard_constraints:
        ckey="[0-9a-f]{24}",
    conda:
        "../../envs/msa.yaml"
    threads: stage_threads(config, "templates")
    resources:
        **stage_resources(config, "templates", length=PLAN.chain_template_length),
    params:
        options=PLAN.chain_template_arguments,
        query_msa=PLAN.chain_template_query_msa_arguments,
        parts=PLAN.chain_template_parts,
    shell:
        "snakefold templates --query-fasta {input.query:q} {params.query_msa:q} {params.options:q} --cpus {threads}"
        " --timeout-minutes {resources.runtime}"
        " --output {output.features:q} --hits {output.hits:q} --log {log:q} --seal-parts {params.parts:q}"
        " 2>> {log:q}"


rule complex_features:
    input:
        PLAN.complex_feature_inputs,
    output:
        features=PLAN.layout.complex_features_entry("{xkey}", "npz"),
        summary=PLAN.layout.complex_features_entry("{xkey}", "summary.json"),
    log:
        PLAN.layout.log("complex_features", "{xkey}"),
    wildcard_constraints:
        xkey="[0-9a-f]{24}",
    conda:
        "../../envs/msa.yaml"
    threads: stage_threads(config, "features")
    resources:
        **stage_resources(config, "features", length=PLAN.complex_feature_length),
    params:
        spec=PLAN.complex_feature_spec,
    shell:
        "snakefold complex-features --spec {params.spec:q} --out {output.features:q}"
        " --summary {output.summary:q} --log {log:q} 2>> {log:q}"
