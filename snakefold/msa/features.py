"""AlphaFold2's MSA features: several databases' MSAs merged into one (supplement section 1.2.2).

The MSAs are taken in the order given (AlphaFold2's: UniRef90, then BFD + Uniclust30/UniRef30, then
MGnify), each already cut to its database's hit limit (UniRef90 10,000 rows, MGnify 501, counting the
query row). Rows are concatenated in that order, and a row whose aligned sequence (insertions removed)
repeats an earlier row exactly is dropped; the query, the first row of the first MSA, is always row 0.

For N kept rows over a query of L residues:

* ``msa``                       [N, L] int32, residues in the HHblits alphabet ``ACDEFGHIKLMNPQRSTVWYX-``
  (B -> D, Z -> E, U -> C, J and O -> X; lower case is read as upper case);
* ``deletion_matrix_int``       [N, L] int32, inserted residues before each column;
* ``num_alignments``            [L] int32, N repeated;
* ``msa_species_identifiers``   [N] bytes, UniProt species code of each row or b'' (:mod:`species`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from snakefold.common import residue_constants
from snakefold.common.errors import SnakefoldError
from snakefold.msa.formats import Msa
from snakefold.msa.species import species_id

#: byte -> HHblits index; 255 marks a byte outside the alphabet.
_HHBLITS_LOOKUP = np.full(256, 255, dtype=np.uint8)
for _letter, _index in residue_constants.HHBLITS_AA_TO_ID.items():
    _HHBLITS_LOOKUP[ord(_letter)] = _index
    _HHBLITS_LOOKUP[ord(_letter.lower())] = _index


def encode_hhblits(rows: Sequence[str], source: str = "MSA") -> np.ndarray:
    """[N, L] int32 HHblits-alphabet indices of N aligned rows of equal length L."""
    if not rows:
        return np.zeros((0, 0), dtype=np.int32)
    joined = np.frombuffer("".join(rows).encode("ascii", errors="replace"), dtype=np.uint8)
    codes = _HHBLITS_LOOKUP[joined].reshape(len(rows), -1)
    bad = np.argwhere(codes == 255)
    if len(bad):
        row, column = bad[0]
        raise SnakefoldError(f"{source}: row {row + 1} has {rows[row][column]!r} in column {column + 1}, which is "
                             f"not an amino-acid letter or a gap")
    return codes.astype(np.int32)


def make_msa_features(msas: Sequence[Msa], names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Merge ``msas`` (in AlphaFold2's order) into the MSA features; ``names`` label them in errors."""
    names = list(names) if names is not None else [f"MSA {index + 1}" for index in range(len(msas))]
    if not msas:
        raise SnakefoldError("at least one MSA is needed to make MSA features (the query alone is one)")
    num_res = len(msas[0].query)
    seen: set[str] = set()
    kept_rows: list[str] = []
    kept_deletions: list[np.ndarray] = []
    species: list[bytes] = []
    for msa, name in zip(msas, names):
        if len(msa) == 0:
            raise SnakefoldError(f"{name}: the MSA has no sequence; it must hold at least the query")
        if len(msa.query) != num_res:
            raise SnakefoldError(f"{name}: its query has {len(msa.query)} aligned columns, the first MSA's "
                                 f"{num_res}; all MSAs of a target must be searched with the same sequence")
        for row, (sequence, description) in enumerate(zip(msa.sequences, msa.descriptions)):
            if sequence in seen:
                continue
            seen.add(sequence)
            kept_rows.append(sequence)
            kept_deletions.append(msa.deletion_matrix[row])
            species.append(species_id(description).encode("ascii"))
    msa_array = encode_hhblits(kept_rows, " + ".join(names))
    return {
        "msa": msa_array,
        "deletion_matrix_int": np.asarray(np.stack(kept_deletions), dtype=np.int32),
        "num_alignments": np.full(num_res, len(kept_rows), dtype=np.int32),
        "msa_species_identifiers": np.array(species, dtype=np.bytes_),
    }
