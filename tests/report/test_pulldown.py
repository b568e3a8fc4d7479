"""A pulldown screen's table and heat map: every pair listed, best ranking confidence first."""

from __future__ import annotations

import math

from PIL import Image

from snakefold.report.pulldown import COLUMNS, PairResult, iptm_matrix, plot_pulldown, pulldown_tsv


def screen() -> list[PairResult]:
    pairs = []
    for b, bait in enumerate(("B1", "B2", "B3")):
        for p, prey in enumerate(("P1", "P2", "P3", "P4")):
            iptm, ptm = 0.05 * (b * 4 + p), 0.5
            pairs.append(PairResult(f"{bait}__{prey}", bait, prey, "ok", 0.8 * iptm + 0.2 * ptm, iptm, ptm,
                                    b * 4 + p, 20.0 - p))
    pairs[5] = PairResult("B2__P2", "B2", "P2", "failed")
    return pairs


def test_pulldown_tsv_lists_every_pair_best_first_and_the_failed_last():
    lines = [line.split("\t") for line in pulldown_tsv(screen()).splitlines()]
    assert lines[0] == list(COLUMNS)
    rows = lines[1:]
    assert len(rows) == 12
    assert [row[0] for row in rows] == [str(rank) for rank in range(1, 13)]
    assert [row[1] for row in rows[:2]] == ["B3__P4", "B3__P3"]
    assert rows[-1][1:4] == ["B2__P2", "B2", "P2"] and rows[-1][4:9] == [""] * 5 and rows[-1][9] == "failed"
    confidences = [float(row[4]) for row in rows[:-1]]
    assert confidences == sorted(confidences, reverse=True)
    assert rows[0][4:9] == [f"{0.8 * 0.55 + 0.1:.4f}", "0.5500", "0.5000", "11", "17.000"]


def test_iptm_heat_map(tmp_path):
    baits, preys, matrix = iptm_matrix(screen())
    assert (baits, preys) == (["B1", "B2", "B3"], ["P1", "P2", "P3", "P4"])
    assert math.isnan(matrix[1, 1]) and matrix[2, 3] == 0.55
    plot_pulldown(tmp_path / "pulldown.png", screen(), untrained=True)
    with Image.open(tmp_path / "pulldown.png") as image:
        assert image.format == "PNG" and image.size[0] > 300
