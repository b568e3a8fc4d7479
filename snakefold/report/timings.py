"""``timings.json``: where a target's time went, per stage and per item (model run, relaxed rank, job).

Sources, each used when present:

- the predict stage's ``scores.json`` ``timings`` (``compile_s``, ``predict_s``) of every model run;
- the relax stage's ``rank_<i>.json``: its top-level seconds (keys ending in ``_s``, e.g. ``wall_time_s``);
- Snakemake benchmark files (a rule's ``benchmark:`` directive) under ``<benchmarks>/<rule>/...tsv`` whose
  path names the target's sequence key or the target: wall-clock seconds, CPU seconds and peak memory.
  The mean over the rows is taken when a benchmark was repeated.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Iterable

from snakefold.common.errors import SnakefoldError
from snakefold.report.predictions import ModelPrediction

#: Snakemake benchmark column -> measure name in timings.json.
BENCHMARK_COLUMNS = {"s": "wall_s", "cpu_time": "cpu_s", "max_rss": "max_rss_mb"}


def _numeric_measures(measures: dict, where: Path) -> dict[str, float]:
    if not isinstance(measures, dict):
        raise SnakefoldError(f"{where}: 'timings' must be an object of measure -> seconds")
    return {name: float(value) for name, value in measures.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0}


def benchmark_measures(path: Path) -> dict[str, float]:
    """Mean wall seconds, CPU seconds and peak resident memory (MB) of a Snakemake benchmark TSV."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    measures = {}
    for column, name in BENCHMARK_COLUMNS.items():
        values = []
        for row in rows:
            try:
                values.append(float(row.get(column, "")))
            except ValueError:
                continue  # Snakemake writes '-' where a measure is unavailable
        values = [value for value in values if math.isfinite(value) and value >= 0]
        if values:
            measures[name] = sum(values) / len(values)
    return measures


def _names_target(relative: Path, seq_key: str, target: str) -> bool:
    parts = [part.removesuffix(".tsv") for part in relative.parts]
    return any(seq_key in part for part in parts) or target in parts


def collect_timings(target: str, seq_key: str, models: Iterable[ModelPrediction],
                    relaxed_scores: Iterable[tuple[int, Path]] = (), benchmark_dir: Path | None = None) -> dict:
    stages: dict[str, dict[str, dict[str, float]]] = {}
    for model in models:
        stages.setdefault("predict", {})[model.name] = _numeric_measures(
            model.scores["timings"], model.directory / "scores.json")
    for rank, path in relaxed_scores:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        if not isinstance(document, dict):
            raise SnakefoldError(f"{path}: the relax metrics must be a JSON object")
        seconds = _numeric_measures({key: value for key, value in document.items() if key.endswith("_s")}, path)
        if seconds:
            stages.setdefault("relax", {})[f"rank_{rank}"] = seconds
    if benchmark_dir is not None and Path(benchmark_dir).is_dir():
        for path in sorted(Path(benchmark_dir).rglob("*.tsv")):
            relative = path.relative_to(benchmark_dir)
            if len(relative.parts) >= 2 and _names_target(relative, seq_key, target):
                # The item is what the path names besides the stage and the target: a model run's job
                # measures join the model run's own timings; a job of the whole target is the stage's "job".
                parts = [part for part in relative.with_suffix("").parts[1:] if part not in (seq_key, target)]
                item = "/".join(parts) or "job"
                stages.setdefault(relative.parts[0], {}).setdefault(item, {}).update(benchmark_measures(path))
    return {"target": target, "seq_key": seq_key, "stages": stages}
