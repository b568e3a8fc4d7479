"""MSA search: one job per distinct sequence and search, each result a sealed content-keyed cache entry.

The searches come from databases.preset and msa.mode (snakefold/plan/msa.py); each gets a rule
msa_<search> writing {cache}/msa/<search>/<key>.<sto|a3m>, where the key is made, when the plan is made, of
the sequence, the tool and its version, the databases' fingerprints and the options that change the
result. A result already in the cache is a finished output (no job); a changed sequence, tool, database or
option is a new key; an interrupted or corrupted entry is removed when the plan is made and searched again
when a result needs it. Every database a search needs is checked (present, not truncated) before any job.

The chains of complexes are searched the same way, each distinct chain once (keyed by its content, shared
with single-chain targets, other complexes and batches); each chain of a heteromeric complex also gets the
UniProt search for AlphaFold-Multimer's pairing (rule msa_uniprot, or msa_uniprot_mmseqs in mmseqs2 mode).
`snakemake all_msas` runs the MSA stage alone.
"""

from snakefold.plan.resources import stage_resources, stage_threads

for search in PLAN.searches.msa.all_searches:

    rule:
        name:
            f"msa_{search.name}"
        input:
            query=PLAN.searches.query,
        output:
            PLAN.layout.msa_entry(search.name, "{key}", search.output_format),
        log:
            PLAN.layout.log(f"msa/{search.name}", "{key}"),
        wildcard_constraints:
            key="[0-9a-f]{24}",
        conda:
            "../../envs/msa.yaml"
        threads: stage_threads(config, f"msa_{search.tool}")
        resources:
            **stage_resources(config, f"msa_{search.tool}", length=PLAN.searches.length),
        params:
            spec=PLAN.searches.spec,
        shell:
            "snakefold msa --spec {params.spec:q} --query {input.query:q} --output {output:q}"
            " --threads {threads} --timeout-minutes {resources.runtime} --log {log:q} 2>> {log:q}"


rule all_msas:
    """Target: every MSA search of the batch (single-chain targets, complexes' chains and their pairing searches)."""
    input:
        PLAN.searches.all_msas,
    localrule: True
