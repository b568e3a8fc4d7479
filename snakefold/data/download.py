"""``snakefold download``: install one parameter set or database; and what a config needs installed.

The workflow's ``download`` target (``workflow/rules/download.smk``) runs this command once per item that
:func:`download_plan` finds the config needs: the parameter set holding the configured model presets
(into ``model.params_dir``, or ``<download.models_dir>/<set>/``), and every catalog database that the
configured MSA searches and template search read (at the path the config gives it). Each run installs one
item with :func:`snakefold.data.install.install_item`: nothing is downloaded for an item already
installed and intact, a partial download continues, every file is verified, and the item appears in its
directory only once complete. Progress lines go to stderr (and to ``--log``).

    snakefold download params alphafold_params_2022-12-06 --dest models/alphafold_params_2022-12-06
    snakefold download database uniref90 --path databases/uniref90/uniref90.fasta
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.data.databases import catalog, database_path, missing_files
from snakefold.data.install import install_item
from snakefold.data.manifest import Item, database_item, load_manifest, params_file
from snakefold.data.msa_plan import msa_plan
from snakefold.data.template_search import TEMPLATE_DATABASES
from snakefold.model.param_sets import configured_params_dir, params_path, read_record

LOG = logging.getLogger("snakefold.download")


@dataclass(frozen=True)
class Planned:
    """One item the config needs: its directory, its path as configured (a parameter set's is its directory;
    a database's the file, directory or prefix the tools get), the config key that sets it, the files used."""

    item: Item
    directory: Path
    path: Path
    config_key: str
    needed: tuple[str, ...]


def params_plan(config: dict) -> list[Planned]:
    """The parameter set the config's model presets need, and its directory.

    The directory is ``model.params_dir``, or ``<download.models_dir>/<download.params_set>`` when that is
    null. Nothing is needed when the directory holds random parameters of every preset, made by
    ``snakefold make-params`` (each with its record, :mod:`snakefold.model.param_sets`), as the demo's are.
    """
    settings = config["download"]
    model = config["model"]
    directory = configured_params_dir(config)
    key = "model.params_dir" if model["params_dir"] else "download.models_dir"
    presets = model["presets"]
    made_here = [preset for preset in presets if read_record(params_path(directory, preset)) is not None]
    if made_here:
        if len(made_here) == len(presets):
            return []
        others = [preset for preset in presets if preset not in made_here]
        raise SnakefoldError(f"config key '{key}': {directory} holds random parameters made by `snakefold "
                             f"make-params` for {', '.join(made_here)} but not for {', '.join(others)}; make those "
                             f"too, or give the official set a directory of its own")
    manifest_path = settings["manifest"]
    sets = load_manifest(manifest_path)
    name = settings["params_set"]
    if name not in sets:
        raise SnakefoldError(f"config key 'download.params_set': {name!r} is not a parameter set of the manifest "
                             f"{manifest_path or 'models/manifest.yaml'} (it lists: {', '.join(sorted(sets))})")
    item = sets[name]
    absent = [preset for preset in presets if params_file(preset) not in item.files]
    if absent:
        raise SnakefoldError(f"config key 'model.presets': the parameter set {name!r} (download.params_set) has no "
                             f"parameters for {', '.join(absent)}")
    return [Planned(item, directory, directory, key, tuple(params_file(preset) for preset in presets))]


def _needed_databases(config: dict) -> dict[str, tuple[str, str]]:
    """Catalog database name -> (configured path, its config key) of every database the config searches."""
    needed = {}
    for search in msa_plan(config).searches:
        for database in search.databases:
            if database.config_key == f"databases.{database.name}":
                needed[database.name] = (database.path, database.config_key)
    if config["templates"]["enabled"]:
        databases_section = config["databases"]
        for name in TEMPLATE_DATABASES:
            needed[name] = (database_path(databases_section, name), f"databases.{name}")
    return needed


def database_plan(config: dict) -> tuple[list[Planned], list[str]]:
    """The catalog databases the config's searches read, where they go, and what cannot be downloaded.

    A database is installed at the path the config gives it (``databases.<name>``, else its catalog path
    under ``databases.dir``). An archive yields fixed file names, so a path whose name differs from the
    catalog's is a problem for an HH-suite or MMseqs2 database (a single file may take any name), unless
    the database is already there; so is a missing database the catalog has no download for.
    """
    entries = catalog()
    plan, problems = [], []
    for name, (path, key) in _needed_databases(config).items():
        found = database_item(name, path)
        present = not missing_files(entries[name].format, path)
        if found is None:
            if not present:
                problems.append(f"config key '{key}': the catalog lists no download for database '{name}'; "
                                f"install it yourself at {path}")
            continue
        item, directory = found
        catalog_name = Path(entries[name].path).name
        if len(item.files) > 1 and Path(path).name != catalog_name:
            if present:
                continue
            problems.append(f"config key '{key}': the download of database '{name}' yields files named after "
                            f"'{catalog_name}', not '{Path(path).name}'; leave the key unset to install it under "
                            f"databases.dir, or give a path ending in /{catalog_name}")
            continue
        plan.append(Planned(item, directory, Path(path), key, item.files))
    return plan, problems


def download_plan(config: dict) -> tuple[list[Planned], list[str]]:
    """Every item the config needs installed (parameters, then databases) and the problems found."""
    databases, problems = database_plan(config)
    return params_plan(config) + databases, problems


def command_options(settings: dict) -> list[str]:
    """The ``snakefold download`` options that carry the config's ``download`` section (mirrors, retries)."""
    options = ["--retries", str(settings["retries"]), "--retry-wait", str(settings["retry_wait"]),
               "--timeout", str(settings["timeout"]), "--progress-interval", str(settings["progress_interval"])]
    if settings["manifest"]:
        options += ["--manifest", str(settings["manifest"])]
    for key, url in sorted(settings["urls"].items()):
        options += ["--url", f"{key}={url}"]
    if settings["mirror"]:
        options += ["--mirror", settings["mirror"]]
    if settings["keep_downloads"]:
        options.append("--keep-downloads")
    return options


# ----------------------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=("params", "database"),
                        help="a parameter set of the manifest, or a database of the catalog")
    parser.add_argument("name", help="its name, e.g. alphafold_params_2022-12-06 or uniref90")
    parser.add_argument("--dest", type=Path, default=None, help="params: the directory to install the set into")
    parser.add_argument("--path", type=Path, default=None,
                        help="database: its path as the config gives it (file, directory or prefix)")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="the parameter manifest (default: the repository's models/manifest.yaml)")
    parser.add_argument("--url", action="append", default=[], metavar="FILE=URL",
                        help="fetch the source with this file name (or this URL) from URL instead (repeatable)")
    parser.add_argument("--mirror", default=None, help="a base URL under which every file is found by its name")
    parser.add_argument("--keep-downloads", action="store_true", help="keep the archives after unpacking")
    parser.add_argument("--retries", type=int, default=5, help="resumptions of a dropped connection (default 5)")
    parser.add_argument("--retry-wait", type=float, default=30.0, help="seconds before resuming (default 30)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds without data (default 120)")
    parser.add_argument("--progress-interval", type=float, default=30.0,
                        help="seconds between progress lines (default 30)")
    parser.add_argument("--log", type=Path, default=None, help="also append the progress lines to this file")
    parser.add_argument("--receipt", type=Path, default=None,
                        help="write a JSON receipt here once the item is installed (the workflow's output)")


def _url_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, separator, url = pair.partition("=")
        if not separator or not key or not url:
            raise SnakefoldError(f"--url {pair!r}: write it as FILE=URL, e.g. "
                                 f"alphafold_params_2022-12-06.tar=https://mirror.example.org/alphafold_params_2022-12-06.tar")
        overrides[key] = url
    return overrides


def _setup_logging(log_path: Path | None) -> None:
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    formatter = logging.Formatter("%(asctime)s snakefold download: %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        LOG.addHandler(handler)


def _item_and_directory(args: argparse.Namespace) -> tuple[Item, Path]:
    if args.kind == "params":
        if args.dest is None:
            raise SnakefoldError("a parameter set needs --dest, the directory to install it into")
        sets = load_manifest(args.manifest)
        if args.name not in sets:
            raise SnakefoldError(f"{args.name!r} is not a parameter set of {args.manifest or 'models/manifest.yaml'} "
                                 f"(it lists: {', '.join(sorted(sets))})")
        return sets[args.name], args.dest
    if args.path is None:
        raise SnakefoldError("a database needs --path, where the config expects it (file, directory or prefix)")
    if args.name not in catalog():
        raise SnakefoldError(f"{args.name!r} is not a database of the catalog (it lists: {', '.join(sorted(catalog()))})")
    found = database_item(args.name, args.path)
    if found is None:
        raise SnakefoldError(f"the catalog lists no download for database '{args.name}'; install it yourself")
    return found


def run(args: argparse.Namespace) -> int:
    _setup_logging(args.log)
    item, directory = _item_and_directory(args)
    installed = install_item(item, directory, urls=_url_overrides(args.url), mirror=args.mirror,
                             keep_downloads=args.keep_downloads, log_path=args.log, retries=args.retries,
                             retry_wait=args.retry_wait, timeout=args.timeout,
                             progress_interval=args.progress_interval)
    if args.receipt is not None:
        atomic_write_json(args.receipt, {"kind": item.kind, "name": item.name, "directory": str(installed.directory),
                                         "state": installed.state, "downloaded_bytes": installed.transferred})
    return 0
