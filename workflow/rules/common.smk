"""Shared state of the DAG: the validated config, the batch of targets, paths, and problem reporting.

Everything here runs when the DAG is built, before any job: the config is checked against the schema,
every input record is validated, and rule files add the config problems they find (a database path that
does not exist, say) to CONFIG_PROBLEMS so that all are reported at once by stop_on_problems().
"""

import os
import re
import sys
from pathlib import Path

from snakefold.common.errors import SnakefoldError
from snakefold.common.target_record import target_record_document
from snakefold.plan.download_targets import only_download_targets
from snakefold.plan.batch import batch_from_config, intake_report
from snakefold.plan.cache import discard_if_invalid
from snakefold.plan.config import validate_config
from snakefold.plan.resources import sequence_length, stage_group, stage_resources, stage_threads


# Rules call `snakefold <command>`: put the environment running this snakemake first on PATH, so jobs find it
# whether or not the user activated the virtual environment (cluster jobs inherit it too).
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def stop(message):
    print(f"snakefold: {message}", file=sys.stderr)
    sys.exit(1)


try:
    validate_config(config)
except SnakefoldError as error:
    stop(error)

RESULTS = config["results_dir"]
CACHE = config["cache_dir"]
LOGS = f"{RESULTS}/_logs"
WORK = f"{RESULTS}/_work"

BATCH = batch_from_config(config)
TARGETS = {target.name: target for target in BATCH.targets}
#: seq_key -> sequence: every distinct sequence is computed once, whatever number of targets share it.
SEQUENCES = BATCH.sequences
INPUT_FILES = sorted({target.path for target in BATCH.targets} | {p.path for p in BATCH.errors if p.line})

# {seq} is a sequence key (snakefold.common.fasta.sequence_key), {target} a target of this batch: neither
# can be mistaken for the other or for a directory of the work tree.
wildcard_constraints:
    seq="[0-9a-f]{16}",
    target="|".join(re.escape(name) for name in TARGETS) or "(?!)",


#: What `snakemake` with no target builds: each stage file adds its per-batch outputs.
ALL_OUTPUTS = []

#: Problems found by the rule files while the DAG is built (config keys naming missing paths, ...).
CONFIG_PROBLEMS = []

#: True when the command line asks for download targets only (`snakemake download`): the parameters and
#: databases the stages check for are what is being downloaded, so stop_on_problems ignores the batch and
#: CONFIG_PROBLEMS (download.smk stops on its own problems).
DOWNLOAD_ONLY = only_download_targets(sys.argv[1:])


def require_path(config_key, path, what):
    """Record a problem unless ``path`` exists; ``config_key`` is the dotted key that set it."""
    if not path or not Path(path).exists():
        CONFIG_PROBLEMS.append(f"config key '{config_key}': {what} '{path}' does not exist")


def stop_on_problems():
    """Print every intake and config problem at once and stop before any job, as the config says."""
    if DOWNLOAD_ONLY:
        return
    summary = intake_report(BATCH, config["on_invalid"])
    fatal = list(CONFIG_PROBLEMS)
    if BATCH.errors and config["on_invalid"] == "fail":
        fatal.append(summary)
    elif summary and workflow.is_main_process:
        print(f"snakefold: {summary}", file=sys.stderr)
    if not BATCH.targets and not fatal:
        fatal.append("no valid target is left to predict")
    if fatal:
        stop("\n".join(fatal))


def query_fasta_path(seq):
    """The query FASTA of one distinct sequence, keyed by its content so every run shares it."""
    return f"{CACHE}/queries/{seq}.fasta"


def target_record_path(target):
    """The record file of one target: its FASTA ID, description and sequence, for its jobs to read."""
    return f"{WORK}/targets/{target}.json"


def cache_entry(path):
    """``path``, a content-keyed cache entry, after removing it if it cannot be trusted.

    Only the main snakemake process checks: jobs re-read this file while other jobs write their entries.
    """
    if workflow.is_main_process:
        reason = discard_if_invalid(path)
        if reason is not None:
            print(f"snakefold: cache entry {path} is recomputed: {reason}", file=sys.stderr)
    return path
