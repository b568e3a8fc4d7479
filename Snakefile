"""snakefold: protein structure prediction as a Snakemake workflow.

    snakemake --cores all                                   # the demo, on the embedded config.yaml
    snakemake --cores all --configfile my.yaml              # your batch (config.yaml is then not read)
    snakemake --profile workflow/profiles/slurm --configfile my.yaml

The config is validated against workflow/schemas/ and every input record is checked; the plan of the run
(snakefold.plan.run.plan_run) holds every target, job and cache key the rules in workflow/rules/ declare,
and every problem found, which stops the run when the DAG is built, before any job.
"""

import os
import sys
from pathlib import Path

from snakefold.common.errors import SnakefoldError
from snakefold.common.snakemake_internals import resource_parameters_once
from snakefold.plan.run import plan_run
from snakefold.report.run_outcome import write_batch_summary

# The embedded default (a small demo) applies only when no config is given; a user's config stands on its
# own, with every key it leaves out taken from the schema's defaults.
if not config:

    configfile: "config.yaml"


# Rules call `snakefold <command>`: the environment running this snakemake goes first on PATH, so that jobs
# find it whether or not the user activated it (cluster jobs inherit it; conda environments put their own
# first).
envvars:
    "PATH",


os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
# The conda environments of envs/ install snakefold from here (--software-deployment-method conda).
os.environ.setdefault("SNAKEFOLD_ROOT", workflow.basedir)

resource_parameters_once()
try:
    PLAN = plan_run(config, main_process=workflow.is_main_process, is_dry_run=lambda: workflow.dryrun)
except SnakefoldError as error:
    sys.exit(f"snakefold: {error}")


# {seq} is a sequence key, {target} a target of this batch: neither can be mistaken for the other or for a
# directory of the work tree.
wildcard_constraints:
    seq="[0-9a-f]{16}",
    target=PLAN.target_wildcard(),


report: "workflow/report/workflow.rst"


include: "workflow/rules/intake.smk"
include: "workflow/rules/msa.smk"
include: "workflow/rules/templates.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/complexes.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/relax.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/regression.smk"
include: "workflow/rules/download.smk"


rule all:
    """The default target: every target's outputs and the batch summary."""
    default_target: True
    input:
        PLAN.report.batch_outputs,
        rules.intake.output,
        rules.summary.output,


onsuccess:
    write_batch_summary(workflow, log, PLAN.batch, PLAN.layout.results, *rules.summary.output)


onerror:
    write_batch_summary(workflow, log, PLAN.batch, PLAN.layout.results, *rules.summary.output)
