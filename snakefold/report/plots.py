"""The three figures of a target, drawn with matplotlib's object API (no global pyplot state, Agg canvas).

- ``plddt.png``: pLDDT per residue for every model, best first, over the AFDB confidence bands.
- ``pae.png``: one predicted aligned error heat map per pTM model (entry (i, j): expected error at residue j
  when aligned on residue i), one shared colour bar in Angstrom.
- ``coverage.png``: the MSA as ColabFold draws it: one row per sequence, sorted by identity to the query,
  coloured by that identity where the sequence is aligned (gaps blank); the black line is the number of
  aligned sequences at each position (the coverage).

Each figure carries the target's name, and when the parameters were untrained a warning in plain words.
Text that spans the figure (the warning, the PAE figure's title) is broken into lines between words to
fit its width, however narrow the figure (a single PAE panel), and the layout keeps room for it.
"""

from __future__ import annotations

import io
import os
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from snakefold.common.atomic import atomic_write_bytes
from snakefold.common.residue_constants import HHBLITS_GAP_ID
from snakefold.report.afdb import PLDDT_CATEGORIES
from snakefold.report.predictions import ModelPrediction

UNTRAINED_WARNING = "parameters are untrained (random); structures are meaningless"
#: AFDB colours of the pLDDT categories (very high, confident, low, very low).
CATEGORY_COLOURS = {"H": "#0053d6", "M": "#65cbf3", "L": "#ffdb13", "D": "#ff7d45"}
MAX_PAE_COLUMNS = 5
#: Space (inches) kept free at each side of a line of text that spans the figure.
TEXT_MARGIN_IN = 0.15


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with constrained layout, drawn on an Agg canvas."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int) -> None:
    """Write ``figure`` as a PNG file at ``dpi``, atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())


def _fit_to_width(text: Text, figure: Figure) -> None:
    """Break ``text`` into lines between words so that each fits the figure's width less the margins; a single
    word still too wide (a long target name) shrinks the font. Text scales with the figure at any dpi."""
    renderer = figure.canvas.get_renderer()
    available = (figure.get_figwidth() - 2 * TEXT_MARGIN_IN) * figure.dpi

    def width(line: str) -> float:
        text.set_text(line)
        return text.get_window_extent(renderer).width

    words = text.get_text().split()
    lines = [words[0]]
    for word in words[1:]:
        joined = f"{lines[-1]} {word}"
        if width(joined) <= available:
            lines[-1] = joined
        else:
            lines.append(word)
    widest = max(width(line) for line in lines)
    if widest > available:
        text.set_fontsize(text.get_fontsize() * available / widest)
    text.set_text("\n".join(lines))


def _warn_if_untrained(figure: Figure, untrained: bool) -> None:
    """A red warning at the bottom of the figure, under the axes' labels (the layout makes room for it)."""
    if untrained:
        warning = figure.supxlabel(f"Warning: {UNTRAINED_WARNING}.", color="#b00020", fontsize=10,
                                   fontweight="bold")
        _fit_to_width(warning, figure)


def _chain_starts(chains: Sequence[tuple[str, int]]) -> list[tuple[str, float, float]]:
    """(chain ID, first residue, last residue) of each chain of a complex, residues counted across chains."""
    spans, start = [], 1
    for chain_id, length in chains:
        spans.append((chain_id, start, start + length - 1))
        start += length
    return spans


def _mark_chains(axes, chains: Sequence[tuple[str, int]], both: bool = False) -> None:
    """Dashed lines between the chains of a complex (``chains``: (ID, length) in order), their IDs on top."""
    if len(chains) < 2:
        return
    spans = _chain_starts(chains)
    for _, start, _ in spans[1:]:
        axes.axvline(start - 0.5, color="black", linestyle="--", linewidth=0.8, zorder=20)
        if both:
            axes.axhline(start - 0.5, color="black", linestyle="--", linewidth=0.8, zorder=20)
    top = axes.secondary_xaxis("top")
    top.set_xticks([(start + end) / 2 for _, start, end in spans], [chain_id for chain_id, _, _ in spans])
    top.tick_params(length=0, labelsize=8)


def _model_label(rank: int, model: ModelPrediction) -> str:
    return f"rank {rank + 1}: {model.name}"


def plot_plddt(path: str | os.PathLike, target: str, ranked: Sequence[ModelPrediction], untrained: bool,
               dpi: int = 100, chains: Sequence[tuple[str, int]] = ()) -> None:
    """Write ``plddt.png`` (:func:`plddt_figure`)."""
    save_figure(plddt_figure(target, ranked, untrained, chains), path, dpi)


def plddt_figure(target: str, ranked: Sequence[ModelPrediction], untrained: bool,
                 chains: Sequence[tuple[str, int]] = ()) -> Figure:
    """pLDDT per residue, one line per model (best first), over the AFDB confidence bands; a complex's
    ``chains`` ((ID, length) in order) are marked."""
    length = ranked[0].plddt.size
    figure = new_figure(9, 4.8)
    axes = figure.add_subplot()
    upper = 100.0
    for letter, meaning, lower in PLDDT_CATEGORIES:
        axes.axhspan(lower, upper, color=CATEGORY_COLOURS[letter], alpha=0.18, linewidth=0,
                     label=f"{meaning} ({lower:g}-{upper:g})")
        upper = lower
    residues = np.arange(1, length + 1)
    for rank, model in enumerate(ranked):
        axes.plot(residues, model.plddt, linewidth=1.6 if rank == 0 else 1.0, zorder=3 + len(ranked) - rank,
                  label=f"{_model_label(rank, model)} (mean {model.mean_plddt:.1f})")
    axes.set_xlim(1, max(length, 2))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, 100)
    axes.set_xlabel("Residue")
    axes.set_ylabel("pLDDT (predicted lDDT-Cα, 0-100)")
    axes.set_title(f"{target}: predicted lDDT per residue")
    _mark_chains(axes, chains)
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    _warn_if_untrained(figure, untrained)
    return figure


def plot_pae(path: str | os.PathLike, target: str, ranked: Sequence[ModelPrediction], untrained: bool,
             dpi: int = 100, chains: Sequence[tuple[str, int]] = ()) -> None:
    """Write ``pae.png`` (:func:`pae_figure`)."""
    save_figure(pae_figure(target, ranked, untrained, chains), path, dpi)


def pae_figure(target: str, ranked: Sequence[ModelPrediction], untrained: bool,
               chains: Sequence[tuple[str, int]] = ()) -> Figure:
    """One PAE heat map per model that has one (pTM presets), best first, with a shared colour bar; a
    complex's ``chains`` ((ID, length) in order) are marked on both axes."""
    with_pae = [(rank, model) for rank, model in enumerate(ranked) if model.predicted_aligned_error is not None]
    if not with_pae:
        raise ValueError(f"{target}: no model has a predicted aligned error (no pTM preset was run)")
    columns = min(len(with_pae), MAX_PAE_COLUMNS)
    rows = -(-len(with_pae) // columns)
    figure = new_figure(3.4 * columns + 1.2, 3.5 * rows + 0.9)
    grid = figure.subplots(rows, columns, squeeze=False)
    max_pae = max(model.max_predicted_aligned_error for _rank, model in with_pae)
    length = with_pae[0][1].plddt.size
    extent = (0.5, length + 0.5, length + 0.5, 0.5)
    image = None
    for index, axes in enumerate(grid.flat):
        if index >= len(with_pae):
            axes.set_axis_off()
            continue
        rank, model = with_pae[index]
        image = axes.imshow(model.predicted_aligned_error, cmap="Greens_r", vmin=0.0, vmax=max_pae,
                            extent=extent, interpolation="nearest")
        ptm = f", pTM {model.ptm:.2f}" if model.ptm is not None else ""
        axes.set_title(f"{_model_label(rank, model)}{ptm}", fontsize=9)
        axes.set_xlabel("Scored residue")
        axes.set_ylabel("Aligned residue")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        _mark_chains(axes, chains, both=True)
    colour_bar = figure.colorbar(image, ax=grid, shrink=0.9)
    colour_bar.set_label("Expected position error (Å)")
    _fit_to_width(figure.suptitle(f"{target}: predicted aligned error"), figure)
    _warn_if_untrained(figure, untrained)
    return figure


def msa_identity(msa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per MSA row, identity to the query (row 0) over its aligned positions; and the aligned mask.

    ``msa`` [N, L] holds HHblits alphabet ids (gap = 21). Returns identity [N] in [0, 1] and aligned [N, L].
    """
    aligned = msa != HHBLITS_GAP_ID
    matches = (msa == msa[0:1]) & aligned
    identity = matches.sum(axis=1) / np.maximum(aligned.sum(axis=1), 1)
    return identity, aligned


def plot_coverage(path: str | os.PathLike, target: str, msa: np.ndarray, untrained: bool,
                  dpi: int = 100, chains: Sequence[tuple[str, int]] = (), paired_rows: int = 0) -> None:
    """Write ``coverage.png`` (:func:`coverage_figure`)."""
    save_figure(coverage_figure(target, msa, untrained, chains, paired_rows), path, dpi)


def coverage_figure(target: str, msa: np.ndarray, untrained: bool, chains: Sequence[tuple[str, int]] = (),
                    paired_rows: int = 0) -> Figure:
    """The MSA coloured by identity to the query, rows sorted by identity, with the coverage line.

    For a complex, ``chains`` ((ID, length) in order) are marked, and the first ``paired_rows`` rows of the
    merged MSA (AlphaFold-Multimer's rows paired across chains, the query's included) stay below the others,
    each part sorted by identity, a line between them.
    """
    identity, aligned = msa_identity(msa)
    paired = np.arange(len(identity)) < paired_rows
    order = np.lexsort((-identity, ~paired))
    picture = np.where(aligned[order], identity[order, None].astype(np.float32), np.float32(np.nan))
    depth, length = msa.shape
    figure = new_figure(9, 5)
    axes = figure.add_subplot()
    image = axes.imshow(picture, cmap="rainbow_r", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest",
                        origin="lower", extent=(0.5, length + 0.5, 0, depth))
    axes.plot(np.arange(1, length + 1), aligned.sum(axis=0), color="black", linewidth=1.2,
              label="coverage (aligned sequences)")
    axes.set_xlim(0.5, length + 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, depth * 1.02 if depth > 1 else 1.5)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("Position in the query")
    axes.set_ylabel("Sequences")
    contents = "the query alone" if depth == 1 else f"{depth} sequences"
    axes.set_title(f"{target}: sequence coverage (MSA of {contents})")
    _mark_chains(axes, chains)
    if paired_rows:
        axes.axhline(paired_rows, color="black", linewidth=1.0, linestyle=":",
                     label=f"{paired_rows} rows paired across chains (below)")
    axes.legend(loc="upper right", fontsize=8)
    colour_bar = figure.colorbar(image, ax=axes)
    colour_bar.set_label("Sequence identity to the query")
    _warn_if_untrained(figure, untrained)
    return figure
