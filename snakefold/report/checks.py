"""Regression checks: one measured value of one target against one configured threshold.

Metrics, with the config threshold that bounds each (``regression.thresholds``; null switches a check off
and the value is still reported):

- ``lddt_ca`` >= ``min_lddt_ca``: lDDT-Cα of the best model against the reference structure;
- ``tm_score`` >= ``min_tm_score``: TM-score, normalised by the reference's length;
- ``gdt_ts`` >= ``min_gdt_ts``: GDT-TS in percent (0-100), as CASP reports it;
- ``rmsd`` <= ``max_rmsd``: Cα RMSD (Å) after optimal superposition;
- ``dockq`` >= ``min_dockq``: a complex's DockQ against the reference complex (the mean over its interfaces,
  :mod:`snakefold.metrics.dockq`);
- ``max_coordinate_deviation`` <= ``max_coordinate_deviation``: the largest displacement (Å) of any atom of
  a model run from its golden output (no superposition: the same parameters give the same frame);
- ``max_plddt_deviation`` <= ``max_plddt_deviation``: the largest pLDDT difference from the golden output.

Checks that are not numbers (golden outputs missing, made for another sequence or other parameters) are
failures with a message and no value.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: metric -> (threshold key, bound, unit)
METRICS: dict[str, tuple[str, str, str]] = {
    "lddt_ca": ("min_lddt_ca", "min", ""),
    "tm_score": ("min_tm_score", "min", ""),
    "gdt_ts": ("min_gdt_ts", "min", ""),
    "rmsd": ("max_rmsd", "max", " Å"),
    "dockq": ("min_dockq", "min", ""),
    "max_coordinate_deviation": ("max_coordinate_deviation", "max", " Å"),
    "max_plddt_deviation": ("max_plddt_deviation", "max", ""),
}
THRESHOLD_KEYS = tuple(key for key, _bound, _unit in METRICS.values())


@dataclass(frozen=True)
class Check:
    """The outcome of one check; ``subject`` is what was measured (``best model``, a model run name)."""

    metric: str
    subject: str
    value: float | None
    threshold: float | None
    bound: str | None
    passed: bool
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    unit = METRICS[metric][2] if metric in METRICS else ""
    return f"{value:.3f}{unit}" if abs(value) < 1000 else f"{value:.4g}{unit}"


def evaluate(target: str, metric: str, subject: str, value: float, thresholds: dict) -> Check:
    """Compare ``value`` with the threshold the config gives ``metric`` (none configured: passes)."""
    key, bound, _unit = METRICS[metric]
    threshold = thresholds.get(key)
    shown = format_value(metric, value)
    if not math.isfinite(value):
        return Check(metric, subject, None, threshold, bound, False,
                     f"target {target}: {metric} of {subject} is not a number")
    if threshold is None:
        return Check(metric, subject, float(value), None, bound, True,
                     f"target {target}: {metric} of {subject} = {shown} (no threshold)")
    passed = value >= threshold if bound == "min" else value <= threshold
    relation = ("at least" if bound == "min" else "at most") if passed else (
        "below the minimum" if bound == "min" else "above the maximum")
    verdict = "ok" if passed else "REGRESSION"
    return Check(metric, subject, float(value), float(threshold), bound, passed,
                 f"{verdict}: target {target}: {metric} of {subject} = {shown}, {relation} "
                 f"{format_value(metric, threshold)} ({key})")


def failure(target: str, metric: str, subject: str, message: str) -> Check:
    """A check that failed without a number to show (missing or mismatched inputs)."""
    return Check(metric, subject, None, None, None, False, f"REGRESSION: target {target}: {message}")
