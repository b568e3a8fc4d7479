"""Optimal superposition (Kabsch) and the seed-and-extend search for the best-scoring superposition.

:func:`kabsch` finds the rotation R and translation t minimising sum_i w_i |R x_i + t - y_i|^2 (Kabsch
1976), batched over any leading dimensions, with the reflection case corrected.

Scores such as the TM-score and GDT depend on one superposition, but the superposition that minimises
RMSD over all pairs is rarely the one that maximises them. :func:`search_superpositions` is the heuristic
the TM-score program (Zhang & Skolnick 2004) and LGA (Zemla 2003) use:

1. seeds: superpose on every window of consecutive aligned pairs, for window lengths n, n/2, n/4, ...
   down to 4 (all start positions);
2. extend: compute the distances after superposition, select the pairs closer than a cut-off (widened by
   0.5 A steps until at least 3 are selected), superpose again on the selection; repeat until the
   selection stops changing or ``iterations`` rounds are done;
3. score every superposition met on the way and keep the best.

All seeds of one window length are processed at once as a batch; shapes are [S seeds, n pairs, 3].
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: Seeds superposed at once; bounds memory at about _SEED_BATCH * n * 3 doubles per array.
_SEED_BATCH = 512


def kabsch(mobile: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rotation [..., 3, 3] and translation [..., 3] with ``mobile @ R^T + t`` closest to ``target``.

    ``mobile`` and ``target`` are [..., n, 3]; ``weights`` [..., n] (default all ones) weigh each pair.
    """
    if weights is None:
        weights = np.ones(mobile.shape[:-1])
    total = np.maximum(weights.sum(axis=-1, keepdims=True), 1e-12)
    mobile_centre = np.einsum("...n,...ni->...i", weights, mobile) / total
    target_centre = np.einsum("...n,...ni->...i", weights, target) / total
    covariance = np.einsum("...n,...ni,...nj->...ij", weights, mobile - mobile_centre[..., None, :],
                           target - target_centre[..., None, :])
    u, _s, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(np.einsum("...ij,...jk->...ik", u, vt)))
    sign = np.where(sign == 0, 1.0, sign)
    correction = np.ones(covariance.shape[:-1])
    correction[..., -1] = sign
    rotation = np.einsum("...ji,...j,...kj->...ik", vt, correction, u)
    translation = target_centre - np.einsum("...ij,...j->...i", rotation, mobile_centre)
    return rotation, translation


def apply(rotation: np.ndarray, translation: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` [..., n, 3] moved by ``rotation`` [..., 3, 3] and ``translation`` [..., 3]."""
    return np.einsum("...ij,...nj->...ni", rotation, points) + translation[..., None, :]


def _selection(distance: np.ndarray, cut: float) -> np.ndarray:
    """[S, n] pairs within ``cut``, the cut widened by 0.5 A steps per seed until at least 3 are chosen."""
    count = min(3, distance.shape[-1])
    third = np.partition(distance, count - 1, axis=-1)[:, count - 1]
    widened = cut + 0.5 * np.ceil(np.maximum(third - cut, 0.0) / 0.5)
    return distance <= widened[:, None]


def _windows(n: int, minimum_length: int) -> list[np.ndarray]:
    """[S, n] masks of every window of consecutive pairs, one array per window length n, n/2, ..., 4."""
    lengths = [n]
    while lengths[-1] > minimum_length:
        lengths.append(max(lengths[-1] // 2, minimum_length))
    positions = np.arange(n)
    masks = []
    for length in lengths:
        starts = np.arange(n - length + 1)
        masks.append((positions[None, :] >= starts[:, None]) & (positions[None, :] < starts[:, None] + length))
    return masks


def search_superpositions(mobile: np.ndarray, target: np.ndarray, score: Callable[[np.ndarray], np.ndarray],
                          first_cut: float, extend_cut: float, iterations: int = 20,
                          minimum_window: int = 4) -> float:
    """The best ``score`` over the superpositions the seed-and-extend search visits.

    ``mobile`` and ``target`` are matched points [n, 3]; ``score`` maps distances [S, n] after superposition
    to scores [S]. The first selection after a seed uses ``first_cut``, later ones ``extend_cut`` (A).
    """
    n = mobile.shape[0]
    if n == 0:
        return 0.0
    if n < 3:
        rotation, translation = kabsch(mobile, target)
        distance = np.linalg.norm(apply(rotation, translation, mobile) - target, axis=-1)
        return float(score(distance[None])[0])
    best = -np.inf
    for windows in _windows(n, minimum_window):
        for start in range(0, windows.shape[0], _SEED_BATCH):
            selected = windows[start:start + _SEED_BATCH].astype(np.float64)
            batch = selected.shape[0]
            mobile_batch = np.broadcast_to(mobile, (batch, n, 3))
            target_batch = np.broadcast_to(target, (batch, n, 3))
            active = np.ones(batch, dtype=bool)
            for round_number in range(iterations + 1):
                rotation, translation = kabsch(mobile_batch[active], target_batch[active], selected[active])
                distance = np.linalg.norm(apply(rotation, translation, mobile_batch[active]) - target_batch[active],
                                          axis=-1)
                best = max(best, float(score(distance).max()))
                new_selection = _selection(distance, first_cut if round_number == 0 else extend_cut)
                unchanged = np.all(new_selection == (selected[active] > 0.5), axis=-1)
                selected[active] = new_selection
                still_moving = np.flatnonzero(active)[~unchanged]
                active[:] = False
                active[still_moving] = True
                if not active.any():
                    break
    return best
