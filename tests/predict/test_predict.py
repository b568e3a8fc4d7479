"""`snakefold predict` and its runner on tiny raw features with small random parameters: the contract
files, the seed and bucket plumbing, recycling with early stop, and the refused bfloat16 option."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from snakefold.cli import main as snakefold_main
from snakefold.cli.predict import load_raw_features
from snakefold.common.intermediates import SEAL_SUFFIX
from snakefold.common.protein import from_pdb_string
from snakefold.model.feature_processing import process_features
from snakefold.model.inference import OUTPUT_KEYS, expected_param_shapes, predict
from snakefold.model.model import ca_distance_change, flatten_result, run_model
from snakefold.model.param_sets import params_path
from snakefold.model.params import load_params, param_shapes
from snakefold.model.presets import small_config
from snakefold.report.predictions import load_model
from tests.predict.conftest import write_raw_features

NUM_RES = 11


@pytest.fixture(scope="module")
def model_1_ptm_run(tmp_path_factory, small_params):
    """`snakefold predict` of model_1_ptm, seed 2, one recycle, on an 11-residue chain padded to 16."""
    directory = tmp_path_factory.mktemp("predict")
    features = write_raw_features(directory / "features.npz", NUM_RES, seed=3)
    out_dir = directory / "predictions" / "model_1_ptm_seed2"
    code = snakefold_main(["predict", "--features", str(features), "--preset", "model_1_ptm",
                           "--params", str(params_path(small_params, "model_1_ptm")), "--seed", "2",
                           "--num-recycle", "1", "--length-buckets", "16", "--out-dir", str(out_dir)])
    assert code == 0
    return features, out_dir


def test_predict_writes_the_contract_files(model_1_ptm_run):
    _, out_dir = model_1_ptm_run
    assert sorted(path.name for path in out_dir.iterdir() if not path.name.endswith(SEAL_SUFFIX)) == [
        "outputs.npz", "scores.json", "unrelaxed.pdb"]
    model = load_model(out_dir, NUM_RES)  # the report stage's reader checks the contract
    scores = model.scores
    assert (scores["model"], scores["preset"], scores["seed"]) == ("model_1_ptm_seed2", "model_1_ptm", 2)
    assert scores["num_recycles"] == 1 and scores["compilation"]["padded_length"] == 16
    assert scores["ranking_confidence"] == pytest.approx(scores["mean_plddt"])
    assert set(scores["timings"]) == {"startup_s", "params_s", "features_s", "compile_s", "predict_s", "write_s"}
    assert all(seconds >= 0 for seconds in scores["timings"].values())
    with np.load(out_dir / "outputs.npz", allow_pickle=False) as outputs:
        arrays = {key: outputs[key] for key in outputs.files}
    num_clusters = small_config("model_1_ptm").features.num_msa_clusters
    assert 1 <= arrays["masked_msa/logits"].shape[0] <= num_clusters  # MSA rows: at most the cluster count
    expected_shapes = {
        "plddt": (NUM_RES,), "structure_module/final_atom_positions": (NUM_RES, 37, 3),
        "structure_module/final_atom_mask": (NUM_RES, 37), "predicted_lddt/logits": (NUM_RES, 50),
        "distogram/logits": (NUM_RES, NUM_RES, 64), "distogram/bin_edges": (63,),
        "experimentally_resolved/logits": (NUM_RES, 37),
        "masked_msa/logits": (arrays["masked_msa/logits"].shape[0], NUM_RES, 23),
        "predicted_aligned_error": (NUM_RES, NUM_RES), "aligned_confidence_probs": (NUM_RES, NUM_RES, 64),
        "ptm": (), "max_predicted_aligned_error": (),
    }
    assert {key: value.shape for key, value in arrays.items()} == expected_shapes
    assert all(value.dtype == np.float32 for value in arrays.values())
    np.testing.assert_allclose(scores["plddt"], arrays["plddt"], rtol=1e-6)
    assert scores["mean_plddt"] == pytest.approx(float(arrays["plddt"].mean()), rel=1e-5)
    assert scores["ptm"] == pytest.approx(float(arrays["ptm"]))
    assert scores["max_predicted_aligned_error"] == pytest.approx(31.75)


def test_untrained_parameters_are_said_so(model_1_ptm_run, small_params):
    _, out_dir = model_1_ptm_run
    scores = json.loads((out_dir / "scores.json").read_text())
    assert scores["params"] == {"set": "random-small-seed0", "path": str(params_path(small_params, "model_1_ptm")),
                                "untrained": True, "architecture": "small", "seed": 0}
    assert "untrained" in scores["warning"]
    pdb = (out_dir / "unrelaxed.pdb").read_text()
    assert "REMARK 250 WARNING: parameters are untrained (random)" in pdb


def test_pdb_holds_the_chain_with_plddt_as_b_factors(model_1_ptm_run):
    features, out_dir = model_1_ptm_run
    protein = from_pdb_string((out_dir / "unrelaxed.pdb").read_text())
    raw = load_raw_features(str(features))
    np.testing.assert_array_equal(protein.aatype, np.argmax(raw["aatype"], axis=-1))
    np.testing.assert_array_equal(protein.residue_index, np.arange(1, NUM_RES + 1))
    with np.load(out_dir / "outputs.npz", allow_pickle=False) as outputs:
        plddt = outputs["plddt"]
        mask = outputs["structure_module/final_atom_mask"]
        positions = outputs["structure_module/final_atom_positions"]
    np.testing.assert_array_equal(protein.atom_mask, mask)
    np.testing.assert_allclose(protein.atom_positions[mask > 0], positions[mask > 0], atol=1e-3)
    for residue in range(NUM_RES):
        present = protein.atom_mask[residue] > 0
        np.testing.assert_allclose(protein.b_factors[residue, present], plddt[residue], atol=0.006)


def test_runner_is_the_model_on_features_drawn_with_the_seed(model_1_ptm_run, small_params):
    """The outputs are the model's on features processed with the run's seed and bucket, cut to the chain."""
    features, out_dir = model_1_ptm_run
    config = small_config("model_1_ptm")
    params = load_params(params_path(small_params, "model_1_ptm"), config)
    raw = load_raw_features(str(features))
    processed = process_features(raw, dataclasses.replace(config.features, residue_buckets=(16,)), num_recycle=1,
                                 seed=2)
    expected = flatten_result(run_model(config, params, processed, num_recycle=1))
    with np.load(out_dir / "outputs.npz", allow_pickle=False) as outputs:
        for key in ("structure_module/final_atom_positions", "plddt", "predicted_aligned_error"):
            cut = expected[key][:NUM_RES, :NUM_RES] if key == "predicted_aligned_error" else expected[key][:NUM_RES]
            np.testing.assert_allclose(outputs[key], cut, rtol=1e-5, atol=1e-5)
    other_seed = process_features(raw, dataclasses.replace(config.features, residue_buckets=(16,)), num_recycle=1,
                                  seed=3)
    assert not np.array_equal(other_seed["msa_feat"], processed["msa_feat"])


def test_recycling_stops_early_only_when_asked(small_params, tmp_path):
    """(The shapes of the module's `snakefold predict` run: this process compiled them already.)"""
    config = small_config("model_1_ptm")
    params = load_params(params_path(small_params, "model_1_ptm"), config)
    raw = load_raw_features(str(write_raw_features(tmp_path / "features.npz", NUM_RES, seed=4)))
    every = predict(raw, config, params, seed=0, num_recycle=3, length_buckets=(16,))
    assert every.num_recycles == 3 and every.padded_length == 16 and every.length == NUM_RES
    assert set(every.outputs) == set(OUTPUT_KEYS)
    # Any change is below an enormous tolerance: the first recycle is the last.
    early = predict(raw, config, params, seed=0, num_recycle=3, early_stop_tolerance=1e6, length_buckets=(16,))
    assert early.num_recycles == 1
    assert not np.allclose(early.outputs["structure_module/final_atom_positions"],
                           every.outputs["structure_module/final_atom_positions"])


def test_ca_distance_change_ignores_rigid_motion_and_padding():
    rng = np.random.default_rng(0)
    positions = rng.normal(scale=10.0, size=(6, 37, 3))
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    moved = positions @ rotation.T + 5.0
    mask = np.array([1, 1, 1, 1, 0, 0], np.float32)
    assert ca_distance_change(positions, moved, mask) == pytest.approx(0.0, abs=1e-9)
    stretched = positions.copy()
    stretched[4:] += 100.0  # padding: not counted
    assert ca_distance_change(positions, stretched, mask) == pytest.approx(0.0, abs=1e-9)
    doubled = positions * 2.0
    distances = np.linalg.norm(positions[:4, None, 1] - positions[None, :4, 1], axis=-1)
    assert ca_distance_change(positions, doubled, mask) == pytest.approx(np.sqrt(np.mean(distances ** 2)))


@pytest.mark.slow
def test_bfloat16_activations_run_the_trunk_in_bfloat16(model_1_ptm_run, small_params, tmp_path):
    """The switch reaches the model: outputs move (the trunk rounds to bfloat16) but stay close."""
    features, float32_dir = model_1_ptm_run
    out_dir = tmp_path / "model_1_ptm_seed2"
    assert snakefold_main(["predict", "--features", str(features), "--preset", "model_1_ptm",
                           "--params", str(params_path(small_params, "model_1_ptm")), "--seed", "2",
                           "--num-recycle", "1", "--length-buckets", "16", "--bfloat16", "--out-dir", str(out_dir)]) == 0
    scores = json.loads((out_dir / "scores.json").read_text())
    assert scores["bfloat16"] is True and json.loads((float32_dir / "scores.json").read_text())["bfloat16"] is False
    with np.load(out_dir / "outputs.npz") as low, np.load(float32_dir / "outputs.npz") as full:
        assert all(low[key].dtype == np.float32 and np.all(np.isfinite(low[key])) for key in low.files)
        assert not np.array_equal(low["plddt"], full["plddt"])
        np.testing.assert_allclose(low["plddt"], full["plddt"], atol=5.0)


def test_parameters_of_another_preset_are_refused_by_name(small_params, tmp_path, capsys):
    features = write_raw_features(tmp_path / "features.npz", NUM_RES, seed=1)
    code = snakefold_main(["predict", "--features", str(features), "--preset", "model_1_ptm",
                           "--params", str(params_path(small_params, "model_3")), "--out-dir", str(tmp_path / "out")])
    assert code == 1
    assert "made for preset 'model_3', not 'model_1_ptm'" in capsys.readouterr().err


def test_expected_parameter_shapes_are_kept_beside_the_compiled_programs(tmp_path):
    """A later process checks its parameter file against the shapes an earlier one traced."""
    config = small_config("model_3")
    traced = param_shapes(config)
    assert expected_param_shapes(config, None) == traced
    assert expected_param_shapes(config, tmp_path) == traced
    (kept,) = tmp_path.glob("param_shapes-*.json")
    assert json.loads(kept.read_text()) == {name: list(shape) for name, shape in traced.items()}
    # What is kept is what is read: an entry that says otherwise is believed ...
    kept.write_text(json.dumps({"only//this": [1]}))
    assert expected_param_shapes(config, tmp_path) == {"only//this": (1,)}
    # ... and an unreadable one traced again; another configuration has its own entry.
    kept.write_text("{")
    assert expected_param_shapes(config, tmp_path) == traced
    assert expected_param_shapes(small_config("model_1_ptm"), tmp_path) == param_shapes(small_config("model_1_ptm"))
    assert len(list(tmp_path.glob("param_shapes-*.json"))) == 2
