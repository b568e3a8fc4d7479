"""Confidence files in the formats of the AlphaFold Protein Structure Database (AFDB), so that viewers and
scripts written for AFDB entries read snakefold's outputs unchanged.

- **PAE** (``pae_<model>.json``, AFDB format since version 3): a one-element list
  ``[{"predicted_aligned_error": [[...]], "max_predicted_aligned_error": 31.75}]``. Entry (i, j) is the
  expected error (Angstrom) at residue j when the model is aligned on residue i, rounded to the closest
  integer as the AFDB publishes it; ``max_predicted_aligned_error`` is the largest value the head can
  express, unrounded.
- **Confidence** (``confidence_<model>.json``): ``{"residueNumber": [1..L], "confidenceScore": [pLDDT,
  2 decimals], "confidenceCategory": [...]}`` with the AFDB categories of pLDDT:
  ``D`` very low (< 50), ``L`` low (50-70), ``M`` confident (70-90), ``H`` very high (>= 90).
"""

from __future__ import annotations

import numpy as np

#: AFDB pLDDT categories: (letter, meaning, lower bound inclusive), best first.
PLDDT_CATEGORIES: tuple[tuple[str, str, float], ...] = (
    ("H", "very high", 90.0), ("M", "confident", 70.0), ("L", "low", 50.0), ("D", "very low", 0.0),
)


def plddt_category(score: float) -> str:
    """The AFDB category letter of one pLDDT value in [0, 100]."""
    if not 0.0 <= score <= 100.0:
        raise ValueError(f"pLDDT {score} is outside [0, 100]")
    return next(letter for letter, _meaning, bound in PLDDT_CATEGORIES if score >= bound)


def pae_document(pae: np.ndarray, max_pae: float) -> list[dict]:
    """The AFDB PAE document of an [L, L] predicted aligned error matrix."""
    pae = np.asarray(pae, dtype=np.float64)
    if pae.ndim != 2 or pae.shape[0] != pae.shape[1]:
        raise ValueError(f"the PAE must be a square matrix, not shape {pae.shape}")
    if not np.all(np.isfinite(pae)):
        raise ValueError("the PAE has non-finite values")
    return [{"predicted_aligned_error": np.rint(pae).astype(np.int64).tolist(),
             "max_predicted_aligned_error": float(max_pae)}]


def confidence_document(plddt: np.ndarray) -> dict:
    """The AFDB confidence document of per-residue pLDDT [L]."""
    plddt = np.asarray(plddt, dtype=np.float64)
    if plddt.ndim != 1:
        raise ValueError(f"pLDDT must be one value per residue, not shape {plddt.shape}")
    return {
        "residueNumber": list(range(1, plddt.size + 1)),
        "confidenceScore": [round(float(score), 2) for score in plddt],
        "confidenceCategory": [plddt_category(float(score)) for score in plddt],
    }
