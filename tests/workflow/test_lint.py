"""The workflow reads as Snakemake's catalog asks: `snakemake --lint` finds nothing and `snakefmt --check`
changes nothing, on each small test config (.test/: single chains; complexes and a pulldown screen; MMseqs2
searches) and on the embedded demo config; `ruff check` finds nothing in the Python code; and on a fresh
clone, before the demo databases exist, the Snakefile parses and a dry run says what to run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def _run(*command: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("config", [[".test/config.yaml"], [".test/config_complexes.yaml"], [".test/config_mmseqs2.yaml"],
                                    []], ids=["test-config", "complexes-config", "mmseqs2-config", "demo-config"])
def test_snakemake_lint_finds_nothing(config):
    options = ["--configfile", *config] if config else []
    lint = _run(str(BIN / "snakemake"), "--lint", *options)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Lints for" not in lint.stdout + lint.stderr


def test_snakefmt_leaves_every_workflow_file_as_it_is():
    files = ["Snakefile", *sorted(str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "workflow").rglob("*.smk"))]
    check = _run(str(BIN / "snakefmt"), "--check", *files)
    assert check.returncode == 0, check.stdout + check.stderr


def test_ruff_finds_nothing():
    """The package, its tests and benchmarks, by the rules pyproject.toml selects."""
    check = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory) -> Path:
    """The repository's tracked files, as `git clone` gives them (no demo databases, no parameters)."""
    clone = tmp_path_factory.mktemp("clone") / "snakefold"
    listed = _run("git", "ls-files", "-z")
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO_ROOT / name
        if source.is_symlink() or source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name, follow_symlinks=False)
    return clone


def test_a_fresh_clone_parses_and_says_what_to_run(fresh_clone):
    lint = _run(str(BIN / "snakemake"), "--lint", cwd=fresh_clone)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    listed = _run(str(BIN / "snakemake"), "--list-rules", cwd=fresh_clone)
    assert listed.returncode == 0 and "predict" in listed.stdout.split(), listed.stderr
    dry = _run(str(BIN / "snakemake"), "-n", cwd=fresh_clone)
    assert dry.returncode == 1
    assert "Traceback" not in dry.stderr
    assert "config key 'databases.uniref90'" in dry.stderr
    assert "scripts/demo" in dry.stderr and "snakemake download" in dry.stderr
