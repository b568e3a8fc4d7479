"""All structure-comparison metrics of a model against a reference, with residues paired by sequence.

:func:`compare_structures` pairs residues once (:mod:`snakefold.metrics.pairing`) and reports RMSD over CA
and heavy atoms after superposition (mdtraj), the TM-score with that pairing and TM-align's
sequence-independent TM-score (both normalised by the reference length), GDT-TS and GDT-HA, lDDT-CA and
all-atom lDDT, and the agreement of the two structures' three-state DSSP over paired residues.
"""

from __future__ import annotations

from typing import Any

from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import Protein
from snakefold.metrics.dssp import secondary_structure
from snakefold.metrics.gdt import gdt
from snakefold.metrics.lddt import lddt
from snakefold.metrics.pairing import pair_residues
from snakefold.metrics.rmsd import rmsd
from snakefold.metrics.tm_score import tm_align, tm_score


def compare_structures(model: Protein, reference: Protein) -> dict[str, Any]:
    """JSON-ready metrics of ``model`` against ``reference`` (RMSD in A, GDT in percent, others in [0, 1])."""
    pairs = pair_residues(model, reference)
    if len(pairs) < 3:
        raise SnakefoldError(f"only {len(pairs)} residue(s) of the model pair with the reference by sequence; "
                             f"are these structures of the same protein (and the right chains)?")
    identical = int((model.aatype[pairs.model] == reference.aatype[pairs.reference]).sum())
    model_dssp, reference_dssp = secondary_structure(model), secondary_structure(reference)
    dssp_agreement = sum(model_dssp[m] == reference_dssp[r] for m, r in zip(pairs.model, pairs.reference)) / len(pairs)
    gdt_scores = gdt(model, reference, pairs)
    return {
        "model_residues": model.num_residues,
        "reference_residues": reference.num_residues,
        "paired_residues": len(pairs),
        "identical_paired_residues": identical,
        "rmsd_ca": rmsd(model, reference, "ca", pairs),
        "rmsd_heavy": rmsd(model, reference, "heavy", pairs),
        "tm_score": tm_score(model, reference, pairs),
        "tm_align_score": tm_align(model, reference).tm_score,
        "gdt_ts": gdt_scores["gdt_ts"],
        "gdt_ha": gdt_scores["gdt_ha"],
        "lddt_ca": lddt(model, reference, "ca", pairs).score,
        "lddt_all_atom": lddt(model, reference, "all", pairs).score,
        "dssp_agreement": float(dssp_agreement),
        "model_dssp": model_dssp,
        "reference_dssp": reference_dssp,
    }
