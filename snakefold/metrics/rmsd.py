"""RMSD after optimal superposition, the superposition found with mdtraj (quaternion characteristic polynomial).

    RMSD = min over rotations R and translations t of sqrt((1 / N) * sum_i |R x_i + t - y_i|^2)

over N matched atoms: CA atoms or all heavy atoms of residues paired by sequence alignment
(:mod:`snakefold.metrics.pairing`). mdtraj works in nanometres; results here are in Angstrom.
"""

from __future__ import annotations

import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import Protein
from snakefold.metrics.pairing import ResiduePairs, pair_residues, paired_atoms


def _point_trajectory(points: np.ndarray):
    """An mdtraj trajectory of one frame holding ``points`` [N, 3] (A) as N carbon atoms."""
    import mdtraj

    topology = mdtraj.Topology()
    residue = topology.add_residue("PTS", topology.add_chain())
    for _ in range(len(points)):
        topology.add_atom("C", mdtraj.element.carbon, residue)
    return mdtraj.Trajectory((points / 10.0)[None].astype(np.float32), topology)


def superposed_rmsd(mobile: np.ndarray, target: np.ndarray) -> float:
    """RMSD (A) of matched points [N, 3] after optimal superposition of ``mobile`` onto ``target``.

    mdtraj finds the superposition; the deviation is then summed in double precision, since mdtraj's own
    single-precision RMSD leaves a residue of about 0.005 A even for identical structures.
    """
    if len(mobile) == 0:
        raise SnakefoldError("no atoms are paired between model and reference; cannot compute an RMSD")
    moved = _point_trajectory(mobile).superpose(_point_trajectory(target))
    difference = moved.xyz[0].astype(np.float64) * 10.0 - target
    return float(np.sqrt(np.mean(np.sum(difference**2, axis=-1))))


def rmsd(model: Protein, reference: Protein, atoms: str = "ca", pairs: ResiduePairs | None = None) -> float:
    """RMSD (A) after superposition over CA (``atoms='ca'``) or heavy atoms (``'heavy'``) of paired residues."""
    pairs = pair_residues(model, reference) if pairs is None else pairs
    model_xyz, reference_xyz, _ = paired_atoms(model, reference, pairs, atoms)
    return superposed_rmsd(model_xyz, reference_xyz)
