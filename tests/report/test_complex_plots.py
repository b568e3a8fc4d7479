"""Figures of a complex: chain boundaries on pLDDT, PAE and coverage, and the paired MSA rows set apart."""

from __future__ import annotations

import numpy as np

from snakefold.report import plots
from tests.report.test_report_workflow import _pae_models

#: ubiquitin's 76 residues read as a complex of chains A (30), B (30) and C (16)
CHAINS = (("A", 30), ("B", 30), ("C", 16))


def _chain_labels(figure) -> list[list[str]]:
    """The chain IDs written above each set of axes (matplotlib's secondary x axes)."""
    figure.canvas.draw()
    return [[label.get_text() for label in child.get_xticklabels()] for axes in figure.axes
            for child in axes.child_axes]


def _boundaries(axes) -> tuple[list[float], list[float]]:
    """x of the vertical and y of the horizontal dashed lines of ``axes``."""
    dashed = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
    vertical = sorted(line.get_xdata()[0] for line in dashed if line.get_xdata()[0] == line.get_xdata()[1])
    horizontal = sorted(line.get_ydata()[0] for line in dashed if line.get_ydata()[0] == line.get_ydata()[1])
    return vertical, horizontal


def test_plddt_and_pae_of_a_complex_mark_its_chains(tmp_path):
    models = _pae_models(tmp_path, 2)
    plddt = plots.plddt_figure("abc", models, untrained=True, chains=CHAINS)
    assert _chain_labels(plddt) == [["A", "B", "C"]]
    assert _boundaries(plddt.axes[0])[0] == [30.5, 60.5]
    pae = plots.pae_figure("abc", models, untrained=True, chains=CHAINS)
    heat_maps = [axes for axes in pae.axes if axes.get_images()]
    assert [_boundaries(axes) for axes in heat_maps] == [([30.5, 60.5], [30.5, 60.5])] * 2
    assert _chain_labels(pae) == [["A", "B", "C"]] * 2
    # A single chain gets neither lines nor labels.
    single = plots.plddt_figure("ubiquitin", models, untrained=True)
    assert _chain_labels(single) == [] and _boundaries(single.axes[0]) == ([], [])


def test_coverage_of_a_complex_keeps_the_paired_rows_apart():
    rng = np.random.default_rng(0)
    length = sum(size for _, size in CHAINS)
    query = rng.integers(0, 20, length)
    msa = np.tile(query, (12, 1))
    # Paired rows: every chain covered in part, and little like the query (sorted by identity alone they
    # would come after the unpaired rows).
    msa[1:4, :] = np.where(rng.random((3, length)) < 0.3, 21, (query + 1) % 20)
    msa[4:, 30:] = 21  # unpaired rows of chain A alone (block-diagonal), identical to the query there
    figure = plots.coverage_figure("abc", msa, untrained=True, chains=CHAINS, paired_rows=4)
    axes = figure.axes[0]
    picture = np.ma.filled(axes.get_images()[0].get_array(), np.nan)
    # The 4 paired rows below, then the unpaired rows (chain A's alone: gaps past residue 30).
    assert not np.isnan(picture[:4, 30:]).all() and np.isnan(picture[4:, 30:]).all()
    separators = [line for line in axes.get_lines() if line.get_linestyle() == ":"]
    assert [line.get_ydata()[0] for line in separators] == [4]
    assert _chain_labels(figure) == [["A", "B", "C"]]
