"""Ideal residue geometry: rigid groups, torsion angles, and the atom14 <-> atom37 index maps.

AlphaFold2 builds every heavy atom of a protein from one rigid frame per residue (the backbone frame
the structure module predicts) and seven torsion angles (supplement section 1.8, Algorithm 24). That
works because a residue's heavy atoms fall into at most eight *rigid groups*: within a group every
bond length, bond angle and planarity is fixed by chemistry, and groups move against each other only
by rotation about a single bond (a torsion). The groups, in AlphaFold2's order, are:

0. **backbone** -- N, CA, C and CB. Their relative positions are fixed by the bond lengths
   N-CA (1.46 A), CA-C (1.52 A), CA-CB (1.53 A) and the tetrahedral angles at CA; CB belongs here
   because the chirality of the L-amino acid places it on one side of the N-CA-C plane (negative z).
   Frame: origin on CA, x-axis along CA->C, N in the xy-plane with positive y (Algorithm 21).
1. **pre-omega** -- rotation about the peptide bond C(i-1)-N(i). The atoms it moves belong to the
   previous residue, so the group holds no atom of this residue; its default frame is the identity.
2. **phi** -- rotation about CA-N. It would carry the amide hydrogen, which the heavy-atom model
   does not represent, so it is empty. Frame: origin on N, x-axis along CA->N.
3. **psi** -- rotation about CA-C; carries the carbonyl O (C=O 1.23 A, sp2 angles of 120 degrees).
   Frame: origin on C, x-axis along CA->C, y-axis along the part of N->CA orthogonal to it. At
   torsion zero the O therefore sits *trans* to N; since the peptide bond is planar and O is anti to
   N(i+1), the group's angle is the backbone psi = dihedral(N, CA, C, N(i+1)) and
   dihedral(N, CA, C, O) = psi + 180 degrees.
4. to 7. **chi1..chi4** -- rotations about CA-CB, CB-XG, XG-XD and XD-XE (:data:`CHI_ANGLE_ATOMS`).
   Each group carries the atoms that torsion positions, with everything rigidly attached to them:
   the planar rings of PHE, TYR, TRP and HIS, the planar carboxylate and amide of ASP, ASN, GLU,
   GLN, and ARG's planar guanidinium (its chi5, about NE-CZ, is always near 0 and is not modelled).
   Frame of chi k with defining atoms (a, b, c, d): origin on c, x-axis along b->c, and a in the
   xy-plane with positive y, so that an atom at (x, y > 0, z = 0) is eclipsed with a: torsion zero.
   For chi2..chi4 the axis starts at the origin of the previous chi frame, so each is expressed
   relative to the previous chi frame and the four are chained.

The local coordinates below (Angstrom) are the ideal positions AlphaFold2 uses, derived from
literature bond lengths and angles; they are what the model's published parameters were trained
with, so they are kept to the last digit. One value departs from the literature on purpose: in
proline AlphaFold2 widened the CB-CG-CD angle by two degrees (CD at (0.477, 1.424, 0) in the chi2
frame instead of (0.427, 1.440, 0)).

Some chi angles are pi-periodic: flipping the torsion by 180 degrees swaps two chemically equivalent
atoms (ASP OD1/OD2 by chi2, GLU OE1/OE2 by chi3, PHE and TYR CD1/CD2 and CE1/CE2 by chi2), so their
names in a structure file are arbitrary (:data:`RESTYPE_CHI_PI_PERIODIC`).

Tables indexed by residue type have 21 rows: the twenty residues in AlphaFold2's order and the unknown
residue (index 20), which has no atoms, no chi angles and identity default frames.
"""

from __future__ import annotations

import numpy as np

from snakefold.common import residue_constants as rc

#: The eight rigid groups of a residue, in AlphaFold2's order; index = group id.
RIGID_GROUPS: tuple[str, ...] = ("backbone", "pre_omega", "phi", "psi", "chi1", "chi2", "chi3", "chi4")
BACKBONE_GROUP, PRE_OMEGA_GROUP, PHI_GROUP, PSI_GROUP, CHI1_GROUP = range(5)
rigid_group_num = len(RIGID_GROUPS)  # 8

#: The four atoms (a, b, c, d) defining each chi torsion = dihedral(a, b, c, d), by residue.
CHI_ANGLE_ATOMS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "ALA": (),
    "ARG": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "NE"),
            ("CG", "CD", "NE", "CZ")),
    "ASN": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "OD1")),
    "ASP": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "OD1")),
    "CYS": (("N", "CA", "CB", "SG"),),
    "GLN": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "OE1")),
    "GLU": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "OE1")),
    "GLY": (),
    "HIS": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "ND1")),
    "ILE": (("N", "CA", "CB", "CG1"), ("CA", "CB", "CG1", "CD1")),
    "LEU": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "LYS": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "CE"),
            ("CG", "CD", "CE", "NZ")),
    "MET": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "SD"), ("CB", "CG", "SD", "CE")),
    "PHE": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "PRO": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD")),
    "SER": (("N", "CA", "CB", "OG"),),
    "THR": (("N", "CA", "CB", "OG1"),),
    "TRP": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "TYR": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "VAL": (("N", "CA", "CB", "CG1"),),
}

#: Chi angles (0-based index) whose 180-degree flip swaps two chemically equivalent atoms.
CHI_PI_PERIODIC: dict[str, tuple[int, ...]] = {"ASP": (1,), "GLU": (2,), "PHE": (1,), "TYR": (1,)}

# Ideal local coordinates (Angstrom) of every heavy atom in the frame of the rigid group that carries it.
_IDEAL_POSITIONS_TABLE = """
ALA  N    backbone   -0.525   1.363   0.000
ALA  CA   backbone    0.000   0.000   0.000
ALA  C    backbone    1.526   0.000   0.000
ALA  CB   backbone   -0.529  -0.774  -1.205
ALA  O    psi         0.627   1.062   0.000
ARG  N    backbone   -0.524   1.362   0.000
ARG  CA   backbone    0.000   0.000   0.000
ARG  C    backbone    1.525   0.000   0.000
ARG  CB   backbone   -0.524  -0.778  -1.209
ARG  O    psi         0.626   1.062   0.000
ARG  CG   chi1        0.616   1.390   0.000
ARG  CD   chi2        0.564   1.414   0.000
ARG  NE   chi3        0.539   1.357   0.000
ARG  NH1  chi4        0.206   2.301   0.000
ARG  NH2  chi4        2.078   0.978   0.000
ARG  CZ   chi4        0.758   1.093   0.000
ASN  N    backbone   -0.536   1.357   0.000
ASN  CA   backbone    0.000   0.000   0.000
ASN  C    backbone    1.526   0.000   0.000
ASN  CB   backbone   -0.531  -0.787  -1.200
ASN  O    psi         0.625   1.062   0.000
ASN  CG   chi1        0.584   1.399   0.000
ASN  ND2  chi2        0.593  -1.188   0.001
ASN  OD1  chi2        0.633   1.059   0.000
ASP  N    backbone   -0.525   1.362   0.000
ASP  CA   backbone    0.000   0.000   0.000
ASP  C    backbone    1.527   0.000   0.000
ASP  CB   backbone   -0.526  -0.778  -1.208
ASP  O    psi         0.626   1.062   0.000
ASP  CG   chi1        0.593   1.398   0.000
ASP  OD1  chi2        0.610   1.091   0.000
ASP  OD2  chi2        0.592  -1.101  -0.003
CYS  N    backbone   -0.522   1.362   0.000
CYS  CA   backbone    0.000   0.000   0.000
CYS  C    backbone    1.524   0.000   0.000
CYS  CB   backbone   -0.519  -0.773  -1.212
CYS  O    psi         0.625   1.062   0.000
CYS  SG   chi1        0.728   1.653   0.000
GLN  N    backbone   -0.526   1.361   0.000
GLN  CA   backbone    0.000   0.000   0.000
GLN  C    backbone    1.526   0.000   0.000
GLN  CB   backbone   -0.525  -0.779  -1.207
GLN  O    psi         0.626   1.062   0.000
GLN  CG   chi1        0.615   1.393   0.000
GLN  CD   chi2        0.587   1.399   0.000
GLN  NE2  chi3        0.593  -1.189  -0.001
GLN  OE1  chi3        0.634   1.060   0.000
GLU  N    backbone   -0.528   1.361   0.000
GLU  CA   backbone    0.000   0.000   0.000
GLU  C    backbone    1.526   0.000   0.000
GLU  CB   backbone   -0.526  -0.781  -1.207
GLU  O    psi         0.626   1.062   0.000
GLU  CG   chi1        0.615   1.392   0.000
GLU  CD   chi2        0.600   1.397   0.000
GLU  OE1  chi3        0.607   1.095   0.000
GLU  OE2  chi3        0.589  -1.104  -0.001
GLY  N    backbone   -0.572   1.337   0.000
GLY  CA   backbone    0.000   0.000   0.000
GLY  C    backbone    1.517   0.000   0.000
GLY  O    psi         0.626   1.062   0.000
HIS  N    backbone   -0.527   1.360   0.000
HIS  CA   backbone    0.000   0.000   0.000
HIS  C    backbone    1.525   0.000   0.000
HIS  CB   backbone   -0.525  -0.778  -1.208
HIS  O    psi         0.625   1.063   0.000
HIS  CG   chi1        0.600   1.370   0.000
HIS  CD2  chi2        0.889  -1.021   0.003
HIS  ND1  chi2        0.744   1.160   0.000
HIS  CE1  chi2        2.030   0.851   0.002
HIS  NE2  chi2        2.145  -0.466   0.004
ILE  N    backbone   -0.493   1.373   0.000
ILE  CA   backbone    0.000   0.000   0.000
ILE  C    backbone    1.527   0.000   0.000
ILE  CB   backbone   -0.536  -0.793  -1.213
ILE  O    psi         0.627   1.062   0.000
ILE  CG1  chi1        0.534   1.437   0.000
ILE  CG2  chi1        0.540  -0.785  -1.199
ILE  CD1  chi2        0.619   1.391   0.000
LEU  N    backbone   -0.520   1.363   0.000
LEU  CA   backbone    0.000   0.000   0.000
LEU  C    backbone    1.525   0.000   0.000
LEU  CB   backbone   -0.522  -0.773  -1.214
LEU  O    psi         0.625   1.063   0.000
LEU  CG   chi1        0.678   1.371   0.000
LEU  CD1  chi2        0.530   1.430   0.000
LEU  CD2  chi2        0.535  -0.774   1.200
LYS  N    backbone   -0.526   1.362   0.000
LYS  CA   backbone    0.000   0.000   0.000
LYS  C    backbone    1.526   0.000   0.000
LYS  CB   backbone   -0.524  -0.778  -1.208
LYS  O    psi         0.626   1.062   0.000
LYS  CG   chi1        0.619   1.390   0.000
LYS  CD   chi2        0.559   1.417   0.000
LYS  CE   chi3        0.560   1.416   0.000
LYS  NZ   chi4        0.554   1.387   0.000
MET  N    backbone   -0.521   1.364   0.000
MET  CA   backbone    0.000   0.000   0.000
MET  C    backbone    1.525   0.000   0.000
MET  CB   backbone   -0.523  -0.776  -1.210
MET  O    psi         0.625   1.062   0.000
MET  CG   chi1        0.613   1.391   0.000
MET  SD   chi2        0.703   1.695   0.000
MET  CE   chi3        0.320   1.786   0.000
PHE  N    backbone   -0.518   1.363   0.000
PHE  CA   backbone    0.000   0.000   0.000
PHE  C    backbone    1.524   0.000   0.000
PHE  CB   backbone   -0.525  -0.776  -1.212
PHE  O    psi         0.626   1.062   0.000
PHE  CG   chi1        0.607   1.377   0.000
PHE  CD1  chi2        0.709   1.195   0.000
PHE  CD2  chi2        0.706  -1.196   0.000
PHE  CE1  chi2        2.102   1.198   0.000
PHE  CE2  chi2        2.098  -1.201   0.000
PHE  CZ   chi2        2.794  -0.003  -0.001
PRO  N    backbone   -0.566   1.351   0.000
PRO  CA   backbone    0.000   0.000   0.000
PRO  C    backbone    1.527   0.000   0.000
PRO  CB   backbone   -0.546  -0.611  -1.293
PRO  O    psi         0.621   1.066   0.000
PRO  CG   chi1        0.382   1.445   0.000
PRO  CD   chi2        0.477   1.424   0.000
SER  N    backbone   -0.529   1.360   0.000
SER  CA   backbone    0.000   0.000   0.000
SER  C    backbone    1.525   0.000   0.000
SER  CB   backbone   -0.518  -0.777  -1.211
SER  O    psi         0.626   1.062   0.000
SER  OG   chi1        0.503   1.325   0.000
THR  N    backbone   -0.517   1.364   0.000
THR  CA   backbone    0.000   0.000   0.000
THR  C    backbone    1.526   0.000   0.000
THR  CB   backbone   -0.516  -0.793  -1.215
THR  O    psi         0.626   1.062   0.000
THR  CG2  chi1        0.550  -0.718  -1.228
THR  OG1  chi1        0.472   1.353   0.000
TRP  N    backbone   -0.521   1.363   0.000
TRP  CA   backbone    0.000   0.000   0.000
TRP  C    backbone    1.525   0.000   0.000
TRP  CB   backbone   -0.523  -0.776  -1.212
TRP  O    psi         0.627   1.062   0.000
TRP  CG   chi1        0.609   1.370   0.000
TRP  CD1  chi2        0.824   1.091   0.000
TRP  CD2  chi2        0.854  -1.148  -0.005
TRP  CE2  chi2        2.186  -0.678  -0.007
TRP  CE3  chi2        0.622  -2.530  -0.007
TRP  NE1  chi2        2.140   0.690  -0.004
TRP  CH2  chi2        3.028  -2.890  -0.013
TRP  CZ2  chi2        3.283  -1.543  -0.011
TRP  CZ3  chi2        1.715  -3.389  -0.011
TYR  N    backbone   -0.522   1.362   0.000
TYR  CA   backbone    0.000   0.000   0.000
TYR  C    backbone    1.524   0.000   0.000
TYR  CB   backbone   -0.522  -0.776  -1.213
TYR  O    psi         0.627   1.062   0.000
TYR  CG   chi1        0.607   1.382   0.000
TYR  CD1  chi2        0.716   1.195   0.000
TYR  CD2  chi2        0.713  -1.194  -0.001
TYR  CE1  chi2        2.107   1.200  -0.002
TYR  CE2  chi2        2.104  -1.201  -0.003
TYR  OH   chi2        4.168  -0.002  -0.005
TYR  CZ   chi2        2.791  -0.001  -0.003
VAL  N    backbone   -0.494   1.373   0.000
VAL  CA   backbone    0.000   0.000   0.000
VAL  C    backbone    1.527   0.000   0.000
VAL  CB   backbone   -0.533  -0.795  -1.213
VAL  O    psi         0.627   1.062   0.000
VAL  CG1  chi1        0.540   1.429   0.000
VAL  CG2  chi1        0.533  -0.776   1.203
"""


def _parse_ideal_positions(table: str) -> dict[str, dict[str, tuple[int, tuple[float, float, float]]]]:
    positions: dict[str, dict[str, tuple[int, tuple[float, float, float]]]] = {}
    for line in table.strip().splitlines():
        residue, atom, group, x, y, z = line.split()
        positions.setdefault(residue, {})[atom] = (RIGID_GROUPS.index(group), (float(x), float(y), float(z)))
    return positions


#: residue -> atom -> (rigid group id, ideal (x, y, z) in that group's frame, Angstrom).
IDEAL_ATOM_POSITIONS: dict[str, dict[str, tuple[int, tuple[float, float, float]]]] = _parse_ideal_positions(
    _IDEAL_POSITIONS_TABLE)

_RESIDUE_NAMES: tuple[str, ...] = tuple(rc.restype_1to3[letter] for letter in rc.restypes)
_NUM_RESTYPES_WITH_UNKNOWN = rc.restype_num + 1  # 21


def _restype_chi_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mask = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, 4), dtype=np.float32)
    pi_periodic = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, 4), dtype=np.float32)
    atom37_indices = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, 4, 4), dtype=np.int32)
    for restype, residue in enumerate(_RESIDUE_NAMES):
        for chi, atoms in enumerate(CHI_ANGLE_ATOMS[residue]):
            mask[restype, chi] = 1.0
            atom37_indices[restype, chi] = [rc.atom_order[atom] for atom in atoms]
        for chi in CHI_PI_PERIODIC.get(residue, ()):
            pi_periodic[restype, chi] = 1.0
    return mask, pi_periodic, atom37_indices


#: [21, 4] 1.0 where the residue type has that chi angle.
#: [21, 4] 1.0 where that chi angle is pi-periodic (see :data:`CHI_PI_PERIODIC`).
#: [21, 4, 4] atom37 indices of the four atoms of each chi angle (0 where the chi does not exist).
RESTYPE_CHI_ANGLES_MASK, RESTYPE_CHI_PI_PERIODIC, RESTYPE_CHI_ATOM37_INDICES = _restype_chi_tables()


def _restype_atom_maps() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    atom14_to_atom37 = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, rc.atom14_num), dtype=np.int32)
    atom37_to_atom14 = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, rc.atom_type_num), dtype=np.int32)
    atom14_mask = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, rc.atom14_num), dtype=np.float32)
    for restype, residue in enumerate(_RESIDUE_NAMES):
        for slot, atom in enumerate(rc.restype_name_to_atom14_names[residue]):
            atom14_to_atom37[restype, slot] = rc.atom_order[atom]
            atom37_to_atom14[restype, rc.atom_order[atom]] = slot
            atom14_mask[restype, slot] = 1.0
    return atom14_to_atom37, atom37_to_atom14, atom14_mask


#: [21, 14] atom37 index of each atom14 slot (0 for empty slots).
#: [21, 37] atom14 slot of each atom37 atom (0 for atoms the residue does not have).
#: [21, 14] 1.0 where the atom14 slot holds an atom.
RESTYPE_ATOM14_TO_ATOM37, RESTYPE_ATOM37_TO_ATOM14, RESTYPE_ATOM14_MASK = _restype_atom_maps()

#: [21, 37] 1.0 where the residue type has that atom37 atom.
RESTYPE_ATOM37_MASK: np.ndarray = rc.STANDARD_ATOM37_MASK


def atom14_atom37_maps(aatype: np.ndarray) -> dict[str, np.ndarray]:
    """The per-residue atom index maps of AlphaFold2's processed features for ``aatype`` [L] (0..20).

    Returns ``residx_atom14_to_atom37`` [L, 14] int32, ``residx_atom37_to_atom14`` [L, 37] int32,
    ``atom14_atom_exists`` [L, 14] float32 and ``atom37_atom_exists`` [L, 37] float32.
    """
    aatype = np.asarray(aatype)
    return {
        "residx_atom14_to_atom37": RESTYPE_ATOM14_TO_ATOM37[aatype],
        "residx_atom37_to_atom14": RESTYPE_ATOM37_TO_ATOM14[aatype],
        "atom14_atom_exists": RESTYPE_ATOM14_MASK[aatype],
        "atom37_atom_exists": RESTYPE_ATOM37_MASK[aatype],
    }


def _frame_from_axes(x_direction: np.ndarray, xy_plane_direction: np.ndarray,
                     origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (columns = unit axes) and translation of the frame with x along ``x_direction`` and
    ``xy_plane_direction`` in its xy-plane at positive y (Gram-Schmidt)."""
    e_x = x_direction / np.linalg.norm(x_direction)
    e_y = xy_plane_direction - np.dot(xy_plane_direction, e_x) * e_x
    e_y = e_y / np.linalg.norm(e_y)
    e_z = np.cross(e_x, e_y)
    return np.stack([e_x, e_y, e_z], axis=-1), origin


def _restype_rigid_group_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rotations = np.tile(np.eye(3), (_NUM_RESTYPES_WITH_UNKNOWN, rigid_group_num, 1, 1))
    translations = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, rigid_group_num, 3))
    atom14_group = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, rc.atom14_num), dtype=np.int32)
    atom14_local_positions = np.zeros((_NUM_RESTYPES_WITH_UNKNOWN, rc.atom14_num, 3), dtype=np.float32)
    for restype, residue in enumerate(_RESIDUE_NAMES):
        atoms = IDEAL_ATOM_POSITIONS[residue]
        for slot, atom in enumerate(rc.restype_name_to_atom14_names[residue]):
            atom14_group[restype, slot], atom14_local_positions[restype, slot] = atoms[atom]
        position = {atom: np.array(xyz) for atom, (_, xyz) in atoms.items()}
        # Backbone and pre-omega frames are the backbone frame itself (identity).
        frames = {
            PHI_GROUP: _frame_from_axes(position["N"] - position["CA"], np.array([1.0, 0.0, 0.0]), position["N"]),
            PSI_GROUP: _frame_from_axes(position["C"] - position["CA"], position["CA"] - position["N"],
                                        position["C"]),
        }
        chis = CHI_ANGLE_ATOMS[residue]
        if chis:
            first, axis_start, axis_end, _ = chis[0]
            frames[CHI1_GROUP] = _frame_from_axes(position[axis_end] - position[axis_start],
                                                  position[first] - position[axis_start], position[axis_end])
        for chi in range(1, len(chis)):
            # In the previous chi frame this chi's axis runs from the origin to its third atom, and
            # its first atom lies back along the previous axis (the -x direction).
            axis_end = position[chis[chi][2]]
            frames[CHI1_GROUP + chi] = _frame_from_axes(axis_end, np.array([-1.0, 0.0, 0.0]), axis_end)
        for group, (rotation, translation) in frames.items():
            rotations[restype, group], translations[restype, group] = rotation, translation
    return rotations.astype(np.float32), translations.astype(np.float32), atom14_group, atom14_local_positions


#: [21, 8, 3, 3] and [21, 8, 3]: each rigid group's default frame (torsion angle zero) relative to its
#: parent -- the backbone frame for groups 0-4, the previous chi frame for chi2..chi4.
#: [21, 14] rigid group of each atom14 slot; [21, 14, 3] its ideal position in that group's frame.
(RESTYPE_DEFAULT_FRAME_ROTATIONS, RESTYPE_DEFAULT_FRAME_TRANSLATIONS,
 RESTYPE_ATOM14_TO_RIGID_GROUP, RESTYPE_ATOM14_GROUP_POSITIONS) = _restype_rigid_group_tables()
