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

From the merged features a complex is predicted, ranked and relaxed by the rules of predict.smk and
relax.smk, its key standing for {seq}. report_complex (report.smk) writes {results}/<complex>/ as report_target does
for a single chain, with the chains marked, ipTM and chain-pair ipTM in ranking.json and interfaces.tsv
(snakefold/report/target_report.py). A pulldown screen adds {results}/pulldown.tsv, every pair best first
by 0.8 ipTM + 0.2 pTM, and pulldown.png, the bait x prey ipTM heat map shown in the Snakemake report.
"""

import os

from snakefold.plan.resources import stage_resources, stage_threads


rule complex_templates:
    input:
        unpack(PLAN.chain_templates.inputs),
    output:
        features=PLAN.layout.chain_template_entry("{tkey}", "npz"),
        hits=PLAN.layout.chain_template_entry("{tkey}", "sto"),
    log:
        PLAN.layout.log("complex_templates", "{tkey}"),
    wildcard_constraints:
        tkey="[0-9a-f]{24}",
    conda:
        "../../envs/msa.yaml"
    threads: stage_threads(config, "templates")
    resources:
        **stage_resources(config, "templates", length=PLAN.chain_templates.length),
    params:
        options=PLAN.chain_templates.arguments,
        query_msa=PLAN.chain_templates.query_msa_arguments,
        parts=PLAN.chain_templates.parts,
    shell:
        "snakefold templates --query-fasta {input.query:q} {params.query_msa:q} {params.options:q} --cpus {threads}"
        " --timeout-minutes {resources.runtime}"
        " --output {output.features:q} --hits {output.hits:q} --log {log:q} --seal-parts {params.parts:q}"
        " 2>> {log:q}"


rule complex_features:
    input:
        PLAN.features.complex_inputs,
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
        **stage_resources(config, "features", length=PLAN.features.complex_length),
    params:
        spec=PLAN.features.complex_spec,
    shell:
        "snakefold complex-features --spec {params.spec:q} --out {output.features:q}"
        " --summary {output.summary:q} --log {log:q} 2>> {log:q}"


rule pulldown:
    input:
        rankings=PLAN.report.pulldown_inputs,
        batch=PLAN.layout.batch_records(),
    output:
        tsv=report(
            PLAN.layout.batch_file("pulldown.tsv"),
            caption="../report/pulldown.rst",
            category="Pulldown",
            labels={"file": "pulldown.tsv (pairs ranked)"},
        ),
        png=report(
            PLAN.layout.batch_file("pulldown.png"),
            caption="../report/pulldown.rst",
            category="Pulldown",
            labels={"file": "pulldown.png (ipTM heat map)"},
        ),
    log:
        PLAN.layout.log("pulldown", "pulldown"),
    localrule: True
    conda:
        "../../envs/report.yaml"
    threads: stage_threads(config, "report")
    resources:
        **stage_resources(config, "report"),
    params:
        results=lambda wildcards, output: os.path.dirname(output.tsv),
        dpi=config["report"]["dpi"],
    shell:
        "snakefold pulldown --batch {input.batch:q} --results {params.results:q}"
        " --tsv {output.tsv:q} --png {output.png:q} --dpi {params.dpi} > {log:q} 2>&1"
