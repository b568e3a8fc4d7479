"""The whole workflow, every stage for real (tests/cluster/pipeline.py: jackhmmer on a tiny database, features,
model_3 with small random parameters, ranking, OpenMM relaxation, report), run the ways its users run it:

- through the real local Slurm with the slurm profile, killed while relaxing and resumed: the ranked
  outputs are the local run's;
- on Slurm with one target whose MSA is damaged: the run fails, summary.tsv gives the failed job's error
  and log, and the others finish (predictions are not grouped into shared Slurm jobs by default: a group
  would wait for the failed target's features);
- as a second batch sharing the cache with the first: only its new sequence is searched.

One uninterrupted local run of the demo-like batch (the ``baseline`` fixture of conftest.py) is the reference of
the others, and of test_kill_trials.py (kill -9 at random moments) and test_damage.py (damaged files).
Predictions are deterministic for a seed on CPU, and relaxations on one OpenMM thread (the config here),
so outputs must agree exactly. (On two CPU threads the minimiser sums forces in a varying order: two
relaxations of one of these heavily clashing untrained models end up to Angstroms apart; one thread is the
relax stage's default for that reason.)
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from snakefold.msa.formats import read_msa
from snakefold.report.summary import read_summary
from tests.cluster.conftest import cluster_resources, jobs_of_run, run_on_slurm, slurm_options, slurm_run_id
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
    DEMO_BATCH,
    DEMO_BATCH_JOBS,
    MODEL_NAME,
    PROTEIN_G,
    UBIQUITIN,
    VILLIN,
    assert_same_outputs,
    finished_outputs,
    local_command,
    pipeline_config,
    ranked_outputs,
    villin_homologs,
    write_batch,
)
from tests.data.conftest import write_families
from tests.workflow.conftest import job_counts, run_snakemake, write_config

pytestmark = pytest.mark.slow

# The jobs of a run of DEMO_BATCH that go to Slurm: all of them (the local rule summary's is not counted).
SLURM_JOBS_OF_DEMO_BATCH = DEMO_BATCH_JOBS


def slurm_jobs_by_rule(cluster, log: str) -> dict[str, list[str]]:
    """rule -> the Slurm states of its jobs, of the run whose output is ``log`` (a group job of predictions
    is 'predict_small_predict': the plugin's comment is rule_<group>_<rule>)."""
    jobs = {}
    for job in jobs_of_run(cluster, slurm_run_id(log)):
        rule = job["comment"].removeprefix("rule_").split("_wildcards_")[0]
        jobs.setdefault(rule, []).append(job["state"])
    return jobs


@pytest.mark.slurm
def test_slurm_run_killed_while_relaxing_resumes_to_the_local_runs_outputs(slurm_env, tiny, baseline, tmp_path):
    """The batch through the slurm profile on the local cluster, killed (kill -9 of snakemake, scancel of its
    Slurm jobs) once the relaxations are submitted, and resumed with the README's commands (--unlock, then
    the same command again): the finished Slurm jobs are not submitted again, and the ranked outputs and
    the summary are the local run's."""
    resources = {**cluster_resources(slurm_env), "stages": pipeline_config(tiny, [])["resources"]["stages"]}
    config = write_config(tmp_path, pipeline_config(tiny, [write_batch(tmp_path, DEMO_BATCH)], resources=resources))
    run = start_snakemake(tmp_path, *slurm_options(slurm_env), "--configfile", str(config), env=slurm_env.env)
    wait_for_started_output(run, tmp_path, r"/relaxed/rank_0\.pdb$")
    kill_run(run, slurm_env)
    interrupted = slurm_jobs_by_rule(slurm_env, (tmp_path / "run.log").read_text())
    completed = Counter({rule: states.count("COMPLETED") for rule, states in interrupted.items()})
    assert interrupted.pop("relax") and "report_target" not in interrupted, interrupted  # relax jobs were cancelled
    # The relaxing target's search, features and prediction finished. Slurm runs the other targets' jobs side by
    # side with them (each prediction in a job of its own: resources.group_small_predictions is off by default),
    # so the other monomer's and the complex's may have finished, been cancelled or not have started yet.
    ended = {"COMPLETED", "CANCELLED"}
    assert interrupted.pop("intake") == ["COMPLETED"], interrupted
    assert all("COMPLETED" in interrupted[rule] for rule in ("msa_uniref90", "features", "predict")), interrupted
    assert set(interrupted) <= set(SLURM_JOBS_OF_DEMO_BATCH), interrupted
    assert {state for states in interrupted.values() for state in states} <= ended, interrupted
    before, mtimes = finished_records(tmp_path), finished_outputs(tmp_path)
    assert {"msa_uniref90", "features", "predict"} <= {record["rule"] for record in before.values()}

    unlock = run_on_slurm(slurm_env, tmp_path, "--configfile", str(config), "--unlock")
    assert unlock.returncode == 0, unlock.stdout + unlock.stderr
    # What the resumed run will redo. Snakemake inside a Slurm job unmarks the job's outputs as it ends, so a
    # job can have finished without the killed run having seen it (no record; even CANCELLED, when the kill came
    # as it exited): the plan, not the records or Slurm's states, says which jobs are unfinished. It never holds
    # a job that COMPLETED in Slurm, and holds the interrupted relaxations and everything after them.
    dry_run = run_on_slurm(slurm_env, tmp_path, "--configfile", str(config), "--dry-run")
    assert dry_run.returncode == 0, dry_run.stdout + dry_run.stderr
    planned = Counter({rule: count for rule, count in job_counts(dry_run.stdout).items()
                       if rule in SLURM_JOBS_OF_DEMO_BATCH})
    assert all(planned[rule] <= SLURM_JOBS_OF_DEMO_BATCH[rule] - completed[rule] for rule in planned), (
        planned, completed)
    assert planned["relax"] >= 2 and (planned["report_target"], planned["report_complex"]) == (3, 1), planned
    resumed = run_on_slurm(slurm_env, tmp_path, "--configfile", str(config))
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log
    # Exactly the planned jobs went to Slurm again (rank and summary are local rules).
    resubmitted = slurm_jobs_by_rule(slurm_env, log)
    assert {state for states in resubmitted.values() for state in states} == {"COMPLETED"}, resubmitted
    assert Counter({rule: len(states) for rule, states in resubmitted.items()}) == planned, (resubmitted, planned)
    assert unchanged_records(before, job_records(tmp_path)) == sorted(before)
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in mtimes} == mtimes
    assert started_outputs(tmp_path) == []
    assert_same_outputs(tmp_path, baseline)


def write_a3m(path: Path, rows: list[str]) -> None:
    path.write_text("".join(f">row{index}\n{row}\n" for index, row in enumerate(rows)))


@pytest.mark.slurm
def test_on_slurm_a_failing_target_leaves_the_others_finished_and_is_named_in_the_summary(slurm_env, tiny,
                                                                                         tmp_path):
    """Precomputed MSAs, ubiquitin's cut short (as by an interrupted copy): its features job fails, and fails
    again on each of the slurm profile's retries; the run exits non-zero and summary.tsv gives the error and
    the log. With the profile's keep-going the other two targets must be predicted, relaxed and reported."""
    families, _ = write_families(tmp_path / "families.fasta")
    msas = tmp_path / "msas"
    msas.mkdir()
    write_a3m(msas / "protein_G_B1.a3m", [PROTEIN_G, *families["protein_g"].homologs.values()])
    write_a3m(msas / "villin.a3m", [VILLIN, *villin_homologs()])
    ubiquitin_rows = [UBIQUITIN, *families["ubiquitin"].homologs.values()]
    ubiquitin_rows[-1] = ubiquitin_rows[-1][:40]
    write_a3m(msas / "ubiquitin.a3m", ubiquitin_rows)
    batch = write_batch(tmp_path, [("protein_G_B1", PROTEIN_G), ("ubiquitin", UBIQUITIN), ("villin", VILLIN)])
    resources = {**cluster_resources(slurm_env), "stages": pipeline_config(tiny, [])["resources"]["stages"]}
    config = write_config(tmp_path, pipeline_config(tiny, [batch], resources=resources,
                                                    msa={"mode": "precomputed", "precomputed_dir": "msas"}))

    result = run_on_slurm(slurm_env, tmp_path, "--configfile", str(config))
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    jobs = slurm_jobs_by_rule(slurm_env, log)
    # The sound targets' features, and the broken one's first attempt and two retries.
    assert sorted(jobs["features"]) == ["COMPLETED"] * 2 + ["FAILED"] * 3, jobs

    rows = {row["target"]: row for row in read_summary(tmp_path / "results" / "summary.tsv")}
    assert list(rows) == ["protein_G_B1", "ubiquitin", "villin"]
    failed = rows["ubiquitin"]
    assert (failed["status"], failed["best_model"]) == ("failed", ""), failed
    # The job's own error: the file, the line of the damaged record, what is wrong; and the log holding it.
    error = "snakefold features: msas/ubiquitin.a3m:25: record 'row12' has 40 aligned columns"
    assert failed["error"].startswith(error), failed
    assert re.fullmatch(r"results/_logs/features/[0-9a-f]{24}\.log", failed["log"]), failed
    assert error in (tmp_path / failed["log"]).read_text()
    assert not (tmp_path / "results" / "ubiquitin").exists()

    for name in ("protein_G_B1", "villin"):
        assert (rows[name]["status"], rows[name]["relaxed"], rows[name]["error"]) == ("ok", "yes", ""), rows[name]
        assert ranked_outputs(tmp_path / "results", name)["ranking"]["order"] == [MODEL_NAME]
    assert jobs["relax"] == ["COMPLETED"] * 2 and jobs["report_target"] == ["COMPLETED"] * 2, jobs


def msa_entry_state(cache: Path, sequence: str) -> dict[str, tuple[int, bytes]]:
    """(mtime in ns, content) of the MSA cache files (entry and manifest) searched for ``sequence``."""
    state = {}
    for manifest in (cache / "msa" / "uniref90").glob("*.manifest.json"):
        if json.loads(manifest.read_text())["parts"]["sequence"] == sequence:
            entry = manifest.with_name(manifest.name.removesuffix(".manifest.json"))
            for path in (entry, manifest):
                state[str(path)] = (path.stat().st_mtime_ns, path.read_bytes())
    return state


def test_a_second_batch_sharing_the_cache_searches_only_its_new_sequence(tiny, baseline, tmp_path):
    cache = baseline / "cache"
    shared_before = msa_entry_state(cache, PROTEIN_G)
    assert len(shared_before) == 2
    batch = write_batch(tmp_path, [("protein_G_B1", PROTEIN_G), ("villin", VILLIN)])
    config = write_config(tmp_path, pipeline_config(tiny, [batch], cache_dir=cache))

    dry = run_snakemake(tmp_path, *local_command(config), "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    counts = job_counts(dry.stdout)
    assert (counts["query_fasta"], counts["msa_uniref90"], counts["features"]) == (1, 1, 1), counts
    result = run_snakemake(tmp_path, *local_command(config))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout + result.stderr)
    assert (counts["query_fasta"], counts["msa_uniref90"], counts["features"]) == (1, 1, 1), counts

    # The shared sequence's search result was read, not rewritten; the new one was searched for real.
    assert msa_entry_state(cache, PROTEIN_G) == shared_before
    [villin_msa] = [Path(path) for path in msa_entry_state(cache, VILLIN) if not path.endswith(".manifest.json")]
    assert len(read_msa(villin_msa)) > 1
    # The shared target, predicted again from the cached features, is the first batch's.
    assert ranked_outputs(tmp_path / "results", "protein_G_B1") == ranked_outputs(baseline / "results", "protein_G_B1")
    assert {row["target"]: row["status"] for row in read_summary(tmp_path / "results" / "summary.tsv")} == {
        "protein_G_B1": "ok", "villin": "ok"}
