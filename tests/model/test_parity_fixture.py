"""Parity with the reference AlphaFold2 implementation on a miniature model, against stored fixtures.

``fixtures/model_small_<preset>.npz`` were written by ``fixtures/make_fixture.py`` running the reference
(alphafold-colabfold 2.3.27, float32) on :func:`snakefold.model.presets.small_config`: random parameters
in the official format, the reference's processed features (two recycling slices) and its outputs after
one recycle. snakefold must load those parameters as they are and reproduce the outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from snakefold.model.model import flatten_result, run_model
from snakefold.model.params import check_params, flat_to_haiku
from snakefold.model.presets import small_config

FIXTURES = Path(__file__).parent / "fixtures"
#: Relative tolerance (max |difference| / max |reference|); measured differences are below 1e-6.
RELATIVE_TOLERANCE = 1e-5


def read_fixture(path: Path) -> dict:
    """A parity fixture: its ``config`` (JSON) and its ``params``, ``features`` and ``outputs`` arrays, each
    stored as ``<group>/<name>``."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    fixture = {"config": json.loads(str(arrays.pop("config"))), "params": {}, "features": {}, "outputs": {}}
    for key, value in arrays.items():
        group, name = key.split("/", 1)
        fixture[group][name] = value
    return fixture


def load_fixture(preset: str) -> dict:
    return read_fixture(FIXTURES / f"model_small_{preset}.npz")


@pytest.fixture(scope="module", params=["model_1_ptm", "model_3"])
def parity_run(request):
    preset = request.param
    fixture = load_fixture(preset)
    config = small_config(preset)
    assert fixture["config"]["num_recycle"] == config.num_recycle
    params = flat_to_haiku(fixture["params"])
    check_params(params, config, source=f"fixture {preset}")
    result = flatten_result(run_model(config, params, fixture["features"]))
    return preset, fixture["outputs"], result


def test_fixture_covers_the_trunk_structure_and_heads(parity_run):
    preset, reference, _ = parity_run
    expected = {"representations/msa_first_row", "representations/pair", "representations/single",
                "structure_module/final_atom_positions", "distogram/logits", "masked_msa/logits",
                "predicted_lddt/logits", "experimentally_resolved/logits", "plddt"}
    if preset.endswith("_ptm"):
        expected |= {"predicted_aligned_error", "ptm"}
    assert expected <= set(reference)


def test_outputs_match_reference(parity_run):
    preset, reference, result = parity_run
    errors = {}
    for key, expected in reference.items():
        actual = result[key]
        assert actual.shape == expected.shape, f"{preset} {key}: shape {actual.shape}, reference {expected.shape}"
        assert np.all(np.isfinite(actual)), f"{preset} {key} is not finite"
        errors[key] = float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-30))
    too_large = {key: error for key, error in errors.items() if error > RELATIVE_TOLERANCE}
    assert not too_large, f"{preset}: relative differences above {RELATIVE_TOLERANCE}: {too_large}"
