"""kill -9 at random moments of a run, ten times, over the MSA, predict, relax and report stages of a single
chain and the prediction of a complex.

Each trial starts from a copy of the uninterrupted run of the demo-like batch (the ``baseline`` of
tests/cluster/conftest.py) without protein G's results (the complex's for its trial), and makes protein G's
(the complex's) chain of jobs run again from one stage on (``--forcerun`` of that stage's file), as a run that
has reached that stage does. Once the stage's job has started, the trial waits a random time of up to the
job's duration in the baseline (so the kill lands inside the job, as it writes, or just after it, while
Snakemake records it and starts the next), then kills snakemake and its jobs (the whole process group, ``kill
-9``). It resumes with the README's commands (``--unlock``, then the command again) and must end as an
uninterrupted run: every target's SHA256SUMS (timings aside) equal to the baseline's, no job that had finished
before the kill run again, no process, incomplete marker or temporary file left.

The random delays come from ``SNAKEFOLD_KILL_SEED`` when set, else from the clock; the seed is in every
failure message, so a failing trial can be run again as it was.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
from pathlib import Path

import pytest

from snakefold.common.fasta import sequence_key
from tests.cluster.interrupt import (
    finished_records,
    job_records,
    kill_run,
    start_snakemake,
    started_outputs,
    unchanged_records,
    wait_for_started_output,
)
from tests.cluster.pipeline import (
    COMPLEX,
    COMPLEX_MODEL_NAME,
    MODEL_NAME,
    PROTEIN_G,
    TARGETS,
    checksums_but_timings,
    leftovers,
    local_command,
    processes_in,
)
from tests.cluster.test_damage import cache_entry, copy_run
from tests.data.conftest import UBIQUITIN
from tests.workflow.conftest import run_snakemake

pytestmark = pytest.mark.slow

#: stage -> the output of its job for protein G, relative to the working directory
STAGES = {
    "msa": lambda workdir: str(cache_entry(workdir, "msa/uniref90", PROTEIN_G).relative_to(workdir)),
    "predict": lambda workdir: f"results/_work/{sequence_key(PROTEIN_G)}/predictions/{MODEL_NAME}/unrelaxed.pdb",
    "relax": lambda workdir: f"results/_work/{sequence_key(PROTEIN_G)}/relaxed/rank_0.pdb",
    "report": lambda workdir: "results/protein_G_B1/ranking.json",
    "complex_predict": lambda workdir: (f"results/_work/{sequence_key(f'{UBIQUITIN}:{UBIQUITIN}')}/predictions/"
                                        f"{COMPLEX_MODEL_NAME}/unrelaxed.pdb"),
}
#: The target whose results each stage's trial removes and makes again.
TRIAL_TARGETS = {"complex_predict": COMPLEX}
TRIALS = ("msa", "predict", "relax", "report", "msa", "predict", "relax", "report", "complex_predict", "relax")


def job_durations(workdir: Path) -> dict[str, float]:
    """output -> seconds its job ran, from Snakemake's records."""
    return {name: record["endtime"] - record["starttime"] for name, record in job_records(workdir).items()}


@pytest.fixture(scope="module")
def seed() -> int:
    return int(os.environ.get("SNAKEFOLD_KILL_SEED", time.time_ns() % 2**32))


@pytest.mark.parametrize("trial", range(len(TRIALS)), ids=[f"{index}-{stage}" for index, stage in enumerate(TRIALS)])
def test_killed_at_a_random_moment_then_resumed_ends_as_an_uninterrupted_run(tiny, baseline, tmp_path, seed, trial):
    stage = TRIALS[trial]
    rng = random.Random(seed * 100 + trial)
    workdir = copy_run(baseline, tmp_path / "run")
    shutil.rmtree(workdir / "results" / TRIAL_TARGETS.get(stage, "protein_G_B1"))
    if stage == "msa":  # a run searching has no features yet (else the finished features need no search)
        features = cache_entry(workdir, "features", PROTEIN_G)
        for path in (features, features.with_name(features.name + ".manifest.json")):
            path.unlink()
    output = STAGES[stage](workdir)
    delay = rng.uniform(0, job_durations(baseline)[output])
    context = f"trial {trial} ({stage}), SNAKEFOLD_KILL_SEED={seed}, kill {delay:.2f} s after {output} started"
    command = local_command(workdir / "config.yaml")
    started_at = time.time()

    run = start_snakemake(workdir, *command, "--forcerun", output)
    wait_for_started_output(run, workdir, f"^{re.escape(output)}$")
    time.sleep(delay)
    kill_run(run)
    assert processes_in(workdir) == [], context
    finished = finished_records(workdir, since=started_at)

    unlock = run_snakemake(workdir, *command, "--unlock")
    assert unlock.returncode == 0, f"{context}\n{unlock.stdout}{unlock.stderr}"
    resumed = run_snakemake(workdir, *command)
    assert resumed.returncode == 0, f"{context}\n{resumed.stdout}{resumed.stderr}"
    assert "Traceback" not in resumed.stdout + resumed.stderr, context
    assert started_outputs(workdir) == [], context
    assert unchanged_records(finished, job_records(workdir)) == sorted(finished), context
    for target in TARGETS:
        assert checksums_but_timings(workdir, target) == checksums_but_timings(baseline, target), (context, target)
    assert leftovers(workdir) == [], context
