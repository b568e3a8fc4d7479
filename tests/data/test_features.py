"""The raw feature dict: AlphaFold2's sequence features, zero templates, and .npz files without pickle."""

from __future__ import annotations

import numpy as np
import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.features.raw import (
    RAW_FEATURES,
    check_raw_features,
    decode,
    empty_template_features,
    load_features,
    save_features,
    sequence_features,
)
from snakefold.msa.features import make_msa_features
from snakefold.msa.formats import parse_a3m


def raw_features(sequence="MKVXA", a3m=">q\nMKVXA\n>h\nMkKV-A\n"):
    return {**sequence_features(sequence, "my target"), **make_msa_features([parse_a3m(a3m)]),
            **empty_template_features(len(sequence))}


def test_sequence_features_follow_alphafold2():
    features = sequence_features("ARNXU", "query description")
    # AlphaFold2 order ARNDCQEGHILKMFPSTWYV, then X; anything else (U here) is X.
    assert features["aatype"].shape == (5, 21) and features["aatype"].dtype == np.int32
    assert features["aatype"].argmax(axis=1).tolist() == [0, 1, 2, 20, 20]
    assert features["aatype"].sum() == 5
    assert features["residue_index"].tolist() == [0, 1, 2, 3, 4]
    assert features["seq_length"].tolist() == [5] * 5
    assert features["between_segment_residues"].tolist() == [0] * 5
    assert decode(features["sequence"]) == ["ARNXU"]
    assert decode(features["domain_name"]) == ["query description"]


def test_zero_templates_have_full_shapes():
    templates = empty_template_features(7)
    assert templates["template_aatype"].shape == (0, 7, 22)
    assert templates["template_all_atom_masks"].shape == (0, 7, 37)
    assert templates["template_all_atom_positions"].shape == (0, 7, 37, 3)
    assert templates["template_sum_probs"].shape == (0, 1)
    assert templates["template_domain_names"].dtype.kind == "S"


def test_npz_round_trip_without_pickle(tmp_path):
    features = raw_features()
    features["domain_name"] = np.array(["object strings are stored as bytes"], dtype=object)
    path = tmp_path / "features.npz"
    save_features(path, features)
    with np.load(path, allow_pickle=False) as archive:
        assert set(archive.files) == set(RAW_FEATURES)
        assert archive["domain_name"].dtype.kind == "S"
    loaded = load_features(path)
    check_raw_features(loaded)
    np.testing.assert_array_equal(loaded["msa"], features["msa"])
    np.testing.assert_array_equal(loaded["deletion_matrix_int"], [[0] * 5, [0, 1, 0, 0, 0]])
    assert decode(loaded["domain_name"]) == ["object strings are stored as bytes"]


def test_check_names_a_wrong_dtype_a_missing_key_and_inconsistent_sizes():
    features = raw_features()
    check_raw_features(features)
    with pytest.raises(SnakefoldError, match="'msa' has dtype float32"):
        check_raw_features({**features, "msa": features["msa"].astype(np.float32)})
    with pytest.raises(SnakefoldError, match="missing raw feature"):
        check_raw_features({key: value for key, value in features.items() if key != "num_alignments"})
    with pytest.raises(SnakefoldError, match="'deletion_matrix_int' has shape"):
        check_raw_features({**features, "deletion_matrix_int": features["deletion_matrix_int"][:1]})


def test_unreadable_feature_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(SnakefoldError, match="broken.npz: cannot read the feature file"):
        load_features(path)
