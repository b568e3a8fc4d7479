"""Fixtures of the report tests: synthetic predict-stage outputs written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakefold.common.fasta import Target
from snakefold.report.target_report import write_target_report
from tests.report.synthetic import write_sequence_outputs

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
VILLIN = "MLSDEDFKAVFGMTRSAFANLPLWKQQNLKKEKGLF"
MODELS = ("model_1_ptm_seed0", "model_2_ptm_seed0", "model_3_ptm_seed1")


@pytest.fixture(scope="session")
def ubiquitin_run(tmp_path_factory) -> dict:
    """Three pTM model runs of ubiquitin, the best one relaxed, and the report written for it."""
    root = tmp_path_factory.mktemp("ubiquitin_run")
    raw = write_sequence_outputs(root / "work", UBIQUITIN, models=MODELS, msa_depth=60)
    target = Target("ubiquitin", "sp|P0CG48|UBC_HUMAN", "Human ubiquitin (PDB 1UBQ)", UBIQUITIN, "batch.fasta", 1)
    out_dir = root / "results" / "ubiquitin"
    document = write_target_report(target, raw["ranking"], raw["features"], out_dir, raw["relaxed"])
    return {**raw, "target": target, "out_dir": out_dir, "document": document, "root": root}


@pytest.fixture
def results_root(tmp_path) -> Path:
    return tmp_path / "results"
