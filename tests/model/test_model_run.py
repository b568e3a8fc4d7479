"""The model end to end on the miniature configuration: padding changes nothing for the real residues,
recycling feeds back, and the commands write what the predict stage reads."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from snakefold.cli import main as snakefold_main
from snakefold.cli import model_run as run_cli
from snakefold.features.synthetic import synthetic_raw_features
from snakefold.model.feature_processing import process_features
from snakefold.model.model import (
    OUTPUT_RESIDUE_AXES,
    flatten_result,
    initial_prev,
    input_feature_names,
    jitted_apply,
    outputs_for_real_residues,
    recycling_slices,
    run_model,
)
from snakefold.model.params import flat_to_haiku, save_params
from snakefold.model.presets import small_config
from tests.model.test_parity_fixture import load_fixture

NUM_RES = 11


@pytest.fixture(scope="module")
def small():
    """The miniature model_1_ptm with the parameters of the parity fixture."""
    config = small_config("model_1_ptm")
    params = flat_to_haiku(load_fixture("model_1_ptm")["params"])
    raw = synthetic_raw_features(num_res=NUM_RES, num_msa=40, num_templates=2, seed=5)
    return config, params, raw


def processed(config, raw, buckets):
    return process_features(raw, dataclasses.replace(config.features, residue_buckets=buckets),
                            num_recycle=config.num_recycle, seed=0)


@pytest.fixture(scope="module")
def padded_and_unpadded(small):
    config, params, raw = small
    unpadded = flatten_result(run_model(config, params, processed(config, raw, ())))
    padded_features = processed(config, raw, (16,))
    padded = flatten_result(run_model(config, params, padded_features))
    return unpadded, padded, padded_features


def test_padding_changes_nothing_for_real_residues(padded_and_unpadded):
    unpadded, padded, _ = padded_and_unpadded
    residue_axes = {key: axes for key, axes in OUTPUT_RESIDUE_AXES.items() if key in unpadded}
    assert "structure_module/final_atom_positions" in residue_axes and "predicted_aligned_error" in residue_axes
    for key, axes in residue_axes.items():
        if key in ("ptm", "ranking_confidence", "max_predicted_aligned_error", "distogram/bin_edges"):
            continue  # scalars and bin edges; pTM and the ranking weight residues by seq_mask (checked below)
        cropped = padded[key]
        for axis in axes:
            cropped = np.take(cropped, np.arange(NUM_RES), axis=axis)
        scale = max(np.max(np.abs(unpadded[key])), 1e-6)
        assert np.max(np.abs(cropped - unpadded[key])) <= 1e-4 * scale, key
    for key in ("ptm", "ranking_confidence"):
        np.testing.assert_allclose(padded[key], unpadded[key], rtol=1e-4)


def test_padded_outputs_are_finite(padded_and_unpadded):
    _, padded, _ = padded_and_unpadded
    for key, value in padded.items():
        assert np.all(np.isfinite(value)), key


def test_recycling_changes_the_result(small, padded_and_unpadded):
    config, params, raw = small
    unpadded, _, _ = padded_and_unpadded
    features = processed(config, raw, ())
    without_recycling = flatten_result(run_model(config, params, features, num_recycle=0))
    assert not np.allclose(without_recycling["representations/pair"], unpadded["representations/pair"])


def test_model_run_writes_outputs_for_real_residues(tmp_path, small, padded_and_unpadded):
    config, params, _ = small
    _, padded, padded_features = padded_and_unpadded
    out = tmp_path / "out.npz"
    run_cli.write_outputs(config, params, padded_features, str(out), num_recycle=None, source="test features")
    with np.load(out, allow_pickle=False) as outputs:
        files = set(outputs.files)
        required = {"representations/msa_first_row", "representations/pair", "representations/single",
                    "structure_module/final_atom_positions", "structure_module/final_atom_mask", "plddt",
                    "predicted_lddt/logits", "distogram/logits", "experimentally_resolved/logits",
                    "masked_msa/logits", "predicted_aligned_error", "ptm"}
        assert required <= files
        assert "representations/msa" not in files
        pair_channel = config.embeddings_and_evoformer.pair_channel
        assert outputs["representations/pair"].shape == (NUM_RES, NUM_RES, pair_channel)
        assert outputs["structure_module/final_atom_positions"].shape == (NUM_RES, 37, 3)
        assert outputs["masked_msa/logits"].shape == (config.features.num_msa_clusters, NUM_RES, 23)
        assert all(outputs[key].dtype == np.float32 for key in files)
        np.testing.assert_array_equal(outputs["representations/single"],
                                      padded["representations/single"][:NUM_RES])


def test_output_crop_uses_each_array_s_residue_axes():
    num_res, padded = 3, 4
    result = {
        "representations": {"pair": np.ones((padded, padded, padded)), "msa_first_row": np.ones((padded, 2)),
                            "single": np.ones((padded, 5))},
        "masked_msa": {"logits": np.ones((padded, padded, 23))},
        "ptm": np.float32(0.5),
    }
    outputs = outputs_for_real_residues(result, num_res)
    assert outputs["representations/pair"].shape == (3, 3, 4)  # the channel axis is not a residue axis
    assert outputs["masked_msa/logits"].shape == (4, 3, 23)  # nor the MSA-row axis
    assert outputs["ptm"].shape == ()


def test_process_features_command(tmp_path):
    raw = synthetic_raw_features(num_res=9, num_msa=20, num_templates=0, seed=1)
    raw_path, out_path = tmp_path / "features.npz", tmp_path / "processed.npz"
    np.savez(raw_path, **raw, sequence=np.array([b"X" * 9]))
    assert snakefold_main(["process-features", "--preset", "model_3", "--features", str(raw_path),
                           "--out", str(out_path), "--seed", "3", "--num-recycle", "1"]) == 0
    with np.load(out_path, allow_pickle=False) as processed_features:
        assert processed_features["msa_feat"].shape == (2, 512, 16, 49)
        assert processed_features["extra_msa"].shape == (2, 5120, 16)
        np.testing.assert_array_equal(processed_features["seq_length"], [9, 9])
        assert not any(key.startswith("template_") for key in processed_features.files)
        first = dict(processed_features)
    assert snakefold_main(["process-features", "--preset", "model_3", "--features", str(raw_path),
                           "--out", str(out_path), "--seed", "3", "--num-recycle", "1",
                           "--masked-msa-fraction", "0", "--no-residue-buckets"]) == 0
    with np.load(out_path, allow_pickle=False) as processed_features:
        assert processed_features["msa_feat"].shape == (2, 512, 9, 49)
        np.testing.assert_array_equal(processed_features["bert_mask"], 0.0)
    assert first["bert_mask"].sum() > 0


def test_model_run_command_reports_missing_inputs(tmp_path, capsys):
    code = snakefold_main(["model-run", "--preset", "model_3", "--params", str(tmp_path / "params_model_3.npz"),
                           "--features", str(tmp_path / "f.npz"), "--out", str(tmp_path / "o.npz")])
    assert code == 1
    assert "params_model_3.npz does not exist" in capsys.readouterr().err


def test_model_run_command_refuses_parameters_of_another_preset(tmp_path, capsys, small):
    _, params, _ = small
    path = tmp_path / "params.npz"
    save_params(path, params)
    code = snakefold_main(["model-run", "--preset", "model_3", "--params", str(path),
                           "--features", str(tmp_path / "f.npz"), "--out", str(tmp_path / "o.npz")])
    assert code == 1
    message = capsys.readouterr().err
    assert "do not fit preset model_3" in message and "wrong shape" in message
    assert json.dumps(str(path))[1:-1] in message


def test_make_params_command_refuses_a_negative_seed(tmp_path, capsys):
    code = snakefold_main(["make-params", "--preset", "model_3", "--seed", "-1", "--out", str(tmp_path / "p.npz")])
    assert code == 1
    assert "--seed must be a non-negative integer" in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()


def test_padding_rows_are_dropped_without_changing_the_outputs(small):
    """A shallow MSA in the fixed-size features: the model runs on the next row bucket of its real rows
    (snakefold.model.padding) and computes what it computes on all the padded rows."""
    config, params, _ = small
    features_config = dataclasses.replace(config.features, residue_buckets=(), msa_row_buckets=(4, 8),
                                          extra_msa_row_buckets=(2, 4))
    config = config.replace(features=features_config)
    raw = synthetic_raw_features(num_res=NUM_RES, num_msa=6, num_templates=2, seed=7)
    features = process_features(raw, features_config, num_recycle=0, seed=0)
    padded_slice = {name: features[name][0] for name in input_feature_names(config)}
    trimmed_slice, = recycling_slices(features, config, num_recycle=0)
    assert padded_slice["msa_feat"].shape[0] == features_config.num_msa_clusters == 20
    assert trimmed_slice["msa_feat"].shape[0] == 8  # 6 sequences and the query -> 7 rows -> bucket 8
    assert padded_slice["extra_msa"].shape[0] == 32 and trimmed_slice["extra_msa"].shape[0] == 2

    apply = jitted_apply(config)
    prev = initial_prev(config, NUM_RES)
    padded, _ = apply(params, None, padded_slice, prev)
    trimmed, _ = apply(params, None, trimmed_slice, prev)
    padded, trimmed = flatten_result(padded), flatten_result(trimmed)
    assert set(padded) == set(trimmed)
    for key in padded:
        # The masked-MSA logits and the MSA representation cover the kept cluster rows.
        expected = padded[key][:8] if key in ("masked_msa/logits", "representations/msa") else padded[key]
        scale = max(float(np.max(np.abs(expected))), 1e-6)
        assert np.max(np.abs(np.asarray(trimmed[key]) - np.asarray(expected))) <= 1e-4 * scale, key
