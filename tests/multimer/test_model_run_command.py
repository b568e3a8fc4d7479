"""``snakefold model-run`` with a multimer preset: parameters checked against the published layout, features named."""

from __future__ import annotations

import numpy as np
import pytest

from snakefold.cli import main as snakefold_main
from snakefold.common.errors import SnakefoldError
from snakefold.model.multimer.model import model_inputs
from snakefold.model.params import flat_to_haiku, save_params
from tests.multimer.test_parity_fixture import load_fixture


def test_model_run_refuses_the_miniature_parameters_for_the_published_preset(tmp_path, capsys):
    path = tmp_path / "params_model_1_multimer_v3.npz"
    save_params(path, flat_to_haiku(load_fixture("heterodimer")["params"]))
    code = snakefold_main(["model-run", "--preset", "model_1_multimer_v3", "--params", str(path),
                           "--features", str(tmp_path / "f.npz"), "--out", str(tmp_path / "o.npz"), "--seed", "1"])
    assert code == 1
    message = capsys.readouterr().err
    assert "do not fit preset model_1_multimer_v3" in message and "wrong shape" in message
    assert not (tmp_path / "o.npz").exists()


def test_missing_complex_features_are_named():
    features = dict(load_fixture("homodimer")["features"])
    del features["asym_id"], features["template_aatype"]
    with pytest.raises(SnakefoldError, match="lack asym_id, template_aatype"):
        model_inputs(features)


def test_absent_bert_and_cluster_bias_masks_default_as_in_alphafold():
    features = dict(load_fixture("homodimer")["features"])
    del features["bert_mask"], features["cluster_bias_mask"]
    inputs = model_inputs(features)
    assert np.all(inputs["bert_mask"] == 1.0)
    assert inputs["cluster_bias_mask"][0] == 1.0 and np.all(inputs["cluster_bias_mask"][1:] == 0.0)
    assert inputs["asym_id"].dtype == np.float32 and inputs["msa"].dtype == np.int32
