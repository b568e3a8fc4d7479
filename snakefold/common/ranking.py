"""How the model runs of one sequence or complex are ranked, best first (numpy or JAX arrays; no JAX import).

- ``plddt``: the mean pLDDT over the residues (AlphaFold2's monomer ranking), 0-100;
- ``ptm``: 100 x the predicted TM-score (pTM presets only), 0-100;
- ``iptm+ptm``: AlphaFold-Multimer's 0.8 ipTM + 0.2 pTM, 0-1, as each multimer run's scores give it.

Equal scores keep the order the runs were given in (a stable sort). The workflow ranks where a ranking is
used, from the runs' scores (the relax job picks its rank's model, the report writes the order): a ranking
is a pure function of the scores, so no job of its own writes it.
"""

from __future__ import annotations

from typing import Literal

#: The metrics a sequence's model runs can be ranked by (the config's model.rank_by, and complexes').
METRICS = ("plddt", "ptm", "iptm+ptm")


def ranking_confidence(plddt_values, mask=None, ptm_value=None, rank_by: Literal["plddt", "ptm"] = "plddt"):
    """The score single-chain model runs are ranked by: mean pLDDT over the residues where ``mask`` [N] is 1
    (default all), or with ``rank_by='ptm'``, 100 x ``ptm_value``. Both are on a 0-100 scale."""
    if rank_by == "ptm":
        if ptm_value is None:
            raise ValueError("ranking by pTM needs a pTM value; only the *_ptm models predict one")
        return 100.0 * ptm_value
    if rank_by != "plddt":
        raise ValueError(f"rank_by must be 'plddt' or 'ptm', not {rank_by!r}")
    if mask is None:
        return plddt_values.mean()
    return (plddt_values * mask).sum() / mask.sum()


def best_first(confidence: dict[str, float]) -> list[str]:
    """The model runs of ``confidence`` (run -> score, in the runs' order) best first; ties keep that order."""
    return sorted(confidence, key=lambda name: -confidence[name])
