"""Several model runs in one `snakefold predict` process (grouped predictions): the parameters are loaded and the
model compiled once, one target's failure leaves the others' runs whole, and the workflow's predict_group job
hands each member's run to that member's own predict job (snakefold/plan/predict_groups.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from snakefold.cli import main as snakefold_main
from snakefold.cli.predict import take_finished_run
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import sequence_key
from snakefold.common.intermediates import seal_path
from snakefold.model.param_sets import params_path
from snakefold.plan.config import validate_config
from snakefold.plan.layout import PREDICTION_FILES
from snakefold.plan.resources import grouped_resources, stage_resources
from snakefold.plan.run import plan_run
from tests.predict.conftest import write_raw_features
from tests.predict.test_workflow import TINY, VILLIN, batch_config
from tests.workflow.conftest import NO_DATABASES, job_counts, run_snakemake

LONG = "MKTAYIAKQRQISFVKSHFSRQ" * 3  # 66 residues: beyond the grouping limit below
GROWN = "MKTAYIAKQRQISFVKSHFSRQLEE"  # 25 residues: in the bucket of VILLIN and TINY


def predict_args(params, features, out_dirs, *extra):
    return ["predict", "--preset", "model_3", "--params", str(params), "--seed", "1", "--num-recycle", "0",
            "--length-buckets", "16", "--features", *map(str, features), "--out-dir", *map(str, out_dirs), *extra]


@pytest.fixture(scope="module")
def group_run(tmp_path_factory, small_params):
    """One process predicting three targets, the second of which is not a features file."""
    directory = tmp_path_factory.mktemp("group")
    first = write_raw_features(directory / "first.npz", 11, seed=1)
    broken = directory / "broken.npz"
    broken.write_text("not an npz archive\n")
    third = write_raw_features(directory / "third.npz", 14, seed=2)
    out_dirs = [directory / name for name in ("first", "broken", "third")]
    code = snakefold_main(predict_args(params_path(small_params, "model_3"), [first, broken, third], out_dirs,
                                       "--keep-going"))
    return directory, out_dirs, code


@pytest.mark.slow
def test_one_process_predicts_every_target_a_failure_stays_alone(group_run, capsys):
    _, (first, broken, third), code = group_run
    assert code == 0  # --keep-going: the failure is reported, the others are whole
    assert not broken.exists()
    for out_dir in (first, third):
        assert all((out_dir / name).is_file() and seal_path(out_dir / name).is_file() for name in PREDICTION_FILES)
    first_scores = json.loads((first / "scores.json").read_text())
    third_scores = json.loads((third / "scores.json").read_text())
    assert first_scores["compilation"]["reused_in_process"] is False
    # The third target reused the first one's compiled iteration and parameters: nothing compiled or loaded.
    assert third_scores["compilation"]["reused_in_process"] is True
    assert (third_scores["compilation"]["xla_compilations"], third_scores["compilation"]["cache_hits"]) == (0, 0)
    assert third_scores["timings"]["compile_s"] < first_scores["timings"]["compile_s"]
    assert third_scores["timings"]["startup_s"] == 0 and third_scores["timings"]["params_s"] == 0
    assert first_scores["timings"]["params_s"] > 0
    assert (first_scores["length"], third_scores["length"]) == (11, 14)


@pytest.mark.slow
def test_without_keep_going_a_failed_target_fails_the_command_by_name(group_run, small_params, tmp_path, capsys):
    directory, _, _ = group_run
    code = snakefold_main(predict_args(params_path(small_params, "model_3"), [directory / "broken.npz"],
                                       [tmp_path / "alone"]))
    assert code == 1 and "broken.npz is not a readable npz archive" in capsys.readouterr().err
    code = snakefold_main(predict_args(params_path(small_params, "model_3"),
                                       [directory / "first.npz", directory / "broken.npz"],
                                       [tmp_path / "first", tmp_path / "broken"]))
    error = capsys.readouterr().err
    assert code == 1 and f"1 of 2 model runs failed (see above): {tmp_path / 'broken'}" in error
    assert (tmp_path / "first" / "scores.json").is_file()


@pytest.mark.slow
def test_a_finished_run_is_taken_without_jax_when_its_settings_match(group_run, small_params, tmp_path):
    directory, (first, _, _), _ = group_run
    out_dir = tmp_path / "taken"
    script = ("import sys; from snakefold.cli import main; code = main(sys.argv[1:]); "
              "print('jax imported' if 'jax' in sys.modules else 'no jax'); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script,
                             *predict_args(params_path(small_params, "model_3"), [directory / "first.npz"], [out_dir],
                                           "--from-run", str(first))],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no jax"
    for name in PREDICTION_FILES:
        assert (out_dir / name).read_bytes() == (first / name).read_bytes()
        assert seal_path(out_dir / name).is_file()

    settings = {"preset": "model_3", "seed": 1, "num_recycle": 0, "recycle_early_stop_tolerance": 0.0,
                "bfloat16": False}
    assert take_finished_run(first, tmp_path / "again", argparse.Namespace(**settings))
    for changed in ({"seed": 2}, {"num_recycle": 1}, {"bfloat16": True}, {"preset": "model_1"}):
        assert not take_finished_run(first, tmp_path / "other", argparse.Namespace(**{**settings, **changed}))
    assert not take_finished_run(tmp_path / "nowhere", tmp_path / "other", argparse.Namespace(**settings))
    assert not (tmp_path / "other").exists()


def test_small_predictions_of_one_bucket_are_grouped_in_the_dag(tmp_path, small_params):
    records = [("villin", VILLIN), ("tiny", TINY), ("long", LONG)]
    config = batch_config(tmp_path, small_params, records, length_buckets=[48, 96], num_seeds=2)
    config_text = config.read_text() + "resources: {group_small_predictions: {max_length: 50}}\n"
    config.write_text(config_text)
    result = run_snakemake(tmp_path, "-n", "--printshellcmds", "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout)
    # villin and tiny share the 48 bucket: one group per preset and seed; long runs alone.
    assert (counts["predict_group"], counts["predict"]) == (4, 12)
    for model in ("model_1_ptm_seed0", "model_1_ptm_seed1", "model_3_seed0", "model_3_seed1"):
        group = f"results/_work/_predict_groups/{model}_L48_0"
        assert f"--out-dir {group}/{sequence_key(VILLIN)} {group}/{sequence_key(TINY)}" in result.stdout
        assert f"--from-run {group}/{sequence_key(TINY)}" in result.stdout
    assert result.stdout.count("--from-run") == 8 and result.stdout.count("--keep-going") == 4
    long_commands = [line for line in result.stdout.splitlines()
                     if "snakefold predict" in line and f"_work/{sequence_key(LONG)}/" in line]
    assert len(long_commands) == 4 and not any("--from-run" in line for line in long_commands)


@pytest.mark.slow
def test_a_group_job_predicts_its_members_and_their_jobs_take_the_runs(tmp_path, small_params):
    records = [("villin", VILLIN), ("tiny", TINY)]
    config = batch_config(tmp_path, small_params, records, presets=["model_3"], num_recycle=0, length_buckets=[48])
    config.write_text(config.read_text() + "resources: {group_small_predictions: {max_length: 50}}\n")
    runs = [f"results/_work/{sequence_key(sequence)}/predictions/model_3_seed0/scores.json" for _, sequence in records]
    result = run_snakemake(tmp_path, *runs, "--cores", "1", "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stderr)
    assert (counts["predict_group"], counts["predict"]) == (1, 2)
    reused = []
    for _, sequence in records:
        seq = sequence_key(sequence)
        log = (tmp_path / f"results/_logs/predict/{seq}/model_3_seed0.log").read_text()
        assert f"the model run of results/_work/_predict_groups/model_3_seed0_L48_0/{seq}" in log
        scores = json.loads((tmp_path / f"results/_work/{seq}/predictions/model_3_seed0/scores.json").read_text())
        assert scores["length"] == len(sequence) and scores["compilation"]["padded_length"] == 48
        reused.append(scores["compilation"]["reused_in_process"])
    assert sorted(reused) == [False, True]  # the group's second member reused the first one's compiled model

    # The batch grows by a sequence of the same bucket: its group runs again with three members, but the two
    # members that have their runs keep them (and everything made from them).
    finished = {path: path.stat().st_mtime_ns for path in (tmp_path / "results" / "_work").glob("*/predictions/*/*")}
    (tmp_path / "in.fasta").write_text((tmp_path / "in.fasta").read_text() + f">grown\n{GROWN}\n")
    runs.append(f"results/_work/{sequence_key(GROWN)}/predictions/model_3_seed0/scores.json")
    grown = run_snakemake(tmp_path, *runs, "--cores", "1", "--configfile", str(config))
    assert grown.returncode == 0, grown.stdout + grown.stderr
    counts = job_counts(grown.stderr)
    assert (counts["predict_group"], counts["predict"]) == (1, 1), counts
    assert {path: path.stat().st_mtime_ns for path in finished} == finished


def test_a_group_job_asks_for_its_longest_member_s_memory_and_every_member_s_time():
    config = validate_config({"inputs": ["in.fasta"], "resources": {"limits": {"runtime": 100}}},
                             with_snakemake=False)
    lengths = {"a": [30, 300, 100], "b": [30]}
    grouped = grouped_resources(config, "predict", lengths=lambda wildcards: lengths[wildcards], environ={})
    alone = stage_resources(config, "predict", length=lambda wildcards: wildcards, environ={})
    assert grouped["mem_mb"]("a", 1) == alone["mem_mb"](300, 1) > alone["mem_mb"](100, 1)
    assert grouped["mem_mb"]("a", 2) == alone["mem_mb"](300, 2)
    assert grouped["runtime"]("b", 1) == alone["runtime"](30, 1)
    assert grouped["runtime"]("a", 1) == min(100, sum(alone["runtime"](length, 1) for length in lengths["a"]))
    assert set(grouped) == set(alone)


def test_complexes_of_one_bucket_are_grouped_apart_from_single_chains(tmp_path):
    """Complexes are grouped by multimer run and bucket of their total length, with the multimer recycling
    settings, beside the single chains' groups."""
    (tmp_path / "in.fasta").write_text(f">villin\n{VILLIN}\n>tiny\n{TINY}\n")
    (tmp_path / "complexes.tsv").write_text("vv\tvillin:2\nvt\tvillin,tiny\ntt\ttiny:2\nlong\tvillin:3\n")
    for preset in ("model_3", "model_1_multimer_v3"):
        np.savez(params_path(tmp_path, preset), placeholder=np.zeros(1))  # the plan checks an archive is there
    plan = plan_run({"inputs": [str(tmp_path / "in.fasta")], "complexes": {"sheets": [str(tmp_path / "complexes.tsv")]},
                     "results_dir": str(tmp_path / "results"), "cache_dir": str(tmp_path / "cache"),
                     **NO_DATABASES,
                     "model": {"params_dir": str(tmp_path), "presets": ["model_3"],
                               "multimer_presets": ["model_1_multimer_v3"], "length_buckets": [48, 96],
                               "multimer_num_recycle": 7},
                     "resources": {"group_small_predictions": {"max_length": 96}}}, main_process=False)
    assert plan.problems == []
    groups = plan.predict.groups
    pairs = {name: sequence_key(target.sequence) for name, target in plan.complexes.items()}
    assert sorted(groups.groups) == ["model_1_multimer_v3_seed0_L96_0", "model_3_seed0_L48_0"]
    complexes = groups.groups["model_1_multimer_v3_seed0_L96_0"]
    assert complexes.seqs == (pairs["vv"], pairs["vt"]) and complexes.preset == "model_1_multimer_v3"
    assert groups.groups["model_3_seed0_L48_0"].seqs == (sequence_key(VILLIN), sequence_key(TINY))
    wildcards = argparse.Namespace(group=complexes.name)
    assert groups.group_inputs(wildcards)["features"] == [plan.predict.sequence_features(seq) for seq in complexes.seqs]
    assert groups.group_lengths(wildcards) == [2 * len(VILLIN), len(VILLIN) + len(TINY)]
    assert groups.group_options(wildcards)[:2] == ["--num-recycle", "7"]
    assert groups.group_options(argparse.Namespace(group="model_3_seed0_L48_0"))[:2] == ["--num-recycle", "3"]
    # tt (32 residues) is alone in its bucket, long (108) beyond max_length: both run alone
    assert [groups.group_of(pairs[name], "model_1_multimer_v3_seed0") for name in ("tt", "long")] == [None, None]


def test_groups_hold_at_most_max_members_in_batch_order(tmp_path):
    """Five sequences of one bucket, at most two per group: two groups of two, the fifth alone; a group of one
    is refused by the schema."""
    sequences = {f"s{index}": VILLIN[index:] for index in range(5)}  # 32 to 36 residues: one bucket
    (tmp_path / "in.fasta").write_text("".join(f">{name}\n{sequence}\n" for name, sequence in sequences.items()))
    np.savez(params_path(tmp_path, "model_3"), placeholder=np.zeros(1))
    config = {"inputs": [str(tmp_path / "in.fasta")], "results_dir": str(tmp_path / "results"),
              "cache_dir": str(tmp_path / "cache"), **NO_DATABASES,
              "model": {"params_dir": str(tmp_path), "presets": ["model_3"], "length_buckets": [48]},
              "resources": {"group_small_predictions": {"max_length": 48, "max_members": 2}}}
    plan = plan_run(config, main_process=False)
    assert plan.problems == []
    keys = [sequence_key(sequence) for sequence in sequences.values()]
    groups = plan.predict.groups.groups
    assert {name: group.seqs for name, group in groups.items()} == {
        "model_3_seed0_L48_0": (keys[0], keys[1]), "model_3_seed0_L48_1": (keys[2], keys[3])}
    assert plan.predict.groups.group_of(keys[4], "model_3_seed0") is None
    config["resources"]["group_small_predictions"]["max_members"] = 1
    with pytest.raises(SnakefoldError, match="max_members"):
        validate_config(config, with_snakemake=False)
