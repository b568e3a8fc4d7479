"""Interfaces of a complex: contacts across chains (heavy atoms within 8 A) with their PAE and pLDDT."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from snakefold.report.interfaces import COLUMNS, contact_pairs, interfaces, interfaces_tsv, residue_ranges

CA = 1


def model(coordinates: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """atom37 positions and mask with one atom (CA) per residue."""
    positions = np.zeros((len(coordinates), 37, 3), dtype=np.float32)
    mask = np.zeros((len(coordinates), 37), dtype=np.float32)
    positions[:, CA] = coordinates
    mask[:, CA] = 1
    return positions, mask


def test_three_chains_one_interface():
    # A: five residues along x, 4 A apart; B: one residue 6 A above A's second residue, one far away;
    # C: far from both.
    positions, mask = model([(4.0 * i, 0, 0) for i in range(5)] + [(4, 6, 0), (100, 0, 0)] + [(0, 100, 0)])
    chain_index = np.array([0] * 5 + [1] * 2 + [2])
    plddt = np.arange(8, dtype=np.float32) * 10
    pae = np.arange(64, dtype=np.float32).reshape(8, 8)
    ab, ac, bc = interfaces(positions, mask, chain_index, ["A", "B", "C"], plddt, pae)
    # B's first residue is within 8 A of A's residues 1-3 (7.2, 6.0 and 7.2 A), not of the 4th (10 A).
    assert ab.pairs.tolist() == [[0, 5], [1, 5], [2, 5]]
    assert (ab.residues_a.tolist(), ab.residues_b.tolist()) == ([0, 1, 2], [5])
    assert ab.mean_pae == np.mean([(pae[i, 5] + pae[5, i]) / 2 for i in range(3)])
    assert ab.mean_plddt == np.mean([0, 10, 20, 50])
    assert [(len(x.pairs), x.mean_pae, x.mean_plddt) for x in (ac, bc)] == [(0, None, None), (0, None, None)]

    lines = interfaces_tsv([ab, ac, bc], chain_index).splitlines()
    assert lines[0].split("\t") == list(COLUMNS)
    assert lines[1].split("\t") == ["A", "B", "3", "3", "1", f"{ab.mean_pae:.3f}", "20.00", "1-3", "1"]
    assert lines[2].split("\t") == ["A", "C", "0", "0", "0", "", "", "", ""]


def test_without_a_pae_head_the_mean_pae_is_empty():
    positions, mask = model([(0, 0, 0), (5, 0, 0)])
    [interface] = interfaces(positions, mask, np.array([0, 1]), ["A", "B"], np.array([50.0, 70.0]), None)
    assert (len(interface.pairs), interface.mean_pae, interface.mean_plddt) == (1, None, 60.0)


def test_residue_ranges():
    assert residue_ranges([3, 4, 5, 6, 7, 12, 14, 15]) == "3-7,12,14-15"
    assert residue_ranges([]) == ""


@settings(max_examples=60, deadline=None)
@given(coordinates=arrays(np.float32, st.tuples(st.integers(2, 24), st.just(3)),
                          elements=st.floats(-15, 15, width=32)),
       data=st.data())
def test_contact_pairs_are_the_brute_force_ones(coordinates, data):
    count = len(coordinates)
    chain_index = np.array(data.draw(st.lists(st.integers(0, 2), min_size=count, max_size=count)))
    positions = np.zeros((count, 37, 3), dtype=np.float32)
    mask = np.zeros((count, 37), dtype=np.float32)
    # Two atoms per residue: CA at the point, CB 1.5 A away along x.
    positions[:, 1], positions[:, 3] = coordinates, coordinates + np.array([1.5, 0, 0], dtype=np.float32)
    mask[:, [1, 3]] = 1
    expected = sorted(
        (i, j) for i in range(count) for j in range(i + 1, count) if chain_index[i] != chain_index[j]
        and min(np.linalg.norm(positions[i, a] - positions[j, b]) for a in (1, 3) for b in (1, 3)) <= 8.0)
    assert [tuple(pair) for pair in contact_pairs(positions, mask, chain_index).tolist()] == expected
