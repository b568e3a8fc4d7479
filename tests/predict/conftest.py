"""Fixtures of the predict-stage tests: small random parameters and tiny raw features."""

from __future__ import annotations

import numpy as np
import pytest

from snakefold.features.synthetic import synthetic_raw_features
from tests.predict.params import write_small_params


@pytest.fixture(scope="session")
def small_params(tmp_path_factory):
    """A parameter directory with small-architecture random parameters of model_1_ptm and model_3."""
    return write_small_params(tmp_path_factory.mktemp("params"))


def write_raw_features(path, num_res: int, seed: int):
    """Raw features (AlphaFold2's keys, as the features stage writes them) of a random chain, as an npz."""
    raw = synthetic_raw_features(num_res=num_res, num_msa=30, num_templates=0, seed=seed)
    np.savez(path, **raw, sequence=np.array([b"X" * num_res]))
    return path
