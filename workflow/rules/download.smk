"""Download: the parameter set and databases the config needs, fetched, verified and unpacked (target `download`).

    snakemake download --configfile my.yaml --cores 2 --resources downloads=2

What is needed: the parameter set holding the model presets, and the catalog databases that the MSA
searches of databases.preset and the template search read (snakefold/plan/downloads.py, download_plan).
One job per item, each holding one unit of the `downloads` resource: `--resources downloads=N` runs at
most N downloads at a time. An item already installed and intact is not downloaded again (its job only
checks it); an interrupted download continues where it stopped. The jobs run where snakemake runs
(localrules): on most clusters that is the host with internet access. Progress lines go to stderr and to
the job's log. The download plan is made only when a download rule is in the DAG, and the other stages'
problems (the missing files being downloaded) are never checked by these rules.
"""


rule download_params:
    output:
        PLAN.layout.download_receipt("params", "{name}"),
    log:
        PLAN.layout.log("download", "params_{name}"),
    localrule: True
    conda:
        "../../envs/msa.yaml"
    threads: 1
    resources:
        downloads=1,
        mem_mb=1000,
        runtime=24 * 60,
    params:
        dest=PLAN.downloads.params_destination,
        options=PLAN.downloads.options,
    shell:
        "snakefold download params {wildcards.name:q} --dest {params.dest:q} {params.options:q}"
        " --log {log:q} --receipt {output:q}"


rule download_database:
    output:
        PLAN.layout.download_receipt("database", "{name}"),
    log:
        PLAN.layout.log("download", "database_{name}"),
    localrule: True
    conda:
        "../../envs/msa.yaml"
    threads: 1
    resources:
        downloads=1,
        mem_mb=2000,
        runtime=7 * 24 * 60,
    params:
        database_path=PLAN.downloads.database_destination,
        options=PLAN.downloads.options,
    shell:
        "snakefold download database {wildcards.name:q} --path {params.database_path:q} {params.options:q}"
        " --log {log:q} --receipt {output:q}"


rule download:
    """Target: every parameter set and database the config needs, installed and verified."""
    input:
        PLAN.downloads.receipts,
    localrule: True
