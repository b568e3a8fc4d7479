"""snakefold: protein structure prediction as a Snakemake workflow.

    snakemake --cores all                                   # the demo, on the embedded config.yaml
    snakemake --cores all --configfile my.yaml              # your batch (config.yaml is then not read)
    snakemake --profile workflow/profiles/slurm --configfile my.yaml

The config is validated against workflow/schemas/ and every input record is checked before any job runs.
"""

# The embedded default (a small demo) applies only when no config is given; a user's config stands on its
# own, with every key it leaves out taken from the schema's defaults.
if not config:
    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/intake.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/msa.smk"
include: "workflow/rules/templates.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/relax.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/regression.smk"


rule all:
    default_target: True
    input:
        ALL_OUTPUTS,


stop_on_problems()
