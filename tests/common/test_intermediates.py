"""A damaged intermediate file is named, removed and left for its job to write again; no traceback."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import (
    read_intermediate_json,
    read_intermediate_npz,
    read_intermediate_text,
    seal,
    seal_path,
    seal_problem,
)


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
    with pytest.raises(SnakefoldError, match=rf"{outputs} \(the outputs\) is damaged: .*removed: run snakemake again"):
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


def _damage(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    elif how == "flip":
        data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "flip"])
def test_a_sealed_file_that_changed_is_found_when_the_dag_is_built(tmp_path, how):
    model = tmp_path / "unrelaxed.pdb"
    model.write_text("ATOM      1  N   MET A   1      11.104   6.134  -6.504  1.00 90.00           N\n" * 20)
    seal(model)
    assert seal_problem(model, trust_unchanged=True) is None and model.exists()
    _damage(model, how)
    expected = "its size is 790 bytes, not the 1580" if how == "truncate" else "its content is not what its job wrote"
    assert seal_problem(model, trust_unchanged=True).startswith(expected)


def test_a_file_without_its_seal_is_found_and_an_unchanged_one_is_not_read(tmp_path, monkeypatch):
    unsealed = tmp_path / "ranking.json"
    unsealed.write_text("{}")
    assert seal_problem(unsealed, trust_unchanged=True) == "it has no seal (the job that wrote it did not finish)"
    sealed = tmp_path / "scores.json"
    sealed.write_text("{}")
    seal(sealed)
    monkeypatch.setattr("snakefold.common.intermediates.file_sha256", lambda path: pytest.fail("hashed"))
    assert seal_problem(sealed, trust_unchanged=True) is None


def test_a_reader_hashes_a_sealed_file_even_when_size_and_time_are_unchanged(tmp_path):
    scores = tmp_path / "scores.json"
    scores.write_text('{"ptm": 0.50}')
    seal(scores)
    status = scores.stat()
    scores.write_text('{"ptm": 0.90}')  # a hand edit of the same size, its time put back
    os.utime(scores, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert seal_problem(scores, trust_unchanged=True) is None  # the quick check at DAG build trusts it...
    with pytest.raises(SnakefoldError, match=r"scores.json \(the scores\) is damaged: its content is not what"):
        read_intermediate_text(scores, "the scores")  # ...the reader does not
    assert not scores.exists() and not seal_path(scores).exists()
