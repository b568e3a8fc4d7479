"""Parity with AlphaFold-Multimer v3 (official AlphaFold2 v2.3.2, float32) on a miniature model, against stored fixtures.

``fixtures/multimer_small_<case>.npz`` were written by ``fixtures/make_fixture.py`` running the official model on
:func:`snakefold.model.multimer.presets.small_multimer_config`: random parameters in the official format, merged
complex features from the official multimer data pipeline (512 MSA rows, more than the 24 sampled cluster rows),
the seed, and the outputs after a fixed number of recycles. The MSA sampling and masking happen inside both
models from the seed, so matching outputs also means the same random draws. Cases: a heterodimer with two
template hits per chain (one recycle) and a homodimer without templates whose merged MSA has exactly as many
rows as are sampled, so that the extra-MSA stack sees padding only (two recycles).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snakefold.model.model import flatten_result
from snakefold.model.multimer.model import multimer_param_shapes, run_multimer
from snakefold.model.multimer.presets import small_multimer_config
from snakefold.model.params import check_params, flat_to_haiku
from tests.model.test_parity_fixture import read_fixture

FIXTURES = Path(__file__).parent / "fixtures"
#: Atom positions: the issue's bound (Angstrom). Measured: 1.3e-5.
ATOM_TOLERANCE = 2e-4
#: Other arrays: max |difference| / max |reference|. Measured: below 1e-6.
RELATIVE_TOLERANCE = 1e-5
#: pTM and ipTM (absolute). Measured: below 1e-8.
TM_TOLERANCE = 1e-6
COMPARED = ("representations/msa_first_row", "representations/pair", "representations/single",
            "representations/structure_module", "structure_module/final_atom_mask", "distogram/logits",
            "masked_msa/logits", "experimentally_resolved/logits", "predicted_lddt/logits", "plddt",
            "predicted_aligned_error")


def load_fixture(case: str) -> dict:
    return read_fixture(FIXTURES / f"multimer_small_{case}.npz")


@pytest.fixture(scope="module", params=["heterodimer", "homodimer"])
def parity_run(request):
    fixture = load_fixture(request.param)
    config = small_multimer_config()
    params = flat_to_haiku(fixture["params"])
    check_params(params, config, source=f"fixture {request.param}", expected=multimer_param_shapes(config))
    run = fixture["config"]
    result = flatten_result(run_multimer(config, params, fixture["features"], seed=run["seed"],
                                         num_recycle=run["num_recycle"], early_stop_tolerance=-1.0))
    return request.param, fixture, result


def test_fixture_is_a_complex_with_a_deep_msa(parity_run):
    case, fixture, _ = parity_run
    features = fixture["features"]
    assert len(np.unique(features["asym_id"])) == 2
    num_rows = int(np.sum(np.any(features["msa_mask"] > 0, axis=1)))
    assert set(COMPARED) <= set(fixture["outputs"])
    if case == "heterodimer":
        assert num_rows > small_multimer_config().num_msa, "rows left over for the extra-MSA stack"
        assert np.any(features["template_all_atom_mask"] > 0), "the heterodimer case has real template hits"
    else:
        assert num_rows == small_multimer_config().num_msa, "every row sampled: the extra MSA is all padding"
        assert len(np.unique(features["entity_id"])) == 1 and len(np.unique(features["sym_id"])) == 2


def test_atoms_match_reference(parity_run):
    case, fixture, result = parity_run
    expected = fixture["outputs"]["structure_module/final_atom_positions"]
    actual = result["structure_module/final_atom_positions"]
    assert actual.shape == expected.shape
    difference = float(np.max(np.abs(actual - expected)))
    assert difference < ATOM_TOLERANCE, f"{case}: atoms differ by up to {difference} Angstrom"


def test_representations_heads_and_confidences_match_reference(parity_run):
    case, fixture, result = parity_run
    errors = {}
    for key in COMPARED:
        expected, actual = fixture["outputs"][key], result[key]
        assert actual.shape == expected.shape, f"{case} {key}: shape {actual.shape}, reference {expected.shape}"
        assert np.all(np.isfinite(actual)), f"{case} {key} is not finite"
        errors[key] = float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-30))
    too_large = {key: error for key, error in errors.items() if error > RELATIVE_TOLERANCE}
    assert not too_large, f"{case}: relative differences above {RELATIVE_TOLERANCE}: {too_large}"
    reference = fixture["outputs"]
    for key in ("ptm", "iptm"):
        assert abs(float(result[key]) - float(reference[key])) < TM_TOLERANCE, f"{case} {key}"
    assert float(result["ranking_confidence"]) == pytest.approx(
        0.8 * float(reference["iptm"]) + 0.2 * float(reference["ptm"]), abs=TM_TOLERANCE)
    assert int(result["num_recycles"]) == int(reference["num_recycles"]) == fixture["config"]["num_recycle"]


def test_chain_pair_iptm_of_a_dimer_is_its_iptm(parity_run):
    _, _, result = parity_run
    matrix = result["chain_pair_iptm"]
    assert matrix.shape == (2, 2)
    assert matrix[0, 1] == pytest.approx(float(result["iptm"]), abs=1e-6)
    assert matrix[1, 0] == pytest.approx(float(result["iptm"]), abs=1e-6)
    assert result["interface_pae"].shape == (2, 2)


def test_early_stop_after_one_recycle_is_the_one_recycle_run():
    """A tolerance no change reaches stops after the first recycle; the final iteration then runs with the key
    a one-recycle run ends with, so the outputs are the reference's one-recycle outputs."""
    fixture = load_fixture("heterodimer")
    assert fixture["config"]["num_recycle"] == 1
    config = small_multimer_config()
    result = run_multimer(config, flat_to_haiku(fixture["params"]), fixture["features"], seed=fixture["config"]["seed"],
                          num_recycle=3, early_stop_tolerance=1e6)
    assert int(result["num_recycles"]) == 1
    expected = fixture["outputs"]["structure_module/final_atom_positions"]
    assert float(np.max(np.abs(result["structure_module"]["final_atom_positions"] - expected))) < ATOM_TOLERANCE
