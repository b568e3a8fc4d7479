"""The database catalog, the layout of each database format, integrity checks and fingerprints.

The catalog (``databases.yaml`` beside this module) names every database snakefold knows, its format, its
default location under the config's ``databases.dir`` and the presets that search it. A **format** says
which files make a database (:data:`FORMATS`) and how to tell a complete one from a truncated one:

* ``hhsuite``: every ``.ffindex`` entry must lie inside its ``.ffdata`` file (a download or copy cut short
  leaves a data file shorter than its index says);
* ``mmseqs``: the same for the ``.index`` of the data and header files (single-file databases);
* every format: a database made by ``snakefold build-db`` carries ``<path>.build.json`` with the size of
  each of its files, and a size that differs means the database was truncated or changed.

The **fingerprint** of a database, part of every cache key of a search against it, is a hash of the
names, sizes and modification times (nanoseconds) of its files, so that it costs a few ``stat`` calls and
changes whenever a database is rebuilt, updated or replaced. Moving a database with its modification
times kept (``mv``, ``cp -p``, ``rsync -a``) keeps its fingerprint.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import yaml

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.tools import ffindex, mmseqs

CATALOG_PATH = Path(__file__).with_name("databases.yaml")
BUILD_MANIFEST_SUFFIX = ".build.json"
HHSUITE_PARTS = ("a3m", "hhm", "cs219")


@dataclasses.dataclass(frozen=True)
class Format:
    """A database layout: the files that make it, given the path (file, directory or prefix) of one."""

    description: str
    files: Callable[[str], list[str]]
    #: extra checks beyond existence: problems found, one message each
    integrity: Callable[[str], list[str]]


def _ffindex_problems(data: str, index: str) -> list[str]:
    entries = ffindex.read_index(index)
    if not entries:
        return [f"{index} lists no entry"]
    end = max(offset + length for _, offset, length in entries)
    size = os.path.getsize(data)
    if end > size:
        return [f"{data} is {size} bytes, but its index {Path(index).name} has entries up to byte {end}: the "
                "data file is truncated"]
    return []


def _hhsuite_files(prefix: str) -> list[str]:
    return [f"{prefix}_{part}.{suffix}" for part in HHSUITE_PARTS for suffix in ("ffdata", "ffindex")]


def _hhsuite_integrity(prefix: str) -> list[str]:
    return [problem for part in HHSUITE_PARTS
            for problem in _ffindex_problems(f"{prefix}_{part}.ffdata", f"{prefix}_{part}.ffindex")]


def _mmseqs_files(prefix: str) -> list[str]:
    return [f"{prefix}{part}{suffix}" for part in ("", "_h") for suffix in ("", ".index", ".dbtype")]


def _mmseqs_integrity(prefix: str) -> list[str]:
    problems = []
    for part in ("", "_h"):
        data, index = f"{prefix}{part}", f"{prefix}{part}.index"
        end = 0
        with open(index, encoding="ascii", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                fields = line.split()
                if len(fields) != 3 or not fields[1].isdigit() or not fields[2].isdigit():
                    problems.append(f"{index}:{number}: not an MMseqs2 index line ('key offset length')")
                    break
                end = max(end, int(fields[1]) + int(fields[2]))
        size = sum(part.stat().st_size for part in mmseqs.data_files(Path(data)))
        if end > size:
            problems.append(f"{data} is {size} bytes, but its index has entries up to byte {end}: "
                            "the data file is truncated")
    return problems


def _fasta_integrity(path: str) -> list[str]:
    with open(path, "rb") as handle:
        start = handle.read(4096).lstrip()
    if not start.startswith(b">"):
        return [f"{path} is not a FASTA file (it does not start with a '>' header)"]
    return []


def _nonempty_file(path: str) -> list[str]:
    return [] if os.path.getsize(path) > 0 else [f"{path} is empty"]


def _mmcif_dir_integrity(path: str) -> list[str]:
    if not Path(path).is_dir():
        return [f"{path} is not a directory"]
    with os.scandir(path) as entries:
        if not any(entry.name.endswith(".cif") for entry in entries):
            return [f"{path} holds no .cif file"]
    return []


FORMATS: dict[str, Format] = {
    "fasta": Format("FASTA file", lambda path: [path], _fasta_integrity),
    "hhsuite": Format("HH-suite database (ffindex a3m, hhm and cs219)", _hhsuite_files, _hhsuite_integrity),
    "mmseqs": Format("MMseqs2 database", _mmseqs_files, _mmseqs_integrity),
    "mmcif_dir": Format("directory of mmCIF files", lambda path: [path], _mmcif_dir_integrity),
    "file": Format("file", lambda path: [path], _nonempty_file),
}

#: The database format each search tool reads.
TOOL_FORMATS = {"jackhmmer": "fasta", "hhblits": "hhsuite", "mmseqs2": "mmseqs"}
#: The template search's databases (catalog name -> format): the PDB70 HMMs, the mmCIF files, obsolete entries.
TEMPLATE_DATABASES = {"pdb70": "hhsuite", "pdb_mmcif": "mmcif_dir", "obsolete_pdbs": "file"}
#: AlphaFold-Multimer's template search of a complex's chains (hmmsearch): PDB sequences, mmCIF files, obsolete.
MULTIMER_TEMPLATE_DATABASES = {"pdb_seqres": "fasta", "pdb_mmcif": "mmcif_dir", "obsolete_pdbs": "file"}


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """One database of the catalog; ``extra`` keeps keys this module does not use (download sources, ...)."""

    name: str
    description: str
    format: str
    path: str
    extra: dict[str, Any]


@functools.lru_cache(maxsize=None)
def _catalog_data() -> dict:
    with open(CATALOG_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def catalog() -> dict[str, CatalogEntry]:
    """Every database of the catalog by name."""
    entries = {}
    for name, fields in _catalog_data()["databases"].items():
        known = {"description", "format", "path"}
        entries[name] = CatalogEntry(name, fields["description"], fields["format"], fields["path"],
                                     {key: value for key, value in fields.items() if key not in known})
    return entries


def presets() -> dict[str, dict]:
    """Each preset's description, MSA searches (name, tool, databases), template databases and pairing tool."""
    return _catalog_data()["presets"]


def pairing_searches() -> dict[str, dict]:
    """The UniProt search for AlphaFold-Multimer's pairing, by tool: its name and database."""
    return _catalog_data()["pairing"]


def database_path(databases_config: dict, name: str) -> str:
    """Where database ``name`` is: ``databases.<name>`` when set, else its catalog path under ``databases.dir``."""
    override = databases_config.get(name)
    if override:
        return str(override)
    return str(Path(databases_config["dir"]) / catalog()[name].path)


def database_files(fmt: str, path: str | Path) -> list[str]:
    """The files (or directory) that make a database of format ``fmt`` at ``path``."""
    return FORMATS[fmt].files(str(path))


def missing_files(fmt: str, path: str | Path) -> list[str]:
    return [file for file in database_files(fmt, path) if not os.path.exists(file)]


def build_manifest_path(path: str | Path) -> Path:
    return Path(f"{path}{BUILD_MANIFEST_SUFFIX}")


def _build_manifest_problems(path: str) -> list[str]:
    manifest = build_manifest_path(path)
    if not manifest.exists():
        return []
    try:
        recorded = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError, TypeError):
        return [f"{manifest} is unreadable; build the database again with snakefold build-db"]
    problems = []
    for file, size in recorded.items():
        actual = Path(manifest.parent, file)
        if not actual.exists():
            problems.append(f"{actual} is missing (listed in {manifest.name})")
        elif actual.stat().st_size != size:
            problems.append(f"{actual} is {actual.stat().st_size} bytes, but it was built with {size}: "
                            f"truncated or changed since it was built")
    return problems


def fingerprint(fmt: str, path: str | Path) -> str:
    """A cheap identity of a database: a hash of its files' names, sizes and modification times."""
    stats = []
    for file in database_files(fmt, path):
        status = os.stat(file)
        stats.append([Path(file).name, status.st_size, status.st_mtime_ns])
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:24]


def check_database(name: str, fmt: str, path: str | Path, verified_dir: str | Path | None = None) -> list[str]:
    """Problems that make database ``name`` unusable (missing files, truncation), each for a person.

    A complete check reads the database's indexes; with ``verified_dir``, a database found sound is
    recorded there under its fingerprint and not read again until it changes.
    """
    path = str(path)
    what = f"database '{name}' ({FORMATS[fmt].description} at {path})"
    missing = missing_files(fmt, path)
    if missing and len(missing) == len(database_files(fmt, path)) > 1:
        return [f"{what} does not exist (none of its files, e.g. {missing[0]}, is there)"]
    if missing:
        return [f"{what} is incomplete: missing {', '.join(missing)}"]
    stamp = Path(verified_dir, f"{fmt}-{fingerprint(fmt, path)}.json") if verified_dir else None
    if stamp is not None and stamp.exists():
        return []
    try:
        problems = FORMATS[fmt].integrity(path) + _build_manifest_problems(path)
    except (OSError, SnakefoldError) as error:
        problems = [str(error)]
    if problems:
        return [f"{what} is damaged: {problem}; download or build it again" for problem in problems]
    if stamp is not None:
        atomic_write_json(stamp, {"database": name, "format": fmt, "path": os.path.abspath(path)})
    return []
