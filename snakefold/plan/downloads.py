"""What a config needs installed: the parameter set of its model presets and the databases its searches read.

:func:`download_plan` lists each item (its manifest entry, where it goes, the config key that set it) and the
problems found (a database the catalog cannot download, a path an archive cannot yield); the ``download``
rules (through :class:`DownloadStage`), ``snakefold download`` and ``snakefold check-install`` all work from it. A batch with complexes also
needs what AlphaFold-Multimer searches: UniProt for the pairing of heteromers' chains and, with templates,
the PDB sequences (pdb_seqres) of its template search; the batch is read from the config when not given.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Batch
from snakefold.common.snakemake_internals import job_functions
from snakefold.install.databases import (
    MULTIMER_TEMPLATE_DATABASES,
    TEMPLATE_DATABASES,
    catalog,
    database_path,
    missing_files,
)
from snakefold.install.manifest import Item, database_item, load_manifest, params_file
from snakefold.model.param_sets import params_path, read_record
from snakefold.plan.batch import batch_from_config
from snakefold.plan.model import configured_params_dir
from snakefold.plan.msa import msa_plan


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


def _needed_databases(config: dict, batch: Batch) -> dict[str, tuple[str, str]]:
    """Catalog database name -> (configured path, its config key) of every database the config searches."""
    needed = {}
    for search in msa_plan(config, pairing=bool(batch.paired_chain_keys)).all_searches:
        for database in search.databases:
            if database.config_key == f"databases.{database.name}":
                needed[database.name] = (database.path, database.config_key)
    if config["templates"]["enabled"]:
        databases_section = config["databases"]
        template_databases = [*TEMPLATE_DATABASES, *(MULTIMER_TEMPLATE_DATABASES if batch.complexes else ())]
        for name in template_databases:
            needed[name] = (database_path(databases_section, name), f"databases.{name}")
    return needed


def _batch_of(config: dict) -> Batch:
    """The batch of ``config`` as far as it can be read (its problems are intake's to report)."""
    try:
        return batch_from_config(config)
    except SnakefoldError:
        return Batch()


def database_plan(config: dict, batch: Batch | None = None) -> tuple[list[Planned], list[str]]:
    """The catalog databases the config's searches read, where they go, and what cannot be downloaded.

    A database is installed at the path the config gives it (``databases.<name>``, else its catalog path
    under ``databases.dir``). An archive yields fixed file names, so a path whose name differs from the
    catalog's is a problem for an HH-suite or MMseqs2 database (a single file may take any name), unless
    the database is already there; so is a missing database the catalog has no download for.
    """
    entries = catalog()
    plan, problems = [], []
    for name, (path, key) in _needed_databases(config, _batch_of(config) if batch is None else batch).items():
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


def download_plan(config: dict, batch: Batch | None = None) -> tuple[list[Planned], list[str]]:
    """Every item the config needs installed (parameters, then databases) and the problems found.

    ``batch``: the config's batch when already read (None: read it here)."""
    databases, problems = database_plan(config, batch)
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


@job_functions
@dataclass(repr=False)
class DownloadStage:
    """The download rules' functions over a config and its batch (workflow/rules/download.smk).

    The plan is made only when a download rule is part of the DAG, so that no other run depends on it: a run
    for the downloads alone never sees the problems of the files it is downloading."""

    config: dict
    batch: Batch
    #: where a download's receipt goes, by kind ("params", "database") and name
    receipt: Callable[[str, str], str]

    @functools.cached_property
    def planned(self) -> dict[str, dict[str, Planned]]:
        """kind ("params", "database") -> item name -> what to install where; stops on the plan's problems."""
        try:
            planned, problems = download_plan(self.config, self.batch)
        except SnakefoldError as error:
            planned, problems = [], [str(error)]
        if problems:
            print(f"snakefold: {chr(10).join(problems)}", file=sys.stderr)
            raise SystemExit(1)
        return {"params": {p.item.name: p for p in planned if p.item.kind == "parameter set"},
                "database": {p.item.name: p for p in planned if p.item.kind == "database"}}

    def receipts(self, wildcards=None) -> list[str]:
        return [self.receipt(kind, name) for kind, items in self.planned.items() for name in items]

    def params_destination(self, wildcards) -> str:
        return str(self.planned["params"][wildcards.name].directory)

    def database_destination(self, wildcards) -> str:
        return str(self.planned["database"][wildcards.name].path)

    @property
    def options(self) -> list[str]:
        return command_options(self.config["download"])
