"""A damaged intermediate file is named, removed and left for its job to write again; no traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import read_intermediate_json, read_intermediate_npz


@pytest.fixture
def outputs(tmp_path):
    path = tmp_path / "outputs.npz"
    np.savez_compressed(path, plddt=np.linspace(0, 100, 500), pae=np.ones((50, 50)))
    return path


def test_sound_files_are_read(outputs, tmp_path):
    assert read_intermediate_npz(outputs, "the outputs")["pae"].shape == (50, 50)
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"ptm": 0.5}))
    assert read_intermediate_json(scores, "the scores") == {"ptm": 0.5}


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_a_damaged_npz_is_named_and_removed(outputs, damage):
    data = bytearray(outputs.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = bytearray()
    outputs.write_bytes(bytes(data))
    with pytest.raises(SnakefoldError, match=rf"{outputs} \(the outputs\) is damaged .*removed: run snakemake again"):
        read_intermediate_npz(outputs, "the outputs")
    assert not outputs.exists()


def test_damaged_json_is_named_and_removed_and_a_missing_file_only_reported(tmp_path):
    scores = tmp_path / "scores.json"
    scores.write_text('{"ptm": 0.')
    with pytest.raises(SnakefoldError, match=r"\(the scores\) is damaged"):
        read_intermediate_json(scores, "the scores")
    assert not scores.exists()
    with pytest.raises(SnakefoldError, match=r"\(the scores\) is missing"):
        read_intermediate_json(scores, "the scores")
