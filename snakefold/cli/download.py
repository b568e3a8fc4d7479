"""``snakefold download``: install one parameter set or database.

The workflow's ``download`` target (``workflow/rules/download.smk``) runs this command once per item that
:func:`snakefold.plan.downloads.download_plan` finds the config needs: the parameter set holding the configured model presets
(into ``model.params_dir``, or ``<download.models_dir>/<set>/``), and every catalog database that the
configured MSA searches and template search read (at the path the config gives it). Each run installs one
item with :func:`snakefold.install.item.install_item`: nothing is downloaded for an item already
installed and intact, a partial download continues, every file is verified, and the item appears in its
directory only once complete. Progress lines go to stderr (and to ``--log``).
What a config needs is planned in :mod:`snakefold.plan.downloads`.

    snakefold download params alphafold_params_2022-12-06 --dest models/alphafold_params_2022-12-06
    snakefold download database uniref90 --path databases/uniref90/uniref90.fasta
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.install.databases import catalog
from snakefold.install.item import install_item
from snakefold.install.manifest import Item, database_item, load_manifest

LOG = logging.getLogger("snakefold.download")


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
