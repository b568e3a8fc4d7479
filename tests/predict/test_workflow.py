"""The predict stage in the real workflow: the DAG of a demo-sized batch, parameter and config problems
stopping the run before any job, and a real run of predictions sharing the compilation cache."""

from __future__ import annotations

import json
import shutil

import pytest

from snakefold.common.fasta import sequence_key
from snakefold.report.predictions import rank_model_runs
from tests.workflow.conftest import NO_DATABASES, job_counts, run_snakemake, write_config

VILLIN = "MLSDEDFKAVFGMTRSAFANLPLWKQQNLKKEKGLF"
TINY = "MKTAYIAKQRQISFVK"


def batch_config(tmp_path, params_dir, records, **model):
    (tmp_path / "in.fasta").write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records))
    settings = {"presets": ["model_1_ptm", "model_3"], "params_dir": str(params_dir), **model}
    return write_config(tmp_path, {**NO_DATABASES, "inputs": ["in.fasta"], "model": settings})


def assert_stopped_before_any_job(result, *fragments):
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output and "Job stats" not in output, output
    for fragment in fragments:
        assert fragment in output, output


def test_dry_run_shows_predict_relax_and_report_jobs(tmp_path, small_params):
    records = [("villin", VILLIN), ("tiny", TINY), ("tiny_again", TINY)]
    config = batch_config(tmp_path, small_params, records, num_seeds=2, random_seed=7)
    result = run_snakemake(tmp_path, "-n", "--printshellcmds", "--configfile", str(config))
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    # 2 distinct sequences x 2 presets x 2 seeds; one relaxed best model per sequence (ranked by that job).
    assert (counts["predict"], counts["relax"]) == (8, 2) and "rank" not in counts
    assert (counts["report_target"], counts["summary"]) == (3, 1)
    seq = sequence_key(TINY)
    for name in ("model_1_ptm_seed7", "model_1_ptm_seed8", "model_3_seed7", "model_3_seed8"):
        assert f"results/_work/{seq}/predictions/{name}/unrelaxed.pdb" in result.stdout
    assert "--length-buckets 16,32,48,64," in result.stdout and "--compilation-cache-dir cache/jax" in result.stdout


def test_missing_or_damaged_parameters_stop_the_run_naming_the_key(tmp_path, small_params):
    params = tmp_path / "params"
    shutil.copytree(small_params, params)
    (params / "params_model_3.npz").unlink()
    config = batch_config(tmp_path, params, [("tiny", TINY)])
    assert_stopped_before_any_job(run_snakemake(tmp_path, "-n", "--configfile", str(config)),
                                  "config key 'model.params_dir'", "params_model_3.npz (model preset 'model_3') is "
                                  "missing", "snakefold make-params")

    shutil.copy(small_params / "params_model_3.npz", params / "params_model_3.npz")
    damaged = params / "params_model_1_ptm.npz"
    damaged.write_bytes(damaged.read_bytes()[:5000])
    assert_stopped_before_any_job(run_snakemake(tmp_path, "-n", "--configfile", str(config)),
                                  "config key 'model.params_dir'", "params_model_1_ptm.npz is not a readable .npz")

    config = batch_config(tmp_path, tmp_path / "nowhere", [("tiny", TINY)])
    assert_stopped_before_any_job(run_snakemake(tmp_path, "-n", "--configfile", str(config)),
                                  "config key 'model.params_dir'", "nowhere does not exist")


def test_parameters_are_not_needed_for_runs_that_predict_nothing(tmp_path):
    config = batch_config(tmp_path, tmp_path / "nowhere", [("tiny", TINY)])
    result = run_snakemake(tmp_path, "intake", "-n", "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert job_counts(result.stdout) == {"intake": 1, "total": 1}


def test_ranking_by_ptm_needs_ptm_presets(tmp_path, small_params):
    config = batch_config(tmp_path, small_params, [("tiny", TINY)], rank_by="ptm")
    assert_stopped_before_any_job(run_snakemake(tmp_path, "-n", "--configfile", str(config)),
                                  "config key 'model.rank_by': ranking by pTM needs a pTM head, which model_3")
    config = batch_config(tmp_path, small_params, [("tiny", TINY)], rank_by="ptm", presets=["model_1_ptm"],
                          bfloat16=True)
    result = run_snakemake(tmp_path, "-n", "--printshellcmds", "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "snakefold report --record <(printf '%s' '{" in result.stdout and "--metric ptm" in result.stdout
    assert "snakefold relax --scores" in result.stdout and "--metric ptm --rank 0" in result.stdout
    assert "--bfloat16" in result.stdout


@pytest.mark.slow
def test_predictions_share_the_compilation_cache_and_are_ranked(tmp_path, small_params):
    config = batch_config(tmp_path, small_params, [("tiny", TINY)], presets=["model_3"], num_seeds=2,
                          num_recycle=1, length_buckets=[32])
    seq = sequence_key(TINY)
    runs = [f"results/_work/{seq}/predictions/{name}/scores.json" for name in ("model_3_seed0", "model_3_seed1")]
    result = run_snakemake(tmp_path, *runs, "--cores", "1", "--configfile", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert job_counts(result.stderr)["predict"] == 2
    ranking = rank_model_runs([tmp_path / run for run in runs], "plddt")
    assert sorted(ranking.order) == ["model_3_seed0", "model_3_seed1"] and ranking.untrained is True
    compilations = []
    for name in ("model_3_seed0", "model_3_seed1"):
        scores = json.loads((tmp_path / f"results/_work/{seq}/predictions/{name}/scores.json").read_text())
        assert scores["compilation"]["padded_length"] == 32 and scores["num_recycles"] == 1
        compilations.append(scores["compilation"]["xla_compilations"])
    assert sorted(compilations)[0] == 0 and sorted(compilations)[1] >= 1  # whichever ran second compiled nothing
    assert any(path.name.startswith("jit_apply_fn-") for path in (tmp_path / "cache" / "jax").iterdir())
    log = (tmp_path / f"results/_logs/predict/{seq}/model_3_seed1.log").read_text()
    assert "model_3_seed1: 16 residues run at 32" in log
