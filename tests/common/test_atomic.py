"""Atomic writes: complete on success, nothing (not even a temporary file) on failure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snakefold.common.atomic import (
    atomic_copy,
    atomic_dir,
    atomic_save_npz,
    atomic_write,
    atomic_write_json,
    atomic_write_text,
)


def test_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "first")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write("half of the second")
            raise RuntimeError("killed")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "x.json", {"plddt": float("nan")})
    assert list(tmp_path.iterdir()) == []
    atomic_write_json(tmp_path / "x.json", {"plddt": [1.5, 2]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"plddt": [1.5, 2]}


def test_npz_round_trip_without_pickle(tmp_path):
    arrays = {"msa": np.arange(12, dtype=np.int32).reshape(3, 4), "mask": np.ones(4, np.float32)}
    atomic_save_npz(tmp_path / "f.npz", arrays)
    with np.load(tmp_path / "f.npz", allow_pickle=False) as loaded:
        assert set(loaded.files) == {"msa", "mask"}
        np.testing.assert_array_equal(loaded["msa"], arrays["msa"])
    with pytest.raises(TypeError, match="object"):
        atomic_save_npz(tmp_path / "g.npz", {"names": np.array([b"a", None], dtype=object)})
    assert not (tmp_path / "g.npz").exists()


def test_copy_makes_an_independent_file(tmp_path):
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 3_000_000)
    atomic_copy(source, tmp_path / "out" / "b.bin")
    assert (tmp_path / "out" / "b.bin").read_bytes() == source.read_bytes()
    assert (tmp_path / "out" / "b.bin").stat().st_ino != source.stat().st_ino


def test_dir_appears_complete_or_not_at_all(tmp_path):
    target = tmp_path / "db"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as work:
            (work / "part").write_text("1")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(target) as work:
        (work / "a").write_text("1")
    with atomic_dir(target) as work:
        (work / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db"]
