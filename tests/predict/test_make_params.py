"""`snakefold make-params`: random parameters in the official format with a record saying what they are;
idempotent; never overwriting a parameter file it did not make."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snakefold.cli import main as snakefold_main
from snakefold.model.param_sets import params_info, random_params_record, write_random_params_record
from snakefold.model.params import load_params
from snakefold.model.presets import small_config


@pytest.mark.slow
def test_small_random_parameters_fit_the_small_architecture_and_say_they_are_untrained(tmp_path):
    out = tmp_path / "params_model_3.npz"
    assert snakefold_main(["make-params", "--preset", "model_3", "--architecture", "small", "--seed", "5",
                           "--out", str(out)]) == 0
    record = json.loads((tmp_path / "params_model_3.json").read_text())
    assert record == {"made_by": "snakefold make-params", "preset": "model_3", "architecture": "small", "seed": 5,
                      "zero_init": False, "untrained": True}
    load_params(out, small_config("model_3"))  # raises unless every name and shape fits
    info = params_info(out, "model_3")
    assert (info.set, info.architecture, info.untrained, info.seed) == ("random-small-seed5", "small", True, 5)


def test_an_up_to_date_file_is_left_alone(tmp_path, capsys):
    out = tmp_path / "params_model_3.npz"
    np.savez(out, marker=np.zeros(1))
    write_random_params_record(out, random_params_record("model_3", "small", 0, False))
    before = out.stat().st_mtime_ns
    assert snakefold_main(["make-params", "--preset", "model_3", "--architecture", "small", "--out", str(out)]) == 0
    assert "up to date" in capsys.readouterr().out and out.stat().st_mtime_ns == before


def test_a_file_without_a_record_is_never_overwritten(tmp_path, capsys):
    official = tmp_path / "params_model_3.npz"
    np.savez(official, marker=np.zeros(1))
    content = official.read_bytes()
    assert snakefold_main(["make-params", "--preset", "model_3", "--out", str(official)]) == 1
    assert "was not made by `snakefold make-params`" in capsys.readouterr().err
    assert official.read_bytes() == content
    assert params_info(official, "model_3").untrained is False  # no record: an official, trained file
