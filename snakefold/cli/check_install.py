"""``snakefold check-install``: which parameter sets and databases a config needs are present and intact.

For each item of :func:`snakefold.plan.downloads.download_plan` it reports one of: installed and intact
(sizes match the install record written when snakefold installed it; ``--deep`` also re-computes the
recorded SHA-256 checksums), present but installed without snakefold, missing, or damaged. Beyond the
record, a parameter set's files must open as npz archives
(:func:`snakefold.install.check.param_file_problems`) and a database must pass
the catalog's own checks (:func:`snakefold.install.databases.check_database`: every index entry inside its
data file). The exit status is 0 when nothing is missing or damaged.

    snakefold check-install --configfile my.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from snakefold.common.errors import SnakefoldError
from snakefold.install.check import param_file_problems
from snakefold.install.databases import catalog, check_database
from snakefold.install.item import DAMAGED, INSTALLED, MISSING, check_item
from snakefold.install.manifest import params_preset
from snakefold.plan.config import validate_config
from snakefold.plan.downloads import download_plan


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
        problems = param_file_problems(planned.directory, [params_preset(name) for name in planned.needed], deep=deep)
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
