"""Unpacking a downloaded file into a directory: plain copy, gunzip, tar (safe), divided mmCIF trees.

Formats (the ``format`` of a download source):

* ``file``: the file itself, under ``name`` (a hard link when the filesystem allows, else a copy);
* ``gzip``: decompressed into ``name`` (by default the file name without ``.gz``); when an earlier source of
  the same item already unpacked to that name, appended to it, so sources are concatenated in their order
  (UniProt: TrEMBL, then Swiss-Prot, as AlphaFold2 installs it);
* ``tar``, ``tar.gz``: the archive's members, or only the ``members`` listed, in one pass over the
  stream. Every member is checked before it is written: an absolute path, a ``..`` component, a link
  pointing outside the target, a device or a FIFO is refused with the member's name (and extraction also
  runs with tarfile's ``data`` filter);
* ``mmcif-divided``: a tree of ``<xy>/<id>.cif.gz`` files, as the PDB distributes it, gunzipped into one
  flat directory ``name`` of ``<id>.cif`` files.

The caller unpacks into a fresh temporary directory and renames it into place when everything succeeded
(:func:`snakefold.install.item.install_item`), so nothing here needs to be atomic on its own.
"""

from __future__ import annotations

import gzip
import logging
import os
import posixpath
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from snakefold.common.errors import SnakefoldError
from snakefold.install.fetch import human_bytes

LOG = logging.getLogger("snakefold.download")

FORMATS = ("file", "gzip", "tar", "tar.gz", "mmcif-divided")
COPY_BYTES = 1 << 22


def default_name(file_name: str, fmt: str) -> str:
    """What a downloaded file is called once unpacked (for ``file`` and ``gzip``)."""
    if fmt == "gzip" and file_name.endswith(".gz"):
        return file_name[: -len(".gz")]
    return file_name


def _place_file(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


def gunzip(source: Path, destination: Path, append: bool = False) -> None:
    try:
        with gzip.open(source, "rb") as compressed, open(destination, "ab" if append else "wb") as plain:
            shutil.copyfileobj(compressed, plain, COPY_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        destination.unlink(missing_ok=True)
        raise SnakefoldError(f"cannot decompress {source}: {error}; delete it and download it again") from error


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why extracting ``member`` could write outside the target directory (None when it is safe)."""
    name = member.name
    path = PurePosixPath(name)
    if name.startswith("/") or path.is_absolute():
        return "has an absolute path"
    if ".." in path.parts:
        return "has a '..' component"
    if member.isdev() or member.isfifo():
        return "is a device or a FIFO"
    if member.issym() or member.islnk():
        link = member.linkname
        if link.startswith("/"):
            return f"is a link to the absolute path '{link}'"
        base = posixpath.dirname(name) if member.issym() else ""
        resolved = posixpath.normpath(posixpath.join(base, link))
        if resolved == ".." or resolved.startswith("../"):
            return f"is a link to '{link}', outside the archive's directory"
    return None


def untar(source: Path, target: Path, members: tuple[str, ...] | None = None) -> None:
    """Extract ``source`` (any compression tarfile knows) into ``target`` in one pass over the stream.

    Reading the archive as a stream decompresses it once, however large. Each member is checked before
    it is written; an unsafe one stops the unpacking (the caller discards the temporary directory).
    """
    wanted = None if members is None else set(members)
    extracted: set[str] = set()
    try:
        with tarfile.open(source, "r|*") as archive:
            for member in archive:
                problem = member_problem(member)
                if problem is not None:
                    raise SnakefoldError(f"the archive {source} is unsafe to unpack: its member "
                                         f"'{member.name}' {problem}; nothing from it was installed")
                name = PurePosixPath(member.name).as_posix()
                if wanted is not None and name not in wanted:
                    continue
                if member.isfile() and member.size >= 100_000_000:
                    LOG.info("unpacking %s (%s) from %s", name, human_bytes(member.size), source.name)
                archive.extract(member, target, filter="data")
                extracted.add(name)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise SnakefoldError(f"cannot unpack {source}: {error}; delete it and download it again") from error
    if wanted is not None and wanted - extracted:
        raise SnakefoldError(f"the archive {source} has no member(s) {', '.join(sorted(wanted - extracted))}; "
                             f"it is not the archive the listing describes")
    LOG.info("unpacked %d member(s) of %s", len(extracted), source.name)


def flatten_mmcif_tree(tree: Path, target: Path) -> int:
    """Gunzip every ``*.cif.gz`` under ``tree`` into ``target/<id>.cif``; returns how many were written."""
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for compressed in sorted(tree.rglob("*.cif.gz")):
        plain = target / compressed.name[: -len(".gz")]
        if plain.exists():
            raise SnakefoldError(f"two mmCIF files named {plain.name} in {tree}; the mirror's tree is not a "
                                 f"divided mmCIF tree")
        gunzip(compressed, plain)
        count += 1
        if count % 20000 == 0:
            LOG.info("decompressed %d mmCIF files", count)
    if count == 0:
        raise SnakefoldError(f"no *.cif.gz file under {tree}; the mirror did not deliver a divided mmCIF tree")
    LOG.info("decompressed %d mmCIF files into %s", count, target)
    return count


def unpack(source: Path, fmt: str, target: Path, *, name: str | None = None,
           members: tuple[str, ...] | None = None) -> None:
    """Unpack ``source`` (a file, or a directory for ``mmcif-divided``) into the directory ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    if fmt == "file":
        _place_file(source, target / (name or source.name))
    elif fmt == "gzip":
        destination = target / (name or default_name(source.name, fmt))
        gunzip(source, destination, append=destination.exists())
    elif fmt in ("tar", "tar.gz"):
        untar(source, target, members)
    elif fmt == "mmcif-divided":
        flatten_mmcif_tree(source, target / (name or "mmcif_files"))
    else:
        raise SnakefoldError(f"unknown download format {fmt!r}: use one of {', '.join(FORMATS)}")
