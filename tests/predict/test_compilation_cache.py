"""JIT compilation is paid once per length bucket: a batch of 7 targets of 7 different lengths, in three
length buckets, compiles three times; every other prediction loads the compiled model from the cache.

Each prediction runs as its own `snakefold predict` process (as each predict job does), one after the other,
sharing one persistent compilation cache. Compilations are counted twice over, from JAX's own reports: the
counts the command writes to scores.json (JAX's monitoring events) and JAX's log (JAX_LOG_COMPILES=1), where
every compilation request logs "Finished XLA compilation" and every program loaded from the persistent cache
also logs "Persistent compilation cache hit". Without the cache every process would compile: the first
process of each bucket shows what that looks like.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from snakefold.model.param_sets import params_path
from tests.predict.conftest import write_raw_features

SNAKEFOLD = Path(sys.executable).parent / "snakefold"
BUCKETS = (16, 32, 48)
#: Seven lengths, two or three per bucket, in an order that interleaves the buckets.
LENGTHS = (10, 20, 34, 12, 24, 40, 47)


def predict_in_new_process(features: Path, params: Path, cache: Path, out_dir: Path) -> tuple[dict, str]:
    env = dict(os.environ, JAX_LOG_COMPILES="1")
    result = subprocess.run(
        [str(SNAKEFOLD), "predict", "--features", str(features), "--preset", "model_3", "--params", str(params),
         "--seed", "0", "--num-recycle", "0", "--length-buckets", ",".join(map(str, BUCKETS)),
         "--compilation-cache-dir", str(cache), "--out-dir", str(out_dir)],
        capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads((out_dir / "scores.json").read_text()), result.stderr


def compilations_in_log(log: str) -> int:
    return log.count("Finished XLA compilation of") - log.count("Persistent compilation cache hit for")


@pytest.mark.slow
def test_seven_lengths_compile_once_per_length_bucket(small_params, tmp_path):
    params = params_path(small_params, "model_3")
    cache = tmp_path / "jax_cache"
    runs_by_bucket: dict[int, list[tuple[dict, str]]] = defaultdict(list)
    for index, length in enumerate(LENGTHS):
        features = write_raw_features(tmp_path / f"target{index}.npz", length, seed=index)
        scores, log = predict_in_new_process(features, params, cache, tmp_path / f"target{index}")
        assert scores["length"] == length
        runs_by_bucket[scores["compilation"]["padded_length"]].append((scores, log))

    assert sorted(runs_by_bucket) == list(BUCKETS)
    assert sorted(len(runs) for runs in runs_by_bucket.values()) == [2, 2, 3]
    for bucket, ((first, first_log), *later) in runs_by_bucket.items():
        # The first target of a bucket compiles the model ...
        assert first["compilation"]["xla_compilations"] >= 1 and compilations_in_log(first_log) >= 1, bucket
        assert "Finished XLA compilation of jit(apply_fn)" in first_log
        # ... and every later one, of another length, loads it.
        for scores, log in later:
            assert scores["compilation"]["xla_compilations"] == 0 and compilations_in_log(log) == 0, (bucket, log)
            assert scores["compilation"]["cache_hits"] >= 1
            assert "Persistent compilation cache hit for 'jit_apply_fn'" in log
    compiled_models = [path for path in cache.iterdir() if path.name.startswith("jit_apply_fn-")]
    assert len(compiled_models) == len(BUCKETS)
