"""What can be downloaded: items (parameter sets, databases), their sources, and the layout they yield.

An :class:`Item` is one thing installed into one directory: the AlphaFold2 parameter set
``alphafold_params_2022-12-06`` into ``models/alphafold_params_2022-12-06/``, or a sequence database into
its directory under ``databases.dir``. It has one or more :class:`Source` files (URL, format, and the size
and SHA-256 where published) and the list of ``files`` it must yield, relative to its directory: the
layout that tells an installed item from a missing or partial one.

Parameter sets are listed in ``models/manifest.yaml`` (read by :func:`load_manifest`, checked field by
field with errors that name the entry); databases under the ``download:`` key of their entry in the
database catalog (``snakefold/install/databases.yaml``, read by :func:`database_item`), whose format gives
the layout. A mirror replaces a source's
URL without changing what the file must be (:func:`source_url`): the config's ``download.urls`` maps a
source's file name (or its full URL) to another URL, and ``download.mirror`` is a base URL under which
every file is found by its name.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml

from snakefold.common.errors import SnakefoldError
from snakefold.install.databases import CATALOG_PATH, catalog, database_files
from snakefold.install.unpack import FORMATS

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_MANIFEST = REPOSITORY / "models" / "manifest.yaml"

_SOURCE_KEYS = {"url", "format", "size", "sha256", "name", "members"}
_ITEM_KEYS = {"description", "license", "license_url", "citation", "download_size", "installed_size",
              "sources", "files"}
#: Formats that unpack to one file or directory, which takes the name the layout gives it.
_SINGLE_OUTPUT_FORMATS = ("file", "gzip", "mmcif-divided")


@dataclass(frozen=True)
class Source:
    """One downloaded file (or, for an ``rsync://`` URL, one mirrored tree) and how it unpacks."""

    url: str
    format: str
    size: int | None = None
    sha256: str | None = None
    name: str | None = None
    members: tuple[str, ...] | None = None

    @property
    def file_name(self) -> str:
        """The name the download is stored under: the last component of the URL's path."""
        return PurePosixPath(urlsplit(self.url).path.rstrip("/")).name

    @property
    def is_rsync(self) -> bool:
        """Fetched with rsync: a tree (its mirror may be an rsync:// URL or a file:// directory)."""
        return self.format == "mmcif-divided"


@dataclass(frozen=True)
class Item:
    """One parameter set or database: where it comes from and what it yields in its directory."""

    kind: str
    name: str
    sources: tuple[Source, ...]
    files: tuple[str, ...]
    origin: str
    description: str = ""
    license: str | None = None
    license_url: str | None = None
    download_size: str | None = None
    installed_size: str | None = None
    hash_files: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'"


def _source(raw: Any, where: str) -> Source:
    if not isinstance(raw, Mapping):
        raise SnakefoldError(f"{where}: a source must be a mapping with 'url' and 'format'")
    unknown = set(raw) - _SOURCE_KEYS
    if unknown:
        raise SnakefoldError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(_SOURCE_KEYS))})")
    url, fmt = raw.get("url"), raw.get("format")
    if not isinstance(url, str) or not re.match(r"^(https?|ftp|file|rsync)://", url):
        raise SnakefoldError(f"{where}: 'url' must be an http(s)://, ftp://, file:// or rsync:// URL, not {url!r}")
    if fmt not in FORMATS:
        raise SnakefoldError(f"{where}: 'format' must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if (fmt == "mmcif-divided") != url.startswith("rsync://"):
        raise SnakefoldError(f"{where}: the format 'mmcif-divided' goes with an rsync:// URL, and only it "
                             f"(a mirror given in download.urls may be a file:// directory)")
    size, sha256 = raw.get("size"), raw.get("sha256")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise SnakefoldError(f"{where}: 'size' must be a number of bytes, not {size!r}")
    if sha256 is not None and (not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256)):
        raise SnakefoldError(f"{where}: 'sha256' must be 64 hexadecimal digits, not {sha256!r}")
    members = raw.get("members")
    if members is not None and (not isinstance(members, list) or not all(isinstance(m, str) for m in members)):
        raise SnakefoldError(f"{where}: 'members' must be a list of archive member names")
    return Source(url=url, format=fmt, size=size, sha256=sha256.lower() if sha256 else None,
                  name=raw.get("name"), members=tuple(members) if members is not None else None)


def item_from_mapping(kind: str, name: str, raw: Any, origin: str, *, files: list[str] | None = None,
                      description: str | None = None, hash_files: bool = False) -> Item:
    """Build and check one item from its manifest or catalog entry; errors name ``origin`` and the entry.

    ``files`` (the layout) and ``description`` are taken from the entry unless given.
    """
    where = f"{origin}, {kind} '{name}'"
    if not isinstance(raw, Mapping):
        raise SnakefoldError(f"{where}: the entry must be a mapping")
    known = _ITEM_KEYS - ({"files", "description"} if files is not None else set())
    unknown = set(raw) - known
    if unknown:
        raise SnakefoldError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(known))})")
    sources = raw.get("sources")
    if not isinstance(sources, list) or not sources:
        raise SnakefoldError(f"{where}: 'sources' must list at least one source")
    files = raw.get("files") if files is None else files
    if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
        raise SnakefoldError(f"{where}: 'files' must list the files the item yields in its directory")
    for file in files:
        if PurePosixPath(file).is_absolute() or ".." in PurePosixPath(file).parts:
            raise SnakefoldError(f"{where}: the file {file!r} must be a path inside the item's directory")
    parsed = tuple(_source(source, f"{where}, source {index + 1}") for index, source in enumerate(sources))
    names = [source.file_name for source in parsed]
    if len(set(names)) != len(names):
        raise SnakefoldError(f"{where}: two sources have the same file name; each needs its own")
    return Item(kind=kind, name=name, sources=parsed, files=tuple(files), origin=origin,
                description=" ".join(str(raw.get("description", "") if description is None else description).split()),
                license=raw.get("license"), license_url=raw.get("license_url"),
                download_size=raw.get("download_size"), installed_size=raw.get("installed_size"),
                hash_files=hash_files)


def load_manifest(path: str | Path | None = None) -> dict[str, Item]:
    """The parameter sets of a manifest (``models/manifest.yaml`` by default), by name."""
    path = Path(path) if path else DEFAULT_MANIFEST
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except OSError as error:
        raise SnakefoldError(f"cannot read the parameter manifest {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise SnakefoldError(f"the parameter manifest {path} is not valid YAML: {error}") from error
    sets = raw.get("parameter_sets") if isinstance(raw, Mapping) else None
    if not isinstance(sets, Mapping) or not sets:
        raise SnakefoldError(f"the parameter manifest {path} must have a 'parameter_sets' mapping")
    return {str(name): item_from_mapping("parameter set", str(name), entry, str(path), hash_files=True)
            for name, entry in sets.items()}


def database_item(name: str, path: str | Path) -> tuple[Item, Path] | None:
    """Catalog database ``name`` to be installed at ``path`` (as the config sets it): the item and its directory.

    The layout is the catalog format's files at ``path``, relative to its directory; a source that unpacks
    to a single file or directory (a FASTA file, obsolete.dat, the mmCIF directory) takes the name ``path``
    gives it. None when the catalog lists no download for the database.
    """
    entry = catalog()[name]
    raw = entry.extra.get("download")
    if raw is None:
        return None
    directory = Path(path).parent
    layout = [Path(file).relative_to(directory).as_posix() for file in database_files(entry.format, path)]
    item = item_from_mapping("database", name, raw, str(CATALOG_PATH), files=layout,
                             description=entry.description)
    if len(layout) == 1:
        item = dataclasses.replace(item, sources=tuple(
            dataclasses.replace(source, name=layout[0]) if source.format in _SINGLE_OUTPUT_FORMATS and
            source.name is None else source for source in item.sources))
    return item, directory


def params_file(preset: str) -> str:
    """The file of one model preset in a parameter set, e.g. ``params_model_1_ptm.npz``."""
    return f"params_{preset}.npz"


def params_preset(file_name: str) -> str | None:
    """The model preset whose parameters ``file_name`` holds (``params_model_1.npz`` -> ``model_1``), if any."""
    if file_name.startswith("params_") and file_name.endswith(".npz"):
        return file_name[len("params_"):-len(".npz")]
    return None


def source_url(source: Source, urls: Mapping[str, str] | None = None, mirror: str | None = None) -> str:
    """Where to fetch ``source``: ``urls[file name]`` or ``urls[URL]``, else under ``mirror``, else its URL."""
    urls = urls or {}
    for key in (source.file_name, source.url):
        if key in urls:
            return urls[key]
    if mirror and not source.is_rsync:
        return f"{mirror.rstrip('/')}/{source.file_name}"
    return source.url
