"""Installing one item (parameter set or database) into its directory, and telling whether it is intact.

:func:`install_item` fetches every source of an item (resumable and verified, :mod:`snakefold.install.fetch`)
into ``<directory>.download/``, unpacks them all into a temporary directory beside ``directory``, checks
that every file of the item's layout is there, writes the item's install record, and only then puts the
result in place: when ``directory`` does not exist yet the temporary directory is renamed onto it, so the
whole item appears at once; when it exists (two databases share ``pdb_mmcif/``, say) each unpacked entry
is renamed into it and the install record comes last. Nothing else in ``directory`` is touched. A failure
at any step leaves ``directory`` as it was and keeps the verified downloads, so the next run neither
downloads them again nor sees a half-installed item. The downloads are deleted once installed.

The install record, ``<directory>/.snakefold-install-<item>.json``, lists the sources (URL, size, SHA-256)
and every file of the layout with its size (and its SHA-256 for parameter sets), so :func:`check_item` can
later tell an intact item from a truncated or replaced one without the network.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit
from urllib.request import url2pathname

from snakefold.common.atomic import atomic_write_json, fsync_directory
from snakefold.common.errors import SnakefoldError
from snakefold.common.hashing import file_sha256
from snakefold.install.fetch import fetch, human_bytes
from snakefold.install.manifest import Item, Source, source_url
from snakefold.install.unpack import unpack
from snakefold.tools.base import run_tool

LOG = logging.getLogger("snakefold.download")

RECORD_PREFIX = ".snakefold-install-"

#: The states of an item in its directory.
INSTALLED, UNVERIFIED, MISSING, DAMAGED = "installed", "present (not installed by snakefold)", "missing", "damaged"


@dataclass
class ItemStatus:
    """What :func:`check_item` found: a state and, unless installed, the problems (one sentence each)."""

    state: str
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Installed:
    """The outcome of :func:`install_item`: the state found or reached, and the bytes downloaded for it."""

    state: str
    directory: Path
    transferred: int


def record_path(directory: str | Path, item_name: str) -> Path:
    return Path(directory) / f"{RECORD_PREFIX}{item_name}.json"




def read_record(path: Path) -> dict | None:
    """An install record (None when there is none or it cannot be read)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("files"), dict) else None


def recorded_files(directory: str | Path) -> dict[str, dict]:
    """Every file the install records in ``directory`` list, by name relative to it (size, maybe SHA-256)."""
    files: dict[str, dict] = {}
    for path in sorted(Path(directory).glob(f"{RECORD_PREFIX}*.json")):
        files.update((read_record(path) or {}).get("files", {}))
    return files


def _describe_layout(item: Item, root: Path) -> dict[str, dict]:
    described = {}
    for name in item.files:
        path = root / name
        if path.is_dir():
            described[name] = {"entries": sum(1 for _ in path.iterdir())}
        else:
            entry = {"size": path.stat().st_size}
            if item.hash_files:
                entry["sha256"] = file_sha256(path)
            described[name] = entry
    return described


def check_item(item: Item, directory: str | Path, *, deep: bool = False) -> ItemStatus:
    """Is ``item`` intact in ``directory``? Sizes are compared with its install record; ``deep`` also
    re-computes the SHA-256 of every file the record has one for."""
    directory = Path(directory)
    hint = "run `snakemake download` with your config to install it"
    if not directory.is_dir():
        return ItemStatus(MISSING, [f"{item.label}: the directory {directory} does not exist; {hint}"])
    missing = [name for name in item.files if not (directory / name).exists()]
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        return ItemStatus(MISSING, [f"{item.label}: {shown} missing in {directory}; {hint}"])
    record = read_record(record_path(directory, item.name))
    if record is None:
        return ItemStatus(UNVERIFIED)
    problems = []
    for name in item.files:
        path, recorded = directory / name, record["files"].get(name, {})
        if "size" in recorded and path.is_file() and path.stat().st_size != recorded["size"]:
            problems.append(f"{item.label}: {path} has {path.stat().st_size} bytes but {recorded['size']} "
                            f"were installed; it is truncated or was replaced. Delete it and {hint} again")
        elif deep and "sha256" in recorded and path.is_file() and file_sha256(path) != recorded["sha256"]:
            problems.append(f"{item.label}: the SHA-256 of {path} differs from the one recorded at install "
                            f"time; it is damaged. Delete it and {hint} again")
        elif "entries" in recorded and path.is_dir() and not any(path.iterdir()):
            problems.append(f"{item.label}: the directory {path} is empty; delete it and {hint} again")
    return ItemStatus(DAMAGED, problems) if problems else ItemStatus(INSTALLED)


def _mirror_tree(url: str, tree: Path, log_path: Path) -> Path:
    """Mirror an rsync:// tree (or a file:// directory, a site's own copy) into ``tree`` with rsync, which
    continues where an interrupted run stopped and reads RSYNC_PROXY for a proxy."""
    tree.mkdir(parents=True, exist_ok=True)
    origin = url2pathname(urlsplit(url).path) if url.startswith("file://") else url
    LOG.info("mirroring %s into %s with rsync (its output goes to %s)", url, tree, log_path)
    run_tool("rsync", ["rsync", "--recursive", "--times", "--compress", "--delete", "--info=stats1",
                       origin.rstrip("/") + "/", f"{tree}/"], log_path, timeout=7 * 24 * 3600.0)
    return tree




def _move_into_place(staging: Path, directory: Path, record_name: str) -> None:
    """Rename ``staging`` onto ``directory``, or, when that exists, each of its entries (the record last)."""
    try:
        os.rename(staging, directory)
        fsync_directory(directory.parent)
        return
    except OSError:
        if not directory.is_dir():
            raise
    (directory / record_name).unlink(missing_ok=True)
    replaced = Path(tempfile.mkdtemp(prefix=".replaced-", dir=staging))
    for entry in sorted(staging.iterdir()):
        if entry.name == record_name or entry == replaced:
            continue
        target = directory / entry.name
        if target.is_dir() and not target.is_symlink():
            os.rename(target, replaced / entry.name)
        os.replace(entry, target)
    os.replace(staging / record_name, directory / record_name)
    fsync_directory(directory)


def _fetch_sources(item: Item, downloads: Path, urls, mirror, log_path: Path,
                   fetch_options) -> tuple[list[tuple[Source, Path, dict]], int]:
    fetched: list[tuple[Source, Path, dict]] = []
    transferred = 0
    for source in item.sources:
        url = source_url(source, urls, mirror)
        if source.is_rsync:
            fetched.append((source, _mirror_tree(url, downloads / source.file_name, log_path), {"url": url}))
            continue
        result = fetch(url, downloads / source.file_name, size=source.size, sha256=source.sha256,
                       what=item.label, **fetch_options)
        transferred += result.transferred
        fetched.append((source, result.path, {"url": url, "size": result.size, "sha256": result.sha256}))
    return fetched, transferred


def _discard_downloads(downloads: Path, fetched: list[tuple[Source, Path, dict]]) -> None:
    for _, path, _ in fetched:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    try:
        downloads.rmdir()
    except OSError:
        pass  # another item sharing the directory still has its downloads there


def install_item(item: Item, directory: str | Path, *, urls: Mapping[str, str] | None = None,
                 mirror: str | None = None, keep_downloads: bool = False, log_path: str | Path | None = None,
                 **fetch_options) -> Installed:
    """Download, verify and unpack ``item`` into ``directory`` unless it is already there (module doc).

    ``urls`` and ``mirror`` redirect sources (:func:`snakefold.install.manifest.source_url`); ``log_path``
    receives the output of external tools (rsync); ``fetch_options`` go to :func:`fetch`.
    """
    directory = Path(directory)
    status = check_item(item, directory)
    if status.state == INSTALLED:
        LOG.info("%s is installed in %s and intact; nothing to download", item.label, directory)
        return Installed(INSTALLED, directory, 0)
    if status.state == UNVERIFIED:
        LOG.info("%s: every file of its layout is in %s, installed without snakefold (not verified); "
                 "nothing to download. Delete those files to have snakefold download it.", item.label, directory)
        return Installed(UNVERIFIED, directory, 0)
    downloads = directory.with_name(directory.name + ".download")
    downloads.mkdir(parents=True, exist_ok=True)
    log_path = Path(log_path) if log_path else downloads / f"{item.name}.tools.log"
    fetched, transferred = _fetch_sources(item, downloads, urls, mirror, log_path, fetch_options)
    record_name = record_path(directory, item.name).name
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.{item.name}.tmp-", dir=directory.parent))
    try:
        for source, path, _ in fetched:
            LOG.info("%s: unpacking %s (%s)", item.label, path.name, source.format)
            unpack(path, source.format, staging, name=source.name, members=source.members)
        missing = [name for name in item.files if not (staging / name).exists()]
        if missing:
            raise SnakefoldError(f"{item.label}: the downloaded files did not yield {', '.join(missing)}, which "
                                 f"{item.origin} lists; nothing was installed. The source may have changed: "
                                 f"check the entry's URL and file list.")
        atomic_write_json(staging / record_name, {
            "item": item.name, "kind": item.kind,
            "installed": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "sources": [{"file": source.file_name, **facts} for source, _, facts in fetched],
            "files": _describe_layout(item, staging),
        })
        os.chmod(staging, 0o755)
        _move_into_place(staging, directory, record_name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not keep_downloads:
        _discard_downloads(downloads, fetched)
    LOG.info("%s installed in %s (%s downloaded now)", item.label, directory, human_bytes(transferred))
    return Installed(INSTALLED, directory, transferred)
