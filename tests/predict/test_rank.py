"""`snakefold rank`: model runs ordered by the configured metric, ties in the given order, pTM only where
there is one, and untrained parameters carried into ranking.json."""

from __future__ import annotations

import json

import pytest

from snakefold.cli import main as snakefold_main
from snakefold.report.predictions import load_sequence_ranking


def write_scores(directory, model, plddt, ptm, untrained=True):
    path = directory / model / "scores.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"model": model, "plddt": plddt, "ptm": ptm, "mean_plddt": sum(plddt) / len(plddt),
                                "params": {"set": "s", "path": "p", "untrained": untrained}}))
    return str(path)


@pytest.fixture
def three_runs(tmp_path):
    return [write_scores(tmp_path, "model_1_ptm_seed0", [60.0, 70.0], 0.80),  # mean 65, pTM 80
            write_scores(tmp_path, "model_2_ptm_seed0", [80.0, 90.0], 0.50),  # mean 85, pTM 50
            write_scores(tmp_path, "model_3_ptm_seed0", [70.0, 80.0], 0.60, untrained=False)]  # mean 75, pTM 60


@pytest.mark.parametrize("metric, order, best_confidence", [
    ("plddt", ["model_2_ptm_seed0", "model_3_ptm_seed0", "model_1_ptm_seed0"], 85.0),
    ("ptm", ["model_1_ptm_seed0", "model_3_ptm_seed0", "model_2_ptm_seed0"], 80.0),
])
def test_rank_orders_by_the_configured_metric(tmp_path, three_runs, metric, order, best_confidence):
    out = tmp_path / "seq" / "ranking.json"
    assert snakefold_main(["rank", "--metric", metric, "--out", str(out), *three_runs]) == 0
    document = json.loads(out.read_text())
    assert document["order"] == order and document["metric"] == metric
    assert document["ranking_confidence"][order[0]] == pytest.approx(best_confidence)
    assert document["untrained"] is True  # two of the three runs used untrained parameters
    assert load_sequence_ranking(out.parent).order == tuple(order)  # the report stage reads it


def test_equal_scores_keep_the_given_order(tmp_path):
    runs = [write_scores(tmp_path, name, [50.0], None, untrained=False) for name in ("model_4_seed1", "model_4_seed0")]
    out = tmp_path / "ranking.json"
    assert snakefold_main(["rank", "--out", str(out), *runs]) == 0
    document = json.loads(out.read_text())
    assert document["order"] == ["model_4_seed1", "model_4_seed0"] and document["untrained"] is False


def test_ranking_by_ptm_needs_a_ptm_head(tmp_path, capsys):
    runs = [write_scores(tmp_path, "model_1_ptm_seed0", [50.0], 0.5), write_scores(tmp_path, "model_3_seed0", [50.0], None)]
    assert snakefold_main(["rank", "--metric", "ptm", "--out", str(tmp_path / "ranking.json"), *runs]) == 1
    error = capsys.readouterr().err
    assert "model model_3_seed0 has no pTM" in error and "model.rank_by" in error
    assert not (tmp_path / "ranking.json").exists()
