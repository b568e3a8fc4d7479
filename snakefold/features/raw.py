"""AlphaFold2's raw feature dict: sequence, MSA and template features, saved as ``.npz`` without pickle.

The raw features of a query of L residues with N MSA rows and T templates (AlphaFold2's key names and
dtypes; supplement section 1.2.9 lists what the model makes of them):

=============================  ==============  ===========================================================
key                            shape, dtype    meaning
=============================  ==============  ===========================================================
aatype                         [L, 21] int32   one-hot residue type, AlphaFold2 order ``ARNDCQEGHILKMFPSTWYV``
                                               then X (anything else)
between_segment_residues       [L] int32       zeros (one chain)
domain_name                    [1] bytes       the query's description
residue_index                  [L] int32       0 .. L-1
seq_length                     [L] int32       L repeated
sequence                       [1] bytes       the query sequence
msa                            [N, L] int32    :mod:`snakefold.msa.features`
deletion_matrix_int            [N, L] int32
num_alignments                 [L] int32
msa_species_identifiers        [N] bytes
template_aatype                [T, L, 22] f32  one-hot in the HHblits alphabet (20 residues, X, gap)
template_all_atom_masks        [T, L, 37] f32  atom37 presence
template_all_atom_positions    [T, L, 37, 3]   atom37 coordinates (Angstrom), float32
template_domain_names          [T] bytes       ``<pdb id>_<chain>``
template_sequence              [T] bytes
template_sum_probs             [T, 1] float32
=============================  ==============  ===========================================================

AlphaFold2 keeps strings in object arrays; here they are fixed-width byte arrays (dtype ``S``), so every
file loads with ``np.load(path, allow_pickle=False)``. Without templates, T = 0 (AlphaFold2's empty
template features, with their full shapes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from snakefold.common import residue_constants
from snakefold.common.atomic import atomic_save_npz
from snakefold.common.errors import SnakefoldError

SEQUENCE_FEATURES = ("aatype", "between_segment_residues", "domain_name", "residue_index", "seq_length",
                     "sequence")
MSA_FEATURES = ("msa", "deletion_matrix_int", "num_alignments", "msa_species_identifiers")
TEMPLATE_FEATURES = ("template_aatype", "template_all_atom_masks", "template_all_atom_positions",
                     "template_domain_names", "template_sequence", "template_sum_probs")
RAW_FEATURES = SEQUENCE_FEATURES + MSA_FEATURES + TEMPLATE_FEATURES

#: Number of template residue classes: 20 residues, X, gap.
TEMPLATE_AATYPE_CLASSES = residue_constants.restype_num + 2

#: key -> (shape with 'L' for residues, 'N' MSA rows, 'T' templates; numpy dtype kind and size).
FEATURE_SPECS: dict[str, tuple[tuple, str]] = {
    "aatype": (("L", residue_constants.restype_num + 1), "int32"),
    "between_segment_residues": (("L",), "int32"),
    "domain_name": ((1,), "bytes"),
    "residue_index": (("L",), "int32"),
    "seq_length": (("L",), "int32"),
    "sequence": ((1,), "bytes"),
    "msa": (("N", "L"), "int32"),
    "deletion_matrix_int": (("N", "L"), "int32"),
    "num_alignments": (("L",), "int32"),
    "msa_species_identifiers": (("N",), "bytes"),
    "template_aatype": (("T", "L", TEMPLATE_AATYPE_CLASSES), "float32"),
    "template_all_atom_masks": (("T", "L", residue_constants.atom_type_num), "float32"),
    "template_all_atom_positions": (("T", "L", residue_constants.atom_type_num, 3), "float32"),
    "template_domain_names": (("T",), "bytes"),
    "template_sequence": (("T",), "bytes"),
    "template_sum_probs": (("T", 1), "float32"),
}


def sequence_features(sequence: str, description: str) -> dict[str, np.ndarray]:
    """AlphaFold2's sequence features of one chain."""
    num_res = len(sequence)
    return {
        "aatype": residue_constants.sequence_to_onehot(sequence, residue_constants.restype_order_with_x,
                                                       map_unknown_to_x=True),
        "between_segment_residues": np.zeros(num_res, dtype=np.int32),
        "domain_name": np.array([description.encode("utf-8")], dtype=np.bytes_),
        "residue_index": np.arange(num_res, dtype=np.int32),
        "seq_length": np.full(num_res, num_res, dtype=np.int32),
        "sequence": np.array([sequence.encode("ascii")], dtype=np.bytes_),
    }


def empty_template_features(num_res: int) -> dict[str, np.ndarray]:
    """Template features with zero templates (T = 0), every array in its full shape."""
    features = {}
    for key in TEMPLATE_FEATURES:
        shape, dtype = FEATURE_SPECS[key]
        concrete = tuple(0 if dim == "T" else num_res if dim == "L" else dim for dim in shape)
        features[key] = np.zeros(concrete, dtype=np.bytes_ if dtype == "bytes" else dtype)
    return features


def _as_storable(name: str, value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind == "U":
        try:
            items = [item.encode("utf-8") if isinstance(item, str) else bytes(item) for item in array.ravel()]
        except TypeError as error:
            raise TypeError(f"feature {name!r} holds objects that are not strings: {error}") from error
        array = np.array(items, dtype=np.bytes_).reshape(array.shape)
    return array


def check_raw_features(features: Mapping[str, np.ndarray], source: str = "features") -> None:
    """Raise a SnakefoldError unless ``features`` has every raw feature with AlphaFold2's shapes and dtypes."""
    missing = [key for key in RAW_FEATURES if key not in features]
    if missing:
        raise SnakefoldError(f"{source}: missing raw feature(s) {', '.join(missing)}")
    sizes: dict[str, int] = {}
    for key in RAW_FEATURES:
        array = np.asarray(features[key])
        shape, dtype = FEATURE_SPECS[key]
        kind_ok = array.dtype.kind == "S" if dtype == "bytes" else array.dtype == np.dtype(dtype)
        if not kind_ok:
            raise SnakefoldError(f"{source}: feature {key!r} has dtype {array.dtype}, expected {dtype}")
        if array.ndim != len(shape):
            raise SnakefoldError(f"{source}: feature {key!r} has shape {array.shape}, expected {shape}")
        for dim, size in zip(shape, array.shape):
            if isinstance(dim, int):
                if size != dim:
                    raise SnakefoldError(f"{source}: feature {key!r} has shape {array.shape}, expected {shape}")
            elif sizes.setdefault(dim, size) != size:
                raise SnakefoldError(f"{source}: feature {key!r} has shape {array.shape}, but {dim} = "
                                     f"{sizes[dim]} elsewhere")


def save_features(path: str | Path, features: Mapping[str, np.ndarray]) -> None:
    """Write a feature dict atomically as a compressed ``.npz`` (strings as byte arrays, never pickled)."""
    atomic_save_npz(path, {name: _as_storable(name, value) for name, value in features.items()})


def load_features(path: str | Path) -> dict[str, np.ndarray]:
    """Read a feature ``.npz`` (no pickle)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise SnakefoldError(f"{path}: cannot read the feature file ({error})") from error


def decode(array: np.ndarray) -> list[str]:
    """The strings of a byte-string feature (``domain_name``, ``sequence``, ...)."""
    return [item.decode("utf-8") for item in np.asarray(array).ravel()]
