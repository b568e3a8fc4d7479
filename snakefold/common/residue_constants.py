"""Amino-acid alphabets and atom naming shared by every stage.

The twenty standard residues in AlphaFold2's order (``ARNDCQEGHILKMFPSTWYV``, index 20 = unknown ``X``),
the HHblits alphabet of MSA features (``ACDEFGHIKLMNPQRSTVWYX-``, 22 letters), the 37 heavy-atom types of the
atom37 representation and the per-residue atom14 names. Geometry (rigid groups, ideal coordinates, chi
angles) lives in :mod:`snakefold.common.residue_geometry`.
"""

from __future__ import annotations

import numpy as np

#: The twenty standard amino acids in AlphaFold2's residue order.
restypes: tuple[str, ...] = tuple("ARNDCQEGHILKMFPSTWYV")
restype_order: dict[str, int] = {letter: index for index, letter in enumerate(restypes)}
restype_num = len(restypes)  # 20
unknown_restype_index = restype_num  # 'X'
restypes_with_x: tuple[str, ...] = restypes + ("X",)
restype_order_with_x: dict[str, int] = {letter: index for index, letter in enumerate(restypes_with_x)}

restype_1to3: dict[str, str] = {
    "A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "Q": "GLN", "E": "GLU", "G": "GLY",
    "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE", "P": "PRO", "S": "SER",
    "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL",
}
restype_3to1: dict[str, str] = {three: one for one, three in restype_1to3.items()}
unknown_residue_name = "UNK"

#: Letters accepted in query sequences besides the twenty standard residues: X (unknown), and the
#: non-standard or ambiguous codes U (selenocysteine), O (pyrrolysine), B (D or N), Z (E or Q), J (I or L).
NONSTANDARD_RESIDUES: tuple[str, ...] = tuple("UOBZJ")

#: The HHblits/a3m alphabet of MSA features: 20 residues, unknown, gap.
HHBLITS_ALPHABET = "ACDEFGHIKLMNPQRSTVWYX-"
HHBLITS_AA_TO_ID: dict[str, int] = {letter: index for index, letter in enumerate(HHBLITS_ALPHABET)}
# Ambiguity and rare residue codes as HHblits maps them: B -> D, Z -> E, U -> C, J and O -> unknown.
HHBLITS_AA_TO_ID.update({"B": HHBLITS_AA_TO_ID["D"], "Z": HHBLITS_AA_TO_ID["E"], "U": HHBLITS_AA_TO_ID["C"],
                         "J": HHBLITS_AA_TO_ID["X"], "O": HHBLITS_AA_TO_ID["X"]})
HHBLITS_GAP_ID = HHBLITS_AA_TO_ID["-"]

#: Index in AlphaFold2's residue order (with X = 20, gap = 21) of each HHblits alphabet index.
MAP_HHBLITS_AATYPE_TO_OUR_AATYPE: tuple[int, ...] = tuple(
    restype_order_with_x.get(letter, 21) for letter in HHBLITS_ALPHABET
)

#: The 37 heavy-atom types of the atom37 representation, backbone first.
atom_types: tuple[str, ...] = (
    "N", "CA", "C", "CB", "O", "CG", "CG1", "CG2", "OG", "OG1", "SG", "CD", "CD1", "CD2", "ND1", "ND2",
    "OD1", "OD2", "SD", "CE", "CE1", "CE2", "CE3", "NE", "NE1", "NE2", "OE1", "OE2", "CH2", "NH1", "NH2",
    "OH", "CZ", "CZ2", "CZ3", "NZ", "OXT",
)
atom_order: dict[str, int] = {name: index for index, name in enumerate(atom_types)}
atom_type_num = len(atom_types)  # 37

#: Heavy atoms of each residue in the atom14 layout (backbone N CA C O first, then the side chain).
restype_name_to_atom14_names: dict[str, tuple[str, ...]] = {
    "ALA": ("N", "CA", "C", "O", "CB"),
    "ARG": ("N", "CA", "C", "O", "CB", "CG", "CD", "NE", "CZ", "NH1", "NH2"),
    "ASN": ("N", "CA", "C", "O", "CB", "CG", "OD1", "ND2"),
    "ASP": ("N", "CA", "C", "O", "CB", "CG", "OD1", "OD2"),
    "CYS": ("N", "CA", "C", "O", "CB", "SG"),
    "GLN": ("N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "NE2"),
    "GLU": ("N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "OE2"),
    "GLY": ("N", "CA", "C", "O"),
    "HIS": ("N", "CA", "C", "O", "CB", "CG", "ND1", "CD2", "CE1", "NE2"),
    "ILE": ("N", "CA", "C", "O", "CB", "CG1", "CG2", "CD1"),
    "LEU": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2"),
    "LYS": ("N", "CA", "C", "O", "CB", "CG", "CD", "CE", "NZ"),
    "MET": ("N", "CA", "C", "O", "CB", "CG", "SD", "CE"),
    "PHE": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ"),
    "PRO": ("N", "CA", "C", "O", "CB", "CG", "CD"),
    "SER": ("N", "CA", "C", "O", "CB", "OG"),
    "THR": ("N", "CA", "C", "O", "CB", "OG1", "CG2"),
    "TRP": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "NE1", "CE2", "CE3", "CZ2", "CZ3", "CH2"),
    "TYR": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "OH"),
    "VAL": ("N", "CA", "C", "O", "CB", "CG1", "CG2"),
    "UNK": (),
}
atom14_num = 14

#: Heavy atoms (atom37 names) of each residue, by three-letter code.
residue_atoms: dict[str, tuple[str, ...]] = {
    name: atoms for name, atoms in restype_name_to_atom14_names.items() if name != "UNK"
}


def _atom37_mask_by_restype() -> np.ndarray:
    mask = np.zeros((restype_num + 1, atom_type_num), dtype=np.float32)
    for index, letter in enumerate(restypes):
        for atom in residue_atoms[restype_1to3[letter]]:
            mask[index, atom_order[atom]] = 1.0
    return mask


#: [21, 37] 1.0 where residue type (row; 20 = unknown, which has no atoms) has that atom37 atom.
STANDARD_ATOM37_MASK: np.ndarray = _atom37_mask_by_restype()


def sequence_to_onehot(sequence: str, mapping: dict[str, int], map_unknown_to_x: bool = False) -> np.ndarray:
    """One-hot encode ``sequence`` [L] into [L, num_classes] with ``mapping`` (letter -> class index).

    With ``map_unknown_to_x``, letters missing from ``mapping`` take the class of ``X``.
    """
    num_classes = max(mapping.values()) + 1
    onehot = np.zeros((len(sequence), num_classes), dtype=np.int32)
    for position, letter in enumerate(sequence):
        if letter in mapping:
            onehot[position, mapping[letter]] = 1
        elif map_unknown_to_x:
            onehot[position, mapping["X"]] = 1
        else:
            raise ValueError(f"letter {letter!r} at position {position + 1} is not in the alphabet")
    return onehot


def sequence_to_aatype(sequence: str) -> np.ndarray:
    """[L] int32 residue indices in AlphaFold2's order; anything non-standard is unknown (20)."""
    return np.array([restype_order_with_x.get(letter, unknown_restype_index) for letter in sequence],
                    dtype=np.int32)
