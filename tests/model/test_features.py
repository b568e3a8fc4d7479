"""Feature processing: AlphaFold2's processed features from raw features, checked against hand-computed
values on tiny inputs, for determinism, shapes and padding, clustering and masked-MSA replacement."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from snakefold.common import residue_constants as rc
from snakefold.common.errors import SnakefoldError
from snakefold.features.synthetic import synthetic_raw_features
from snakefold.model.feature_processing import (
    PROCESSED_FEATURES,
    PROCESSED_TEMPLATE_FEATURES,
    assign_to_clusters,
    bucket_length,
    mask_msa,
    process_features,
)
from snakefold.model.hyperparameters import FeatureConfig, MaskedMsaConfig
from snakefold.model.presets import model_config

NO_MASKING = MaskedMsaConfig(replace_fraction=0.0)


def hhblits(text: str) -> list[int]:
    return [rc.HHBLITS_AA_TO_ID[letter] for letter in text]


def tiny_raw() -> dict[str, np.ndarray]:
    """Query ACDWG and two aligned sequences, with deletions."""
    return {
        "aatype": rc.sequence_to_onehot("ACDWG", rc.restype_order_with_x),
        "between_segment_residues": np.array([0, 0, 1, 0, 0], np.int32),
        "residue_index": np.arange(5, dtype=np.int32),
        "msa": np.array([hhblits("ACDWG"), hhblits("A-DWY"), hhblits("ACEW-")], np.int32),
        "deletion_matrix_int": np.array([[0, 0, 0, 0, 0], [0, 2, 0, 0, 0], [3, 0, 0, 0, 1]], np.int32),
    }


def scaled(deletions: float) -> float:
    return np.arctan(deletions / 3.0) * 2.0 / np.pi


def test_target_feat_is_segment_break_and_residue_type():
    features = process_features(tiny_raw(), FeatureConfig(max_msa_clusters=3, masked_msa=NO_MASKING,
                                                          residue_buckets=()), num_recycle=0, seed=0)
    target = features["target_feat"][0]
    assert target.shape == (5, 22)
    np.testing.assert_array_equal(target[:, 0], [0, 0, 1, 0, 0])
    # AlphaFold2 order: A=0, C=4, D=3, W=17, G=7; channel 1 + index.
    for position, index in enumerate([0, 4, 3, 17, 7]):
        expected = np.zeros(21)
        expected[index] = 1.0
        np.testing.assert_array_equal(target[position, 1:], expected)
    np.testing.assert_array_equal(features["aatype"][0], [0, 4, 3, 17, 7])


def test_msa_feat_channels_with_one_cluster():
    # One cluster: the query is its centre, both other sequences join it.
    config = FeatureConfig(max_msa_clusters=1, max_extra_msa=4, masked_msa=NO_MASKING, residue_buckets=())
    features = process_features(tiny_raw(), config, num_recycle=0, seed=0)
    msa_feat = features["msa_feat"][0]
    assert msa_feat.shape == (1, 5, 49)
    query_tokens = [0, 4, 3, 17, 7]
    for position, token in enumerate(query_tokens):
        assert msa_feat[0, position, token] == 1.0 and msa_feat[0, position, :23].sum() == 1.0
    np.testing.assert_array_equal(msa_feat[0, :, 23], 0.0)  # has deletion
    np.testing.assert_array_equal(msa_feat[0, :, 24], 0.0)  # scaled deletion count
    # Cluster profile: query + A-DWY + ACEW- (tokens in AlphaFold2 order; gap = 21), over 3 (+1e-6).
    members = [[0, 4, 3, 17, 7], [0, 21, 3, 17, 18], [0, 4, 6, 17, 21]]
    expected_profile = np.zeros((5, 23))
    for row in members:
        for position, token in enumerate(row):
            expected_profile[position, token] += 1.0
    np.testing.assert_allclose(msa_feat[0, :, 25:48], expected_profile / (3 + 1e-6), rtol=1e-6)
    mean_deletions = np.array([3.0, 2.0, 0.0, 0.0, 1.0]) / (3 + 1e-6)
    np.testing.assert_allclose(msa_feat[0, :, 48], scaled(mean_deletions), rtol=1e-6)
    # The extra MSA holds the two other sequences, in some order, with their deletion features.
    extra = features["extra_msa"][0][:2]
    assert sorted(map(tuple, extra.tolist())) == sorted(map(tuple, members[1:]))
    first = members[1:].index(extra[0].tolist())
    deletions = np.array([[0, 2, 0, 0, 0], [3, 0, 0, 0, 1]], np.float32)[first]
    np.testing.assert_array_equal(features["extra_has_deletion"][0][0], np.minimum(deletions, 1.0))
    np.testing.assert_allclose(features["extra_deletion_value"][0][0], scaled(deletions), rtol=1e-6)
    np.testing.assert_array_equal(features["extra_msa_mask"][0], [[1] * 5, [1] * 5, [0] * 5, [0] * 5])
    np.testing.assert_array_equal(features["extra_msa_row_mask"][0], [1, 1, 0, 0])


def test_msa_feat_deletion_channels_of_a_cluster_centre():
    config = FeatureConfig(max_msa_clusters=3, masked_msa=NO_MASKING, residue_buckets=())
    features = process_features(tiny_raw(), config, num_recycle=0, seed=1)
    true_msa = features["true_msa"][0]
    row = [tuple(r) for r in true_msa.tolist()].index((0, 4, 6, 17, 21))  # ACEW- with deletions 3 0 0 0 1
    msa_feat = features["msa_feat"][0, row]
    np.testing.assert_array_equal(msa_feat[:, 23], [1, 0, 0, 0, 1])
    np.testing.assert_allclose(msa_feat[:, 24], scaled(np.array([3, 0, 0, 0, 1.0])), rtol=1e-6)
    np.testing.assert_array_equal(features["true_msa"][0][0], [0, 4, 3, 17, 7])  # the query stays first
    np.testing.assert_array_equal(features["bert_mask"][0], 0.0)


def test_shapes_padding_and_recycling_dimension():
    raw = synthetic_raw_features(num_res=11, num_msa=30, num_templates=2, seed=0)
    config = FeatureConfig(max_msa_clusters=12, max_extra_msa=25, use_templates=True,
                           reduce_msa_clusters_by_max_templates=True, residue_buckets=(8, 16))
    features = process_features(raw, config, num_recycle=2, seed=0)
    assert set(features) == set(PROCESSED_FEATURES) | set(PROCESSED_TEMPLATE_FEATURES)
    expected = {
        "msa_feat": (3, 8, 16, 49), "target_feat": (3, 16, 22), "msa_mask": (3, 8, 16), "bert_mask": (3, 8, 16),
        "extra_msa": (3, 25, 16), "extra_msa_row_mask": (3, 25), "seq_mask": (3, 16), "seq_length": (3,),
        "template_aatype": (3, 4, 16), "template_all_atom_positions": (3, 4, 16, 37, 3),
        "template_pseudo_beta": (3, 4, 16, 3), "template_mask": (3, 4), "atom14_atom_exists": (3, 16, 14),
        "residx_atom37_to_atom14": (3, 16, 37),
    }
    for key, shape in expected.items():
        assert features[key].shape == shape, key
    np.testing.assert_array_equal(features["seq_length"], 11)
    np.testing.assert_array_equal(features["seq_mask"][0], [1] * 11 + [0] * 5)
    np.testing.assert_array_equal(features["msa_mask"][0][:, 11:], 0.0)
    np.testing.assert_array_equal(features["msa_row_mask"][0], 1.0)  # 8 clusters from 30 sequences
    np.testing.assert_array_equal(features["extra_msa_row_mask"][0], [1] * 22 + [0] * 3)
    np.testing.assert_array_equal(features["template_mask"][0], [1, 1, 0, 0])
    assert features["msa_feat"].dtype == np.float32 and features["extra_msa"].dtype == np.int32


def test_bucket_lengths():
    assert bucket_length(5, (8, 16)) == 8
    assert bucket_length(16, (8, 16)) == 16
    assert bucket_length(17, (8, 16)) == 128
    assert bucket_length(300, (8, 16)) == 384


def test_deterministic_for_a_seed_and_resampled_per_recycle():
    raw = synthetic_raw_features(num_res=10, num_msa=60, num_templates=0, seed=2)
    config = FeatureConfig(max_msa_clusters=8, max_extra_msa=20, residue_buckets=())
    first = process_features(raw, config, num_recycle=1, seed=7)
    again = process_features(raw, config, num_recycle=1, seed=7)
    other = process_features(raw, config, num_recycle=1, seed=8)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["msa_feat"], other["msa_feat"])
    assert not np.array_equal(first["msa_feat"][0], first["msa_feat"][1])
    fixed = process_features(raw, dataclasses.replace(config, resample_msa_in_recycling=False), num_recycle=1, seed=7)
    np.testing.assert_array_equal(fixed["msa_feat"][0], fixed["msa_feat"][1])


def test_each_extra_sequence_joins_its_nearest_centre():
    rs = np.random.RandomState(0)
    centres = rs.randint(0, 23, size=(6, 30))
    extra = rs.randint(0, 23, size=(700, 30))
    extra_mask = (rs.rand(700, 30) > 0.1).astype(np.float32)
    centre_mask = np.ones((6, 30), np.float32)
    assignment = assign_to_clusters(centres, centre_mask, extra, extra_mask)
    for row in range(700):
        counted = (extra[row] <= 20) & (extra_mask[row] > 0)
        identities = [np.sum((centre == extra[row]) & counted) for centre in centres]
        assert assignment[row] == int(np.argmax(identities)), row


def test_masked_msa_replacement_probabilities():
    rs = np.random.default_rng(0)
    msa = rs.integers(0, 21, size=(200, 50)).astype(np.int32)
    profile = np.full((50, 22), 1.0 / 22, np.float32)
    # Everything chosen, everything the mask token.
    all_masked, bert_mask = mask_msa(msa, profile, MaskedMsaConfig(0.0, 0.0, 0.0, replace_fraction=1.0), rs)
    np.testing.assert_array_equal(all_masked, 22)
    np.testing.assert_array_equal(bert_mask, 1.0)
    # Nothing chosen.
    untouched, bert_mask = mask_msa(msa, profile, MaskedMsaConfig(replace_fraction=0.0), rs)
    np.testing.assert_array_equal(untouched, msa)
    np.testing.assert_array_equal(bert_mask, 0.0)
    # AlphaFold2's default: 15 % chosen; of those 10 % uniform, 10 % profile, 10 % same, 70 % mask token.
    corrupted, bert_mask = mask_msa(msa, profile, MaskedMsaConfig(), rs)
    assert abs(bert_mask.mean() - 0.15) < 0.01
    chosen = bert_mask > 0
    assert abs(np.mean(corrupted[chosen] == 22) - 0.7) < 0.03
    np.testing.assert_array_equal(corrupted[~chosen], msa[~chosen])
    # Only uniform amino acids: never unknown, gap or mask.
    uniform, _ = mask_msa(msa, profile, MaskedMsaConfig(1.0, 0.0, 0.0, replace_fraction=1.0), rs)
    assert uniform.max() <= 19 and len(np.unique(uniform)) == 20


def test_masked_msa_is_on_by_default_as_in_alphafold2():
    assert model_config("model_3").features.masked_msa.replace_fraction == 0.15
    raw = synthetic_raw_features(num_res=20, num_msa=100, num_templates=0, seed=3)
    features = process_features(raw, model_config("model_3").features, num_recycle=0, seed=0)
    real = features["msa_mask"][0] > 0
    assert 0.1 < features["bert_mask"][0][real].mean() < 0.2
    tokens = np.argmax(features["msa_feat"][0][..., :23], axis=-1)
    assert np.any(tokens[real] == 22)
    np.testing.assert_array_equal(tokens[real & (features["bert_mask"][0] == 0)],
                                  features["true_msa"][0][real & (features["bert_mask"][0] == 0)])


def test_templates_top_four_in_alphafold_order_with_pseudo_beta():
    raw = synthetic_raw_features(num_res=8, num_msa=3, num_templates=6, seed=4)
    config = FeatureConfig(max_msa_clusters=5, use_templates=True, reduce_msa_clusters_by_max_templates=True,
                           masked_msa=NO_MASKING, residue_buckets=())
    features = process_features(raw, config, num_recycle=0, seed=0)
    np.testing.assert_array_equal(features["template_all_atom_positions"][0],
                                  raw["template_all_atom_positions"][:4])
    hhblits_letters = rc.HHBLITS_ALPHABET
    for t in range(4):
        letters = [hhblits_letters[i] for i in np.argmax(raw["template_aatype"][t], axis=-1)]
        expected = [rc.restype_order_with_x.get(letter, 21 if letter == "-" else 20) for letter in letters]
        np.testing.assert_array_equal(features["template_aatype"][0][t], expected)
        for i, letter in enumerate(letters):
            atom = "CA" if letter == "G" else "CB"
            np.testing.assert_array_equal(features["template_pseudo_beta"][0][t, i],
                                          raw["template_all_atom_positions"][t, i, rc.atom_order[atom]])
            assert features["template_pseudo_beta_mask"][0][t, i] == raw["template_all_atom_masks"][
                t, i, rc.atom_order[atom]]
    without = process_features(raw, model_config("model_3").features, num_recycle=0, seed=0)
    assert not any(key.startswith("template_") for key in without)


def test_atom_maps_follow_the_residue_types():
    features = process_features(tiny_raw(), FeatureConfig(residue_buckets=()), num_recycle=0, seed=0)
    glycine = 4  # ACDWG
    assert features["atom14_atom_exists"][0][glycine].sum() == 4
    assert features["atom37_atom_exists"][0][glycine].sum() == 4
    assert features["residx_atom14_to_atom37"][0][glycine][1] == rc.atom_order["CA"]
    assert features["residx_atom37_to_atom14"][0][glycine][rc.atom_order["O"]] == 3


def test_bad_raw_features_are_reported():
    raw = tiny_raw()
    raw["msa"] = raw["msa"][:, :4]
    with pytest.raises(SnakefoldError, match="my_features.npz.*'msa' has shape"):
        process_features(raw, FeatureConfig(), num_recycle=0, seed=0, source="my_features.npz")
    raw = tiny_raw()
    del raw["msa"]
    with pytest.raises(SnakefoldError, match="lack 'msa'"):
        process_features(raw, FeatureConfig(), num_recycle=0, seed=0)
    with pytest.raises(SnakefoldError, match="template_aatype"):
        process_features(tiny_raw(), FeatureConfig(use_templates=True), num_recycle=0, seed=0)
