"""The per-stage conda environment files in envs/, checked against pyproject.toml, scripts/setup and the workflow.

(a) envs/ holds one file per stage; each is a conda environment file (channels, dependencies) whose every
    dependency is pinned to one exact version: `name==version` for conda packages (conda reads `name=1.2` as
    1.2.*) and `name==version` for pip packages; the one other entry is the pip line that installs snakefold
    from the repository.
(b) each env file names every Python dependency of pyproject.toml's [project] dependencies, at pyproject's
    version (names compared as pip does: case, `-`, `_` and `.` alike).
(c) the stage tools scripts/setup installs from Debian are the external tools of envs/msa.yaml, one to one.
(d) every rule of the workflow that runs a command (shell, script, notebook or wrapper) names one of the env
    files in its conda directive. Rules with `run:` run inside Snakemake itself, where Snakemake allows no
    conda directive, and rules with no action (targets such as `all`) run nothing. The workflow is loaded
    through Snakemake's API with .test/config.yaml.

No network and no conda: only the files are read.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

ENVS_DIR = REPO_ROOT / "envs"
STAGE_ENVS = ["msa", "predict", "predict-cuda", "relax", "report"]
ENV_FILES = [ENVS_DIR / f"{name}.yaml" for name in STAGE_ENVS]

#: The pip entry of every env file that installs snakefold (editable) from the repository root, which the
#: Snakefile puts in $SNAKEFOLD_ROOT (pip expands it).
SNAKEFOLD_ENTRY = "-e ${SNAKEFOLD_ROOT}"
#: Conda packages every env file has that are not stage tools.
CONDA_BASE = {"python", "pip"}
#: An exact conda pin: `name==version`, no wildcard, range or build string.
CONDA_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9._+]+)$")

#: scripts/setup's Debian packages that no stage runs: the build and virtual-environment tools, and rsync
#: (used by `snakemake download` for the PDB's mmCIF files).
DEBIAN_SETUP_ONLY = {"python3", "python3-venv", "python3-dev", "gcc", "g++", "make", "git", "rsync"}
#: The stage tools scripts/setup installs from Debian, and their names on bioconda.
DEBIAN_TO_CONDA = {"hhsuite": "hhsuite", "hmmer": "hmmer", "kalign": "kalign3", "mmseqs2": "mmseqs2"}


def conda_entries(env: dict) -> list[str]:
    return [entry for entry in env["dependencies"] if isinstance(entry, str)]


def conda_names(env: dict) -> set[str]:
    """The names of the env's conda packages, whatever their version specification."""
    return {re.split(r"[=<>!~ ]", entry, maxsplit=1)[0] for entry in conda_entries(env)}


def pip_entries(env: dict) -> list[str]:
    sections = [entry["pip"] for entry in env["dependencies"] if isinstance(entry, dict) and "pip" in entry]
    return [line for section in sections for line in section]


def exact_version(requirement: Requirement) -> str | None:
    """The version ``requirement`` pins with a single `==` (no wildcard), else None."""
    specifiers = list(requirement.specifier)
    if len(specifiers) == 1 and specifiers[0].operator == "==" and "*" not in specifiers[0].version:
        return specifiers[0].version
    return None


def python_pins(env: dict) -> dict[str, str]:
    """Canonical package name -> pinned version, of the env's pip packages and exactly pinned conda packages."""
    pins = {}
    for entry in conda_entries(env):
        match = CONDA_PIN.match(entry)
        if match:
            pins[canonicalize_name(match["name"])] = match["version"]
    for line in pip_entries(env):
        if line != SNAKEFOLD_ENTRY:
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = exact_version(requirement)
    return pins


def pyproject_pins() -> dict[str, str]:
    """Canonical name -> version of pyproject.toml's [project] dependencies (each pinned with `==`)."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    pins = {}
    for line in dependencies:
        requirement = Requirement(line)
        version = exact_version(requirement)
        assert version, f"pyproject.toml: '{line}' is not pinned to one version with =="
        pins[canonicalize_name(requirement.name)] = version
    return pins


def load_env(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_envs_dir_holds_one_file_per_stage():
    assert sorted(ENVS_DIR.glob("*.yaml")) == sorted(ENV_FILES)


@pytest.mark.parametrize("path", ENV_FILES, ids=STAGE_ENVS)
def test_env_file_is_a_conda_env_with_every_dependency_pinned(path):
    env = load_env(path)
    assert isinstance(env, dict), f"{path.name} is not a YAML mapping"
    assert env.get("channels") == ["conda-forge", "bioconda"], f"{path.name}: channels"
    assert isinstance(env.get("dependencies"), list) and env["dependencies"], f"{path.name}: no dependencies"
    for entry in env["dependencies"]:
        assert isinstance(entry, str) or (isinstance(entry, dict) and list(entry) == ["pip"]), (
            f"{path.name}: dependency {entry!r} is neither a conda package nor the pip section")
    unpinned = [entry for entry in conda_entries(env) if not CONDA_PIN.match(entry)]
    assert not unpinned, f"{path.name}: conda packages not pinned as name==version: {unpinned}"
    assert CONDA_BASE <= conda_names(env), f"{path.name}: lacks {sorted(CONDA_BASE - conda_names(env))}"
    pip_lines = pip_entries(env)
    assert pip_lines.count(SNAKEFOLD_ENTRY) == 1, f"{path.name}: the pip section must install snakefold once"
    unpinned = [line for line in pip_lines if line != SNAKEFOLD_ENTRY and not exact_version(Requirement(line))]
    assert not unpinned, f"{path.name}: pip packages not pinned with one ==: {unpinned}"


@pytest.mark.parametrize("path", ENV_FILES, ids=STAGE_ENVS)
def test_env_file_has_every_pyproject_dependency_at_its_version(path):
    expected = pyproject_pins()
    pins = python_pins(load_env(path))
    missing = sorted(set(expected) - set(pins))
    assert not missing, f"{path.name} lacks pyproject dependencies: {missing}"
    differing = {name: (pins[name], version) for name, version in expected.items() if pins[name] != version}
    assert not differing, f"{path.name}: versions (env file, pyproject.toml) differ: {differing}"


def test_setup_debian_tools_are_the_msa_env_tools():
    setup = (REPO_ROOT / "scripts" / "setup").read_text()
    match = re.search(r"^packages=\(([^)]*)\)", setup, re.MULTILINE)
    assert match, "scripts/setup has no packages=(...) array"
    stage_tools = set(match[1].split()) - DEBIAN_SETUP_ONLY
    assert stage_tools == set(DEBIAN_TO_CONDA), (
        "scripts/setup's stage tools changed: map each Debian name to its conda name in DEBIAN_TO_CONDA, "
        f"and add it to envs/msa.yaml; Debian: {sorted(stage_tools)}, mapped: {sorted(DEBIAN_TO_CONDA)}")
    msa_env = load_env(ENVS_DIR / "msa.yaml")
    msa_tools = conda_names(msa_env) - CONDA_BASE
    assert msa_tools == {DEBIAN_TO_CONDA[tool] for tool in stage_tools}


def command_rules(workdir: Path) -> list:
    """The rules of the workflow, loaded with .test/config.yaml in ``workdir``, that run a command."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    shutil.copytree(REPO_ROOT / ".test", workdir / ".test")
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[workdir / ".test" / "config.yaml"]),
            snakefile=REPO_ROOT / "Snakefile",
            workdir=workdir,
        )
        rules = list(workflow_api._workflow.rules)
    return [rule for rule in rules if rule.is_shell or rule.is_script or rule.is_notebook or rule.is_wrapper]


def test_every_command_rule_names_an_env_file(tmp_path, monkeypatch):
    # Loading the workflow reads the command line (sys.argv) and prepends to PATH: keep both to this test.
    monkeypatch.setattr(sys, "argv", ["snakemake"])
    monkeypatch.setenv("PATH", os.environ["PATH"])
    rules = command_rules(tmp_path)
    assert rules, "the workflow has no rule that runs a command"
    env_files = {path.resolve() for path in ENV_FILES}
    problems = []
    for rule in rules:
        if rule.conda_env is None:
            problems.append(f"{rule.name}: no conda directive")
        elif not isinstance(rule.conda_env, (str, Path)):
            problems.append(f"{rule.name}: conda directive {rule.conda_env!r} is not a path")
        else:
            # A relative conda path is relative to the file that defines the rule, as Snakemake resolves it.
            path = Path(rule.basedir.get_path_or_uri(secret_free=True)) / rule.conda_env
            if path.resolve() not in env_files:
                problems.append(f"{rule.name}: conda env {rule.conda_env} is not one of envs/*.yaml")
    assert not problems, "\n".join(problems)
