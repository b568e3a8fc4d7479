"""Unpacking downloads: safe tar extraction, gunzip, member selection, divided mmCIF trees."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.install.unpack import flatten_mmcif_tree, unpack
from tests.download.conftest import tar_bytes


def _tar_with(tmp_path, *infos: tuple[tarfile.TarInfo, bytes]):
    path = tmp_path / "archive.tar"
    with tarfile.open(path, "w") as archive:
        for info, data in infos:
            info.size = len(data) if info.isfile() else 0
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _member(name: str, kind=tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_tar_gz_unpacks_into_the_layout(tmp_path):
    archive = tmp_path / "db.tar.gz"
    archive.write_bytes(tar_bytes({"db_a3m.ffdata": b"a3m", "db_a3m.ffindex": b"index", "sub/notes.txt": b"x"},
                                  compression="gz"))
    unpack(archive, "tar.gz", tmp_path / "out")
    assert (tmp_path / "out" / "db_a3m.ffdata").read_bytes() == b"a3m"
    assert (tmp_path / "out" / "sub" / "notes.txt").read_bytes() == b"x"


def test_tar_members_selects_and_requires_the_listed_members(tmp_path):
    archive = tmp_path / "foldseek.tar.gz"
    archive.write_bytes(tar_bytes({"pdb100_a3m.ffdata": b"a", "pdb100_a3m.ffindex": b"i", "other": b"o"}, "gz"))
    unpack(archive, "tar.gz", tmp_path / "out", members=("pdb100_a3m.ffdata", "pdb100_a3m.ffindex"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pdb100_a3m.ffdata", "pdb100_a3m.ffindex"]
    with pytest.raises(SnakefoldError, match="has no member"):
        unpack(archive, "tar.gz", tmp_path / "again", members=("pdb100_hhm.ffdata",))


@pytest.mark.parametrize("member, reason", [
    (_member("/etc/evil"), "absolute path"),
    (_member("../evil"), "'..' component"),
    (_member("ok/../../evil"), "'..' component"),
    (_member("link", tarfile.SYMTYPE, "/etc/passwd"), "absolute path '/etc/passwd'"),
    (_member("dir/link", tarfile.SYMTYPE, "../../outside"), "outside the archive's directory"),
    (_member("hard", tarfile.LNKTYPE, "../outside"), "outside the archive's directory"),
    (_member("dev", tarfile.CHRTYPE), "device or a FIFO"),
])
def test_unsafe_members_are_refused_by_name(tmp_path, member, reason):
    archive = _tar_with(tmp_path, (_member("fine.txt"), b"fine"), (member, b"evil"))
    with pytest.raises(SnakefoldError, match=reason) as error:
        unpack(archive, "tar", tmp_path / "out")
    assert member.name in str(error.value)
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


def test_links_inside_the_archive_are_allowed(tmp_path):
    archive = _tar_with(tmp_path, (_member("data/real.txt"), b"content"),
                        (_member("data/alias.txt", tarfile.SYMTYPE, "real.txt"), b""))
    unpack(archive, "tar", tmp_path / "out")
    assert (tmp_path / "out" / "data" / "alias.txt").read_bytes() == b"content"


def test_gzip_and_plain_files(tmp_path):
    compressed = tmp_path / "mgy_clusters.fa.gz"
    compressed.write_bytes(gzip.compress(b">seq\nMKV\n"))
    unpack(compressed, "gzip", tmp_path / "out")
    assert (tmp_path / "out" / "mgy_clusters.fa").read_bytes() == b">seq\nMKV\n"
    plain = tmp_path / "obsolete.dat"
    plain.write_text("LIST OF OBSOLETE COORDINATE ENTRIES\n")
    unpack(plain, "file", tmp_path / "out")
    assert (tmp_path / "out" / "obsolete.dat").read_text().startswith("LIST OF OBSOLETE")


def test_damaged_gzip_is_reported(tmp_path):
    compressed = tmp_path / "uniref90.fasta.gz"
    compressed.write_bytes(gzip.compress(b">a\nMKV\n" * 1000)[:-20])
    with pytest.raises(SnakefoldError, match="cannot decompress"):
        unpack(compressed, "gzip", tmp_path / "out")
    assert not (tmp_path / "out" / "uniref90.fasta").exists()


def test_divided_mmcif_tree_is_flattened_and_decompressed(tmp_path):
    tree = tmp_path / "raw"
    for entry in ("1abc", "2abd", "1xyz"):
        (tree / entry[1:3]).mkdir(parents=True, exist_ok=True)
        (tree / entry[1:3] / f"{entry}.cif.gz").write_bytes(gzip.compress(f"data_{entry}\n".encode()))
    assert flatten_mmcif_tree(tree, tmp_path / "mmcif_files") == 3
    assert (tmp_path / "mmcif_files" / "2abd.cif").read_text() == "data_2abd\n"
    with pytest.raises(SnakefoldError, match="no \\*.cif.gz"):
        flatten_mmcif_tree(tmp_path / "mmcif_files", tmp_path / "elsewhere")
