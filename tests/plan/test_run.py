"""The plan of a run, without Snakemake: what it holds, and problems that wait for the DAG to be built."""

from __future__ import annotations

import inspect

import pytest

from snakefold.common.fasta import sequence_key
from snakefold.common.snakemake_internals import PARAMETERS_ATTRIBUTE
from snakefold.plan.run import plan_run

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


def _config(tmp_path, **changes) -> dict:
    (tmp_path / "in.fasta").write_text(f">ubq Human ubiquitin\n{UBIQUITIN}\n>again\n{UBIQUITIN}\n")
    return {"inputs": [str(tmp_path / "in.fasta")], "msa": {"mode": "single_sequence"},
            "templates": {"enabled": False}, "results_dir": str(tmp_path / "results"),
            "cache_dir": str(tmp_path / "cache"), "model": {"presets": ["model_1_ptm", "model_3"]}, **changes}


def test_targets_that_share_a_sequence_share_its_jobs(tmp_path):
    plan = plan_run(_config(tmp_path), main_process=False)
    assert plan.problems == []
    assert list(plan.targets) == ["ubq", "again"] and list(plan.sequences) == [sequence_key(UBIQUITIN)]
    assert len(plan.features.jobs) == 1 and plan.predict.model_names == ["model_1_ptm_seed0", "model_3_seed0"]
    assert plan.predict.ptm_model_names == ["model_1_ptm_seed0"]
    files = plan.report.files("ubq")
    assert files[0].endswith("/ubq/ranking.json") and any(name.endswith("/ubq/pae.png") for name in files)
    assert plan.report.batch_outputs() == [f"{plan.layout.target_dir(name)}/SHA256SUMS" for name in ("ubq", "again")]


def test_problems_stop_the_run_only_when_the_dag_needs_the_plan(tmp_path, capsys):
    config = _config(tmp_path, msa={"mode": "precomputed", "precomputed_dir": str(tmp_path / "none")})
    plan = plan_run(config)  # reading the Snakefile (and --lint) never stops
    assert any("msa.precomputed_dir" in problem for problem in plan.problems)
    with pytest.raises(SystemExit) as stopped:
        plan.report.batch_outputs()
    assert stopped.value.code == 1 and "msa.precomputed_dir" in capsys.readouterr().err


def test_the_parameter_files_are_checked_only_when_a_prediction_is_planned(tmp_path, capsys):
    plan = plan_run(_config(tmp_path, model={"presets": ["model_3"], "params_dir": str(tmp_path / "absent")}))
    assert plan.problems == [] and plan.all_features()
    with pytest.raises(SystemExit):
        plan.predict.inputs(type("Wildcards", (), {"seq": sequence_key(UBIQUITIN), "preset": "model_3"})())
    assert "config key 'model.params_dir'" in capsys.readouterr().err


def test_notices_come_from_the_main_process_only(tmp_path, capsys):
    (tmp_path / "bad.fasta").write_text(">bad\nMK1\n")
    config = _config(tmp_path, on_invalid="skip")
    config["inputs"].append(str(tmp_path / "bad.fasta"))
    plan_run(dict(config), main_process=False)
    assert capsys.readouterr().err == ""
    plan_run(dict(config), main_process=True)
    assert "1 invalid input record(s) rejected" in capsys.readouterr().err


def test_every_rule_function_of_a_large_batch_has_a_short_text_and_known_parameters(tmp_path):
    """Snakemake keeps the text of the functions it is given and asks each for its parameters per job: a
    function of the plan must not carry the batch in its text (snakefold.common.snakemake_internals)."""
    letters = "ACDEFGHIKLMNPQRSTVWY"
    (tmp_path / "in.fasta").write_text("".join(f">p{index} a protein\n{letters * 5}{letters[index % 20] * 3}\n"
                                               for index in range(2000)))
    config = {**_config(tmp_path), "inputs": [str(tmp_path / "in.fasta")]}
    plan = plan_run(config, main_process=False)
    stages = [plan, plan.features, plan.templates, plan.chain_templates, plan.predict, plan.predict.groups,
              plan.report, plan.regression, plan.downloads]
    for stage in stages:
        functions = [getattr(stage, name) for name, member in vars(type(stage)).items()
                     if inspect.isfunction(member) and not name.startswith("_") and name != "is_dry_run"]
        assert functions, stage
        for function in functions:
            assert len(str(function)) < 200, str(function)[:200]
            assert hasattr(function, PARAMETERS_ATTRIBUTE), function
