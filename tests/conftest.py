"""Shared fixtures: the repository root and the real data in ../shared/data (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SNAKEFOLD_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
SHARED_REFERENCE = SHARED_DATA.parent / "reference"


def pytest_collection_modifyitems(items):
    """Under pytest-xdist (scripts/test runs two workers, ``--dist loadgroup``) a module's tests stay on one
    worker, so that its module fixtures are made once; the cluster tests all share one worker, their
    session fixtures (the local Slurm clusters, the demo-like batch's baseline run) and the node's Slurm."""
    for item in items:
        module = item.nodeid.split("::")[0]
        group = "tests/cluster" if module.startswith("tests/cluster/") else module
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real structures and MSAs. Tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set SNAKEFOLD_SHARED_DATA to its path)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """../shared/reference: published AlphaFold2 parameter names and shapes."""
    if not SHARED_REFERENCE.is_dir():
        pytest.skip(f"reference material not found at {SHARED_REFERENCE}")
    return SHARED_REFERENCE
