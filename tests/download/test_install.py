"""Installing a parameter set from a local server: layout, atomicity, second run, and the integrity checks."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.install.check import param_file_problems
from snakefold.install.item import DAMAGED, INSTALLED, MISSING, UNVERIFIED, check_item, install_item, record_path
from snakefold.install.manifest import Source, load_manifest
from tests.download.conftest import params_members, tar_bytes

FAST = dict(retry_wait=0.0, timeout=10.0, progress_interval=0.0)
SET = "alphafold_params_2022-12-06"


@pytest.fixture
def params_set(file_server):
    """The manifest's parameter set, its source served by the local server (with its true size and SHA-256)."""
    item = load_manifest()[SET]
    archive = tar_bytes(params_members(item.files))
    file_server.files[f"/{SET}.tar"] = archive
    source = Source(url=file_server.url(f"/{SET}.tar"), format="tar", size=len(archive),
                    sha256=hashlib.sha256(archive).hexdigest())
    return dataclasses.replace(item, sources=(source,))


def test_install_yields_the_layout_atomically_and_a_second_run_downloads_nothing(params_set, file_server, tmp_path):
    directory = tmp_path / "models" / SET
    installed = install_item(params_set, directory, **FAST)
    assert installed.state == INSTALLED and installed.transferred == params_set.sources[0].size
    record_file = record_path(directory, SET)
    assert sorted(p.name for p in directory.iterdir()) == sorted([*params_set.files, record_file.name])
    record = json.loads(record_file.read_text())
    assert record["sources"][0]["sha256"] == params_set.sources[0].sha256
    assert set(record["files"]) == set(params_set.files) and "sha256" in record["files"]["params_model_1.npz"]
    assert not (tmp_path / "models" / f"{SET}.download").exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == [SET]  # no temporary directory left

    again = install_item(params_set, directory, **FAST)
    assert again.state == INSTALLED and again.transferred == 0 and len(file_server.requests) == 1


def test_archive_without_a_listed_file_installs_nothing_and_keeps_the_download(params_set, file_server, tmp_path):
    members = params_members(params_set.files)
    del members["params_model_3_ptm.npz"]
    archive = tar_bytes(members)
    file_server.files[f"/{SET}.tar"] = archive
    incomplete = dataclasses.replace(params_set, sources=(dataclasses.replace(
        params_set.sources[0], size=len(archive), sha256=hashlib.sha256(archive).hexdigest()),))
    directory = tmp_path / "models" / SET
    with pytest.raises(SnakefoldError, match="did not yield params_model_3_ptm.npz"):
        install_item(incomplete, directory, **FAST)
    assert not directory.exists()
    assert (tmp_path / "models" / f"{SET}.download" / f"{SET}.tar").stat().st_size == len(archive)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [f"{SET}.download"]


def test_checksum_mismatch_installs_nothing(params_set, file_server, tmp_path):
    wrong = dataclasses.replace(params_set, sources=(dataclasses.replace(params_set.sources[0], sha256="0" * 64),))
    with pytest.raises(SnakefoldError, match="SHA-256 .* but 0{64} was expected; the file was deleted"):
        install_item(wrong, tmp_path / SET, **FAST)
    assert not (tmp_path / SET).exists()
    assert list((tmp_path / f"{SET}.download").iterdir()) == []


def test_installing_into_a_directory_with_other_files_leaves_them_alone(params_set, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "manifest.yaml").write_text("precious\n")
    (models / "params_model_1.npz").write_bytes(b"stale partial copy")
    install_item(params_set, models, **FAST)
    assert (models / "manifest.yaml").read_text() == "precious\n"
    assert check_item(params_set, models, deep=True).state == INSTALLED
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary directory left


def test_check_item_tells_installed_missing_damaged_and_unverified(params_set, tmp_path):
    directory = tmp_path / SET
    assert check_item(params_set, directory).state == MISSING
    install_item(params_set, directory, **FAST)
    assert check_item(params_set, directory, deep=True).state == INSTALLED

    target = directory / "params_model_2.npz"
    original = target.read_bytes()
    target.write_bytes(original[:-10])
    status = check_item(params_set, directory)
    assert status.state == DAMAGED and "params_model_2.npz" in status.problems[0] and "truncated" in status.problems[0]

    target.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))  # same size, other content
    assert check_item(params_set, directory).state == INSTALLED
    assert check_item(params_set, directory, deep=True).state == DAMAGED

    record_path(directory, SET).unlink()
    assert check_item(params_set, directory).state == UNVERIFIED
    (directory / "LICENSE").unlink()
    status = check_item(params_set, directory)
    assert status.state == MISSING and "LICENSE missing" in status.problems[0]


def test_check_params_finds_missing_truncated_and_unreadable_files(params_set, tmp_path):
    directory = tmp_path / SET
    presets = ["model_1", "model_1_ptm", "model_5_ptm"]
    assert param_file_problems(directory, presets) == [
        f"the parameter directory {directory} does not exist; run `snakemake download --configfile <your config>` "
        f"to install it"]
    install_item(params_set, directory, **FAST)
    assert param_file_problems(directory, presets, deep=True) == []

    (directory / "params_model_1.npz").unlink()
    truncated = directory / "params_model_1_ptm.npz"
    truncated.write_bytes(truncated.read_bytes()[:100])
    problems = param_file_problems(directory, presets)
    assert len(problems) == 2
    assert "params_model_1.npz (model preset 'model_1') is missing" in problems[0]
    assert "params_model_1_ptm.npz (model preset 'model_1_ptm') has 100 bytes" in problems[1]

    record_path(directory, SET).unlink()  # installed by hand: only the archive's structure can be checked
    problems = param_file_problems(directory, ["model_1_ptm", "model_5_ptm"])
    assert len(problems) == 1 and "is not a readable .npz archive" in problems[0]
