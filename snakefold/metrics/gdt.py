"""GDT-TS and GDT-HA: the global distance test (Zemla et al. 1999; LGA, Zemla 2003) on CA atoms.

For a distance cut-off d, P_d is the largest fraction of the reference's residues (those with a CA) whose
paired model CA can be brought within d A of it by one superposition. Then

    GDT-TS = 100 * (P_1 + P_2 + P_4 + P_8) / 4,      GDT-HA = 100 * (P_0.5 + P_1 + P_2 + P_4) / 4.

Each P_d is maximised over superpositions with the seed-and-extend search of
:mod:`snakefold.metrics.superposition`, selecting pairs within d itself, as LGA does; residues are
paired by sequence alignment (:mod:`snakefold.metrics.pairing`).
"""

from __future__ import annotations

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.protein import Protein
from snakefold.metrics.pairing import ResiduePairs, pair_residues, paired_atoms
from snakefold.metrics.superposition import search_superpositions

GDT_TS_CUTOFFS = (1.0, 2.0, 4.0, 8.0)
GDT_HA_CUTOFFS = (0.5, 1.0, 2.0, 4.0)


def fraction_within(model_ca: np.ndarray, reference_ca: np.ndarray, cutoff: float, reference_length: int) -> float:
    """P_d: the largest fraction of ``reference_length`` residues superposable within ``cutoff`` A."""
    if reference_length == 0 or len(model_ca) == 0:
        return 0.0

    def count(distance: np.ndarray) -> np.ndarray:
        return np.sum(distance <= cutoff, axis=-1).astype(np.float64)

    return search_superpositions(model_ca, reference_ca, count, first_cut=cutoff, extend_cut=cutoff) / reference_length


def gdt(model: Protein, reference: Protein, pairs: ResiduePairs | None = None) -> dict[str, float]:
    """GDT-TS, GDT-HA (percent) and each P_d (fraction, keyed ``P_<d>``) of ``model`` against ``reference``."""
    pairs = pair_residues(model, reference) if pairs is None else pairs
    model_ca, reference_ca, _ = paired_atoms(model, reference, pairs, "ca")
    reference_length = int((reference.atom_mask[:, rc.atom_order["CA"]] > 0.5).sum())
    fractions = {cutoff: fraction_within(model_ca, reference_ca, cutoff, reference_length)
                 for cutoff in sorted(set(GDT_TS_CUTOFFS) | set(GDT_HA_CUTOFFS))}
    result = {"gdt_ts": 100.0 * float(np.mean([fractions[c] for c in GDT_TS_CUTOFFS])),
              "gdt_ha": 100.0 * float(np.mean([fractions[c] for c in GDT_HA_CUTOFFS]))}
    result.update({f"P_{cutoff:g}": fraction for cutoff, fraction in fractions.items()})
    return result
