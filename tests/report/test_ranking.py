"""Ranking a sequence's model runs (snakefold.report.predictions.rank_model_runs): by the configured metric,
ties in the given order, pTM only where there is one, ipTM only for complexes, untrained parameters carried."""

from __future__ import annotations

import json

import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.report.predictions import rank_model_runs


def write_scores(directory, model, plddt, ptm, untrained=True, **extra):
    path = directory / model / "scores.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"model": model, "plddt": plddt, "ptm": ptm, "mean_plddt": sum(plddt) / len(plddt),
                                "params": {"set": "s", "path": "p", "untrained": untrained}, **extra}))
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
def test_runs_are_ranked_by_the_configured_metric(tmp_path, three_runs, metric, order, best_confidence):
    ranking = rank_model_runs(three_runs, metric)
    assert list(ranking.order) == order and ranking.metric == metric
    assert ranking.ranking_confidence[order[0]] == pytest.approx(best_confidence)
    assert ranking.untrained is True  # two of the three runs used untrained parameters
    assert ranking.directories[order[0]] == tmp_path / order[0]


def test_equal_scores_keep_the_given_order(tmp_path):
    runs = [write_scores(tmp_path, name, [50.0], None, untrained=False) for name in ("model_4_seed1", "model_4_seed0")]
    ranking = rank_model_runs(runs, "plddt")
    assert list(ranking.order) == ["model_4_seed1", "model_4_seed0"] and ranking.untrained is False


def test_complexes_are_ranked_by_their_runs_iptm_ptm_score(tmp_path):
    runs = [write_scores(tmp_path, "model_1_multimer_v3_seed0", [50.0], 0.5, iptm=0.4, ranking_confidence=0.42),
            write_scores(tmp_path, "model_2_multimer_v3_seed0", [40.0], 0.6, iptm=0.7, ranking_confidence=0.68)]
    ranking = rank_model_runs(runs, "iptm+ptm")
    assert list(ranking.order) == ["model_2_multimer_v3_seed0", "model_1_multimer_v3_seed0"]
    with pytest.raises(SnakefoldError, match="has no ipTM"):
        rank_model_runs([write_scores(tmp_path, "model_3_seed0", [50.0], None)], "iptm+ptm")


def test_ranking_by_ptm_needs_a_ptm_head(tmp_path):
    runs = [write_scores(tmp_path, "model_1_ptm_seed0", [50.0], 0.5), write_scores(tmp_path, "model_3_seed0", [50.0], None)]
    with pytest.raises(SnakefoldError, match="model model_3_seed0 has no pTM.*model.rank_by"):
        rank_model_runs(runs, "ptm")


def test_a_run_given_twice_is_an_error(tmp_path, three_runs):
    with pytest.raises(SnakefoldError, match="model_1_ptm_seed0 given twice"):
        rank_model_runs([three_runs[0], three_runs[0]], "plddt")
