"""``snakefold check-install``: which parameter sets and databases a config needs are present and intact.

For each item of :func:`snakefold.data.download.download_plan` it reports one of: installed and intact
(sizes match the install record written when snakefold installed it; ``--deep`` also re-computes the
recorded SHA-256 checksums), present but installed without snakefold, missing, or damaged. Beyond the
record, a parameter set's files must open as npz archives (:func:`check_params`) and a database must pass
the catalog's own checks (:func:`snakefold.data.databases.check_database`: every index entry inside its
data file). The exit status is 0 when nothing is missing or damaged.

:func:`check_params` is what the predict stage calls before any job runs: every ``params_<preset>.npz``
the configured presets need must exist, match the size recorded at install time, and be a readable npz
(zip) archive, which a truncated download is not.

    snakefold check-install --configfile my.yaml
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path
from typing import Iterable

import yaml

from snakefold.common.errors import SnakefoldError
from snakefold.data.databases import catalog, check_database
from snakefold.data.download import download_plan
from snakefold.data.install import DAMAGED, INSTALLED, MISSING, check_item, recorded_files, sha256_of
from snakefold.data.manifest import params_file, params_preset
from snakefold.pipeline.config import validate_config

DOWNLOAD_HINT = "run `snakemake download --configfile <your config>` to install it"


def _npz_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        return f"{path} is not a readable .npz archive ({error}): it is truncated or damaged"
    if not names or not all(name.endswith(".npy") for name in names):
        return f"{path} is a zip archive but not an .npz file of arrays"
    return None


def check_params(params_dir: str | Path, presets: Iterable[str], *, deep: bool = False) -> list[str]:
    """Problems with the parameter files of ``presets`` in ``params_dir``; an empty list when all are usable.

    Each ``params_<preset>.npz`` must exist, have the size recorded when snakefold installed it (when it
    did), and open as an npz archive; ``deep`` also compares the SHA-256 recorded at install time.
    """
    params_dir = Path(params_dir)
    if not params_dir.is_dir():
        return [f"the parameter directory {params_dir} does not exist; {DOWNLOAD_HINT}"]
    recorded = recorded_files(params_dir)
    problems = []
    for preset in presets:
        path = params_dir / params_file(preset)
        if not path.is_file():
            problems.append(f"{path} (model preset '{preset}') is missing; {DOWNLOAD_HINT}")
            continue
        expected = recorded.get(path.name, {})
        size = path.stat().st_size
        if "size" in expected and size != expected["size"]:
            problems.append(f"{path} (model preset '{preset}') has {size} bytes but {expected['size']} were "
                            f"installed: it is truncated or was replaced. Delete {params_dir} and {DOWNLOAD_HINT}")
            continue
        if deep and "sha256" in expected and sha256_of(path) != expected["sha256"]:
            problems.append(f"{path} (model preset '{preset}') differs from the file installed (SHA-256): it is "
                            f"damaged. Delete {params_dir} and {DOWNLOAD_HINT}")
            continue
        problem = _npz_problem(path)
        if problem is not None:
            problems.append(f"{problem} (model preset '{preset}'); delete {params_dir} and {DOWNLOAD_HINT}")
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configfile", type=Path, default=None,
                        help="the config to check for (default: config.yaml in the working directory, if any)")
    parser.add_argument("--deep", action="store_true",
                        help="also re-compute the SHA-256 of every file that has one in its install record")


def _load_config(path: Path | None) -> tuple[dict, str]:
    if path is None and Path("config.yaml").is_file():
        path = Path("config.yaml")
    config: dict = {}
    if path is not None:
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise SnakefoldError(f"cannot read the config file {path}: {error.strerror}") from error
        except yaml.YAMLError as error:
            raise SnakefoldError(f"the config file {path} is not valid YAML: {error}") from error
    # The input files do not matter for what is installed; a config without them is still checked.
    config.setdefault("inputs", ["-"])
    return validate_config(config), str(path) if path else "the defaults"


def _problems(planned, deep: bool) -> tuple[str, list[str]]:
    """The state of one planned item and its problems: the install check, then the item's own checks."""
    item = planned.item
    status = check_item(item, planned.directory, deep=deep)
    if status.state in (MISSING, DAMAGED):
        return status.state, status.problems
    if item.kind == "parameter set":
        problems = check_params(planned.directory, [params_preset(name) for name in planned.needed], deep=deep)
    else:
        problems = check_database(item.name, catalog()[item.name].format, planned.path)
    return (DAMAGED, problems) if problems else (status.state, [])


def run(args: argparse.Namespace) -> int:
    config, origin = _load_config(args.configfile)
    plan, plan_problems = download_plan(config)
    print(f"what the config ({origin}) needs:")
    if not plan and not plan_problems:
        print("  nothing: the config uses no downloaded parameters or databases")
    failing = 0
    for planned in plan:
        state, problems = _problems(planned, args.deep)
        if state == INSTALLED:
            state = "installed, intact" + (" (checksums verified)" if args.deep else "")
        print(f"  {planned.item.label} at {planned.path} ({planned.config_key}): {state}")
        for problem in problems:
            print(f"    - {problem}")
        failing += bool(problems)
    for problem in plan_problems:
        print(f"  cannot be downloaded: {problem}")
    failing += len(plan_problems)
    if failing:
        print(f"{failing} item(s) missing or damaged; run `snakemake download --configfile <your config>` to "
              f"install what can be downloaded")
    return 1 if failing else 0
