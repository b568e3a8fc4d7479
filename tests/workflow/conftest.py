"""Run the real Snakefile with the real snakemake in a temporary working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def run_snakemake(workdir: Path, *args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir``; returns the completed process."""
    env = dict(os.environ, PATH=f"{SNAKEMAKE.parent}{os.pathsep}{os.environ['PATH']}")
    command = [str(SNAKEMAKE), "--snakefile", str(REPO_ROOT / "Snakefile"), "--directory", str(workdir), *args]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


#: Settings for DAG tests that need no database: the MSA is the query alone, and there are no templates.
NO_DATABASES = {"msa": {"mode": "single_sequence"}, "templates": {"enabled": False}}


def write_config(workdir: Path, config: dict) -> Path:
    """Write ``config`` as the workdir's config.yaml."""
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def snakemake_run():
    return run_snakemake


def job_counts(stdout: str) -> dict[str, int]:
    """The 'Job stats' table of a snakemake run or dry run, as rule -> number of jobs."""
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("Job stats"))
    counts = {}
    for line in lines[start + 3:]:
        words = line.split()
        if len(words) != 2 or not words[1].isdigit():
            break
        counts[words[0]] = int(words[1])
    return counts
