"""``pip install .`` (not editable) gives a working ``snakefold`` outside the checkout.

The wheel is built from a copy of the package's sources (so no ``build/`` directory is left in the
checkout, and no stale one goes into the wheel), then installed with ``--no-deps --no-index`` into a fresh
virtual environment. That environment sees the dependencies already installed in the test's environment
through a ``.pth`` file holding the path of its site-packages: a plain path line only appends the directory
to ``sys.path``; the ``.pth`` files inside it are not processed, so the editable install's import hook
(``__editable__.snakefold-*.pth``) stays inactive and ``import snakefold`` can only find the wheel's copy.

The build runs with ``--no-build-isolation`` (no download) when the test's environment satisfies
``[build-system] requires``; otherwise pip builds in an isolated environment and fetches the build backend
from the package index.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

PACKAGE = REPO_ROOT / "snakefold"
#: a FASTA record that ``snakefold intake`` accepts with the default settings
TARGET, SEQUENCE = "wheel_probe", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"


def _run(command: list[str], *, timeout: float, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``command``; fail the test with its output when it fails or times out."""
    printable = " ".join(str(part) for part in command)
    try:
        result = subprocess.run([str(part) for part in command], check=False, cwd=cwd, env=env,
                                capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"`{printable}` did not finish in {timeout} s\nstdout:\n{error.stdout}\nstderr:\n{error.stderr}")
    assert result.returncode == 0, (f"`{printable}` (in {cwd}) exited with {result.returncode}\n"
                                    f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def _clean_env(venv: Path | None = None) -> dict:
    """The environment without anything that would point Python at the checkout or another environment."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")}
    env["PYTHONNOUSERSITE"] = "1"
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _build_backend_installed() -> bool:
    """Whether this environment satisfies ``[build-system] requires`` (then the build needs no download)."""
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for line in requires:
        requirement = Requirement(line)
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(version, prereleases=True):
            return False
    return True


def _copy_sources(destination: Path) -> Path:
    """The files a build of the project reads: the top-level files and the package, without build outputs."""
    destination.mkdir()
    for path in REPO_ROOT.iterdir():
        if path.is_file():
            shutil.copy2(path, destination / path.name)
    shutil.copytree(PACKAGE, destination / PACKAGE.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return destination


def _package_files(*patterns: str) -> list[str]:
    """Paths (relative to the repository, as in the wheel) of the package's files matching ``patterns``."""
    found = {path for pattern in patterns for path in PACKAGE.glob(pattern)
             if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}
    return sorted(path.relative_to(REPO_ROOT).as_posix() for path in found)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of the repository, built as ``pip install .`` builds it."""
    tmp = tmp_path_factory.mktemp("wheel")
    sources = _copy_sources(tmp / "src")
    build_flags = ["--no-build-isolation"] if _build_backend_installed() else []
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *build_flags, "-w", tmp / "dist", sources],
         timeout=600, cwd=tmp, env=_clean_env())
    wheels = sorted((tmp / "dist").glob("snakefold-*.whl"))
    assert len(wheels) == 1, f"expected one snakefold wheel in {tmp / 'dist'}, found {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A fresh venv with the wheel installed and this environment's dependencies visible, and a work dir."""
    tmp = tmp_path_factory.mktemp("installed")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=300, cwd=tmp, env=_clean_env())
    python = venv / "bin" / "python"
    env = _clean_env(venv)
    # installed before the .pth below exists, so pip sees no other snakefold (the editable one) to replace
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], timeout=300, cwd=tmp, env=env)
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        timeout=60, cwd=tmp, env=env).stdout.strip())
    dependencies = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (purelib / "_snakefold_test_dependencies.pth").write_text("".join(f"{path}\n" for path in dependencies))
    workdir = tmp / "work"
    workdir.mkdir()
    return {"venv": venv, "python": python, "snakefold": venv / "bin" / "snakefold", "purelib": purelib,
            "workdir": workdir, "env": env}


def test_wheel_contains_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    schemas = _package_files("plan/schemas/*.schema.yaml")
    assert "snakefold/plan/schemas/config.schema.yaml" in schemas, f"config.schema.yaml not found in {PACKAGE}"
    required = {
        "plan schemas": schemas,
        "database catalog": _package_files("install/databases.yaml"),
        "report schemas": _package_files("report/schemas/*"),
        # every module and data file of the package: a subpackage without __init__.py or a data file that
        # package-data misses would only show up in a non-editable install
        "package files": _package_files("**/*"),
    }
    for what, expected in required.items():
        assert expected, f"no {what} found in the sources under {PACKAGE}"
        missing = [name for name in expected if name not in names]
        assert not missing, (f"{wheel.name} lacks {what} {missing}: add them to [tool.setuptools.package-data] "
                             f"in pyproject.toml")


def test_import_finds_the_installed_package(installed):
    probe = ("import json, sys, snakefold, jax; print(json.dumps({'file': snakefold.__file__, "
             "'editable': sorted(name for name in sys.modules if 'editable' in name)}))")
    result = _run([installed["python"], "-c", probe], timeout=300, cwd=installed["workdir"], env=installed["env"])
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    location = Path(seen["file"]).resolve()
    purelib = installed["purelib"].resolve()
    assert location.is_relative_to(purelib), (f"snakefold was imported from {location}, not from the new venv's "
                                              f"site-packages {purelib}\nstderr:\n{result.stderr}")
    assert not location.is_relative_to(REPO_ROOT), f"snakefold was imported from the checkout: {location}"
    assert not seen["editable"], f"the editable install's import hook was loaded: {seen['editable']}"


def test_help(installed):
    result = _run([installed["snakefold"], "--help"], timeout=120, cwd=installed["workdir"], env=installed["env"])
    assert "make-params" in result.stdout and "intake" in result.stdout, (
        f"`snakefold --help` does not list the commands\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")


def test_intake(installed):
    fasta = installed["workdir"] / "probe.fasta"
    fasta.write_text(f">{TARGET} a probe sequence\n{SEQUENCE}\n")
    result = _run([installed["snakefold"], "intake", fasta], timeout=300, cwd=installed["workdir"],
                  env=installed["env"])
    rows = [line.split("\t") for line in result.stdout.splitlines() if line.strip()]
    assert [row[:2] for row in rows] == [[TARGET, str(len(SEQUENCE))]], (
        f"`snakefold intake` did not list the target {TARGET}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")


def test_make_params(installed):
    out = installed["workdir"] / "params_model_3.npz"
    command = [installed["snakefold"], "make-params", "--preset", "model_3", "--architecture", "small",
               "--seed", "0", "--out", out]
    result = _run(command, timeout=600, cwd=installed["workdir"], env=installed["env"])
    record = out.with_suffix(".json")
    assert out.is_file() and record.is_file(), (
        f"`snakefold make-params` wrote {sorted(p.name for p in out.parent.iterdir())}, not {out.name} and "
        f"{record.name}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    written = json.loads(record.read_text())
    assert {key: written.get(key) for key in ("preset", "architecture", "seed", "untrained")} == {
        "preset": "model_3", "architecture": "small", "seed": 0, "untrained": True}, f"unexpected record {written}"
    with np.load(out) as params:
        assert params.files, f"{out} holds no arrays"
