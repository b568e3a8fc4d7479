"""Parameters: every preset's module tree has the published names and shapes; the official file format
round-trips; a file that does not fit is refused with a message that names what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.model.params import (
    check_params,
    flat_to_haiku,
    haiku_to_flat,
    init_params,
    load_params,
    param_shapes,
    save_params,
)
from snakefold.model.presets import MONOMER_PRESETS, model_config, small_config
from tests.model.test_parity_fixture import load_fixture

PAE_HEAD = ("alphafold/alphafold_iteration/predicted_aligned_error_head/logits//weights",
            "alphafold/alphafold_iteration/predicted_aligned_error_head/logits//bias")


def published_shapes(reference_dir, preset: str) -> dict[str, tuple[int, ...]]:
    """The published listing of ``preset``: model_2 = model_1, model_4/5 = model_3, _ptm adds the PAE head."""
    number = int(preset.split("_")[1])
    listed = {1: "model_1", 2: "model_1", 3: "model_3", 4: "model_3", 5: "model_3"}[number]
    ptm = preset.endswith("_ptm")
    source = reference_dir / "af2_param_shapes" / f"{listed}_ptm.tsv" if ptm and number == 1 else (
        reference_dir / "af2_param_shapes" / f"{listed}.tsv")
    shapes = {}
    for line in source.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.split("\t")
        shapes[key] = tuple(int(size) for size in shape.split(","))
    if ptm and number != 1:
        shapes[PAE_HEAD[0]] = (128, 64)
        shapes[PAE_HEAD[1]] = (64,)
    return shapes


@pytest.mark.parametrize("preset", MONOMER_PRESETS)
def test_every_preset_has_the_published_names_and_shapes(shared_reference, preset):
    expected = published_shapes(shared_reference, preset)
    actual = param_shapes(model_config(preset))
    assert sorted(set(expected) - set(actual)) == []
    assert sorted(set(actual) - set(expected)) == []
    assert {key: shape for key, shape in actual.items() if expected[key] != shape} == {}


def test_model_1_ptm_listing_adds_exactly_the_pae_head(shared_reference):
    with_head = published_shapes(shared_reference, "model_1_ptm")
    without = published_shapes(shared_reference, "model_1")
    assert set(with_head) - set(without) == set(PAE_HEAD)


@pytest.fixture(scope="module")
def small_params():
    """Random parameters of the miniature model_1_ptm, in the official format (the parity fixture's)."""
    return flat_to_haiku(load_fixture("model_1_ptm")["params"])


def test_official_file_format_round_trips(tmp_path, small_params):
    path = tmp_path / "params_model_1_ptm.npz"
    save_params(path, small_params)
    with np.load(path, allow_pickle=False) as archive:
        keys = set(archive.files)
        assert all("//" in key for key in keys)
        stacked = archive["alphafold/alphafold_iteration/evoformer/evoformer_iteration/"
                          "msa_transition/transition1//weights"]
    assert stacked.shape[0] == small_config("model_1_ptm").embeddings_and_evoformer.evoformer_num_block
    assert keys == set(haiku_to_flat(small_params))
    loaded = load_params(path, small_config("model_1_ptm"))
    for key, array in haiku_to_flat(small_params).items():
        np.testing.assert_array_equal(haiku_to_flat(loaded)[key], array)


def test_init_is_seeded_random_and_complete():
    config = small_config("model_3").replace(trunk_only=True)
    first = haiku_to_flat(init_params(config, seed=3))
    again = haiku_to_flat(init_params(config, seed=3))
    other = haiku_to_flat(init_params(config, seed=4))
    assert {key: value.shape for key, value in first.items()} == param_shapes(config)
    key = "alphafold/alphafold_iteration/evoformer/preprocess_msa//weights"
    np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first[key], other[key])
    assert 0.1 < np.std(first[key]) * np.sqrt(first[key].shape[0]) < 2.0  # fan-in scaled
    # Stacked layers are initialised independently.
    stacked = first["alphafold/alphafold_iteration/evoformer/evoformer_iteration/msa_transition/transition1//weights"]
    assert not np.array_equal(stacked[0], stacked[1])
    # Without zero_init (the miniature's setting) even the last layer of each update is random.
    assert np.any(first["alphafold/alphafold_iteration/evoformer/evoformer_iteration/"
                        "msa_transition/transition2//weights"] != 0)


def test_flat_and_nested_forms_are_inverse():
    flat = {"a/b//weights": np.ones((2, 3)), "a/b//bias": np.zeros(3), "c//scale": np.ones(4)}
    nested = flat_to_haiku(flat)
    assert set(nested) == {"a/b", "c"}
    assert set(haiku_to_flat(nested)) == set(flat)
    with pytest.raises(ValueError, match="scope"):
        flat_to_haiku({"no_separator": np.ones(1)})


def test_misfit_parameters_are_named(small_params):
    config = small_config("model_1_ptm")
    flat = haiku_to_flat(small_params)
    missing_key = "alphafold/alphafold_iteration/evoformer/preprocess_1d//bias"
    misshapen_key = "alphafold/alphafold_iteration/evoformer/left_single//weights"
    flat.pop(missing_key)
    flat[misshapen_key] = np.zeros((3, 3), np.float32)
    flat["alphafold/alphafold_iteration/evoformer/stray//weights"] = np.zeros(1, np.float32)
    with pytest.raises(SnakefoldError) as error:
        check_params(flat_to_haiku(flat), config, source="test params")
    message = str(error.value)
    assert missing_key in message and misshapen_key in message and "stray" in message
    assert "test params" in message and "model_1_ptm" in message


def test_trunk_only_accepts_and_drops_the_other_parameters(tmp_path, small_params):
    path = tmp_path / "params.npz"
    save_params(path, small_params)
    trunk = load_params(path, small_config("model_1_ptm").replace(trunk_only=True))
    assert trunk and all(scope.startswith("alphafold/alphafold_iteration/evoformer/") for scope in trunk)


def test_unreadable_files_are_reported(tmp_path):
    with pytest.raises(SnakefoldError, match="does not exist"):
        load_params(tmp_path / "absent.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(SnakefoldError, match="broken.npz"):
        load_params(broken)
