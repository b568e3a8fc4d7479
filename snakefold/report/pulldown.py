"""A pulldown screen's results: every bait x prey pair ranked by confidence, and the ipTM heat map.

Per pair (one complex of the screen, chain A the bait, chain B the prey) its best model's scores:
``iptm`` (interface pTM), ``ptm``, ``ranking_confidence`` (AlphaFold-Multimer's 0.8 ipTM + 0.2 pTM), and
from its ``interfaces.tsv`` the residue ``contacts`` between the two chains and their ``mean_pae``.

- ``pulldown.tsv``: one line per pair, best ranking confidence first (ties by name); a pair whose
  prediction failed or has not finished is listed last with its status and empty scores, so a screen of
  N pairs always has N lines.
- ``pulldown.png``: ipTM of every bait (rows) x prey (columns), for the Snakemake report; pairs without a
  score are blank.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from snakefold.common.atomic import atomic_write_text
from snakefold.report.plots import new_figure, save_figure

COLUMNS = ("rank", "target", "bait", "prey", "ranking_confidence", "iptm", "ptm", "contacts", "mean_pae",
           "status")


@dataclass(frozen=True)
class PairResult:
    """One bait x prey complex of a screen: its scores, or None for each when it did not finish."""

    target: str
    bait: str
    prey: str
    status: str  # ok, failed, incomplete
    ranking_confidence: float | None = None
    iptm: float | None = None
    ptm: float | None = None
    contacts: int | None = None
    mean_pae: float | None = None
    #: whether its prediction used untrained (random) parameters
    untrained: bool = False


def ranked(pairs: Sequence[PairResult]) -> list[PairResult]:
    """The pairs best first: scored pairs by ranking confidence (then name), then the others by name."""
    return sorted(pairs, key=lambda pair: (pair.ranking_confidence is None, -(pair.ranking_confidence or 0.0),
                                           pair.target))


def pulldown_tsv(pairs: Sequence[PairResult]) -> str:
    def number(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    lines = ["\t".join(COLUMNS)]
    for rank, pair in enumerate(ranked(pairs), start=1):
        lines.append("\t".join([
            str(rank), pair.target, pair.bait, pair.prey, number(pair.ranking_confidence, 4), number(pair.iptm, 4),
            number(pair.ptm, 4), "" if pair.contacts is None else str(pair.contacts), number(pair.mean_pae, 3),
            pair.status]))
    return "\n".join(lines) + "\n"


def write_pulldown_tsv(path: str | os.PathLike, pairs: Sequence[PairResult]) -> None:
    atomic_write_text(path, pulldown_tsv(pairs))


def iptm_matrix(pairs: Sequence[PairResult]) -> tuple[list[str], list[str], np.ndarray]:
    """Baits, preys (each in order of first appearance) and ipTM [baits, preys] (NaN where there is none)."""
    baits = list(dict.fromkeys(pair.bait for pair in pairs))
    preys = list(dict.fromkeys(pair.prey for pair in pairs))
    matrix = np.full((len(baits), len(preys)), np.nan)
    for pair in pairs:
        if pair.iptm is not None:
            matrix[baits.index(pair.bait), preys.index(pair.prey)] = pair.iptm
    return baits, preys, matrix


def pulldown_figure(pairs: Sequence[PairResult], untrained: bool = False) -> Figure:
    """The ipTM heat map, each cell labelled with its value."""
    baits, preys, matrix = iptm_matrix(pairs)
    figure = new_figure(max(4.0, 1.0 + 0.45 * len(preys) + 2.0), max(3.0, 1.0 + 0.35 * len(baits) + 1.5))
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="auto")
    axes.set_xticks(range(len(preys)), preys, rotation=90, fontsize=8)
    axes.set_yticks(range(len(baits)), baits, fontsize=8)
    axes.set_xlabel("Prey")
    axes.set_ylabel("Bait")
    if len(baits) * len(preys) <= 400:
        for (row, column), value in np.ndenumerate(matrix):
            if not math.isnan(value):
                axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=7,
                          color="black" if value > 0.6 else "white")
    figure.colorbar(image, ax=axes).set_label("ipTM (best model)")
    title = "Pulldown: interface pTM of every bait x prey pair"
    axes.set_title(title + (" (untrained parameters)" if untrained else ""), fontsize=10)
    return figure


def plot_pulldown(path: str | os.PathLike, pairs: Sequence[PairResult], untrained: bool = False,
                  dpi: int = 100) -> None:
    save_figure(pulldown_figure(pairs, untrained), path, dpi)


def pair_result(target_dir: str | os.PathLike, target: str, bait: str, prey: str) -> PairResult:
    """A pair's result from its report (``ranking.json``, best model first, and ``interfaces.tsv``), or
    ``incomplete`` with no scores when its report is not there (failed, or not run yet)."""
    directory = Path(target_dir)
    try:
        ranking = json.loads((directory / "ranking.json").read_text(encoding="utf-8"))
        best = ranking["models"][0]
        with open(directory / "interfaces.tsv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except (OSError, ValueError, KeyError, IndexError):
        return PairResult(target, bait, prey, "incomplete")
    interface = rows[0] if rows else {}
    return PairResult(target, bait, prey, "ok", ranking_confidence=float(best["ranking_confidence"]),
                      iptm=float(best["iptm"]), ptm=float(best["ptm"]),
                      contacts=int(interface["contacts"]) if interface.get("contacts") else None,
                      mean_pae=float(interface["mean_pae"]) if interface.get("mean_pae") else None,
                      untrained=bool(ranking.get("untrained")))


def write_pulldown(results_dir: str | os.PathLike, pairs: Sequence[tuple[str, str, str]], tsv: str | os.PathLike,
                   png: str | os.PathLike, dpi: int = 100) -> list[PairResult]:
    """Read every pair's (target, bait, prey) report under ``results_dir``; write the table and the heat map."""
    results = [pair_result(Path(results_dir) / target, target, bait, prey) for target, bait, prey in pairs]
    write_pulldown_tsv(tsv, results)
    plot_pulldown(png, results, any(pair.untrained for pair in results), dpi)
    return results
