"""Secondary structure by DSSP (Kabsch & Sander 1983), computed with mdtraj.

DSSP assigns hydrogen bonds from an electrostatic energy between backbone C=O and N-H groups (the amide
hydrogen placed from the preceding residue's carbonyl), then helices from runs of i -> i+n bonds and
strands from ladders of bridges. :func:`secondary_structure` reports the three-state reduction, one letter
per residue: ``H`` (alpha, 3-10 and pi helices: DSSP H, G, I), ``E`` (strands and isolated bridges:
E, B) and ``-`` (everything else, and residues without a complete backbone).

The structure goes to mdtraj as heavy atoms in nanometres, one mdtraj chain per chain of the protein.
"""

from __future__ import annotations

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.protein import Protein


def _trajectory(protein: Protein):
    import mdtraj

    topology = mdtraj.Topology()
    chains = [topology.add_chain() for _ in protein.chain_ids]
    coordinates = []
    for position in range(protein.num_residues):
        name = rc.restype_1to3.get(rc.restypes_with_x[protein.aatype[position]], rc.unknown_residue_name)
        residue = topology.add_residue(name, chains[protein.chain_index[position]],
                                       resSeq=int(protein.residue_index[position]))
        for slot in np.flatnonzero(protein.atom_mask[position] > 0.5):
            atom_name = rc.atom_types[slot]
            topology.add_atom(atom_name, mdtraj.element.get_by_symbol(atom_name[0]), residue)
            coordinates.append(protein.atom_positions[position, slot])
    xyz = np.asarray(coordinates, dtype=np.float32)[None] / 10.0
    return mdtraj.Trajectory(xyz, topology)


def secondary_structure(protein: Protein) -> str:
    """Three-state DSSP string of ``protein`` (``H``, ``E``, ``-``), one letter per residue."""
    import mdtraj

    codes = mdtraj.compute_dssp(_trajectory(protein), simplified=True)[0]
    return "".join({"H": "H", "E": "E"}.get(code, "-") for code in codes)
