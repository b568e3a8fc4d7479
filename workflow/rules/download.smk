"""Download: the parameter set and databases the config needs, fetched, verified and unpacked (target `download`).

    snakemake download --configfile my.yaml --cores 2 --resources downloads=2

What is needed: the parameter set holding the model presets, and the catalog databases that the MSA
searches of databases.preset and the template search read (snakefold/plan/downloads.py, download_plan).
One job per item, each holding one unit of the `downloads` resource: `--resources downloads=N` runs at
most N downloads at a time. An item already installed and intact is not downloaded again (its job only
checks it); an interrupted download continues where it stopped. The jobs run where snakemake runs
(localrules): on most clusters that is the host with internet access. Progress lines go to stderr and to
the job's log. When the only targets are download rules, the other stages' problems are not reported
(common.smk, DOWNLOAD_ONLY): the files they check for are what is being downloaded; this file then stops
on its own problems.
"""

import functools

from snakefold.plan.downloads import command_options, download_plan


@functools.cache
def planned_downloads():
    """kind ("params", "database") -> item name -> what to install where. Computed only when a download rule
    is part of the run, so that no other run depends on the download plan."""
    planned, problems = download_plan(config)
    if problems:
        raise SnakefoldError("\n".join(problems))
    return {"params": {p.item.name: p for p in planned if p.item.kind == "parameter set"},
            "database": {p.item.name: p for p in planned if p.item.kind == "database"}}


if DOWNLOAD_ONLY:
    try:
        planned_downloads()
    except SnakefoldError as error:
        stop(error)

DOWNLOAD_OPTIONS = command_options(config["download"])


def download_receipt(kind, name):
    """The output of one item's download job: a small JSON receipt (the installed item lives elsewhere)."""
    return f"{WORK}/download/{kind}/{name}.json"


localrules:
    download,
    download_params,
    download_database,


rule download_params:
    output:
        download_receipt("params", "{name}"),
    params:
        dest=lambda wildcards: str(planned_downloads()["params"][wildcards.name].directory),
        options=DOWNLOAD_OPTIONS,
    log:
        f"{LOGS}/download/params_{{name}}.log",
    threads: 1
    resources:
        downloads=1,
        mem_mb=1000,
        runtime=24 * 60,
    shell:
        "snakefold download params {wildcards.name:q} --dest {params.dest:q} {params.options:q}"
        " --log {log:q} --receipt {output:q}"


rule download_database:
    output:
        download_receipt("database", "{name}"),
    params:
        database_path=lambda wildcards: str(planned_downloads()["database"][wildcards.name].path),
        options=DOWNLOAD_OPTIONS,
    log:
        f"{LOGS}/download/database_{{name}}.log",
    threads: 1
    resources:
        downloads=1,
        mem_mb=2000,
        runtime=7 * 24 * 60,
    shell:
        "snakefold download database {wildcards.name:q} --path {params.database_path:q} {params.options:q}"
        " --log {log:q} --receipt {output:q}"


rule download:
    input:
        lambda wildcards: [download_receipt(kind, name) for kind, items in planned_downloads().items()
                           for name in items],
