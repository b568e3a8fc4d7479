"""AlphaFold-Multimer's MSA pairing across the chains of a heteromer (AlphaFold2 v2.3.2 ``msa_pairing``).

Each chain of a heteromer has, besides its monomer MSA, the MSA of its UniProt search (``*_all_seq``
features: ``msa_all_seq`` [N_c, L_c] in the HHblits alphabet, ``deletion_matrix_all_seq`` [N_c, L_c],
``msa_species_identifiers_all_seq`` [N_c] bytes). Rows of different chains are paired by species:

1. **Species groups.** Each chain's rows are grouped by species identifier (:mod:`snakefold.msa.species`);
   the rows without one (the query among them) form no group. Species are visited in byte order.
2. **Which species pair.** A species is used when at least two chains have rows of it and no chain has
   more than :data:`MAX_ROWS_PER_SPECIES` (600) rows of it (a larger group is skipped entirely).
3. **Rows of a species.** Each chain present takes its rows of that species in decreasing identity to its
   query (fraction of columns equal to the query row, gaps included) and the first ``k`` of them, ``k`` the
   smallest group size of the chains present; a chain without the species gets ``k`` padding rows (all gap,
   no deletion, no species), written -1 below.
4. **Order.** The query rows (row 0 of every chain) come first; then the pairs grouped by how many chains
   they cover, most first; within a group, by the absolute product of their row indices, smallest first (a
   proxy for the e-value order of the hits).
5. :func:`deduplicate_unpaired_rows` then drops every monomer-MSA row of a chain that equals one of its
   paired rows (the query included), so no row appears twice in the merged MSA.

A homomer (one entity, any number of copies) is never paired: its copies share one MSA.

**Ties, v2.3.2 versus later upstream.** v2.3.2 sorts with NumPy's default ``quicksort`` both the identities
of step 3 (through pandas ``sort_values``, which reverses the array, argsorts it and reverses the result)
and the index products of step 4. That sort is not stable: rows of equal identity, and pairs of equal
product, come out in an order set by NumPy's sorting kernels, which differ between NumPy versions and CPUs
(the SIMD kernels of AVX-512 machines, for one). AlphaFold2's upstream moved to stable sorting in 2025, under
which ties keep their MSA order. This module follows v2.3.2: it makes the same NumPy calls on the same
arrays (:data:`TIE_SORT_KIND`), so the same NumPy on the same CPU gives AlphaFold2 v2.3.2's order.

Shapes: C chains, P paired rows (the query row included); :func:`pair_rows` returns [P, C] row indices
into each chain's ``*_all_seq`` arrays, -1 for a padding row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np

from snakefold.common import residue_constants

#: HHblits index of the gap, the fill of padding rows.
MSA_GAP_INDEX = residue_constants.HHBLITS_AA_TO_ID["-"]
#: A species with more rows than this in any chain's UniProt MSA is not used for pairing.
MAX_ROWS_PER_SPECIES = 600
#: v2.3.2's sort for ties (not stable; see the module docstring).
TIE_SORT_KIND = "quicksort"
#: Per-row MSA features (monomer and ``*_all_seq``) and the value of a padding row.
MSA_PAD_VALUES = {"msa": MSA_GAP_INDEX, "deletion_matrix": 0}

FeatureDict = MutableMapping[str, np.ndarray]


def _rows_by_identity(identity: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` in decreasing ``identity``, ties ordered as v2.3.2's pandas ``sort_values`` leaves them."""
    order = rows[::-1][identity[rows][::-1].argsort(kind=TIE_SORT_KIND)]
    return order[::-1]


def _species_rows(species: np.ndarray) -> dict[bytes, np.ndarray]:
    """Species -> its row indices (ascending), for every species but the empty one."""
    groups: dict[bytes, list[int]] = defaultdict(list)
    for row, name in enumerate(species.tolist()):
        if name:
            groups[name].append(row)
    return {name: np.asarray(rows, dtype=np.int64) for name, rows in groups.items()}


def query_identity(msa: np.ndarray) -> np.ndarray:
    """[N] fraction of columns in which each row equals row 0 (the query)."""
    return np.sum(msa[0][None] == msa, axis=-1) / float(msa.shape[1])


def pair_rows(chains: Sequence[Mapping[str, np.ndarray]]) -> tuple[np.ndarray, list[bytes]]:
    """[P, C] paired row indices of the chains' ``*_all_seq`` MSAs (-1: padding) and each pair's species.

    The species of the query row is b''.
    """
    num_chains = len(chains)
    identities = [query_identity(chain["msa_all_seq"]) for chain in chains]
    species_rows = [_species_rows(np.asarray(chain["msa_species_identifiers_all_seq"])) for chain in chains]
    by_coverage: dict[int, list[tuple[np.ndarray, bytes]]] = {count: [] for count in range(num_chains + 1)}
    by_coverage[num_chains].append((np.zeros(num_chains, dtype=np.int64), b""))
    for species in sorted(set().union(*species_rows)):
        groups = [rows.get(species) for rows in species_rows]
        present = [group for group in groups if group is not None]
        if len(present) <= 1 or any(len(group) > MAX_ROWS_PER_SPECIES for group in present):
            continue
        take = min(len(group) for group in present)
        columns = [np.full(take, -1, dtype=np.int64) if group is None
                   else _rows_by_identity(identity, group)[:take]
                   for group, identity in zip(groups, identities)]
        for pair in np.stack(columns, axis=1):
            by_coverage[len(present)].append((pair, species))
    ordered_rows: list[np.ndarray] = []
    ordered_species: list[bytes] = []
    for coverage in sorted(by_coverage, reverse=True):
        entries = by_coverage[coverage]
        if not entries:
            continue
        pairs = np.array([pair for pair, _ in entries])
        products = np.abs(np.array([np.prod(pair) for pair in pairs]))
        for index in np.argsort(products, kind=TIE_SORT_KIND):
            ordered_rows.append(pairs[index])
            ordered_species.append(entries[index][1])
    return np.array(ordered_rows, dtype=np.int64), ordered_species


def _with_padding_row(values: np.ndarray, pad_value) -> np.ndarray:
    padding = np.full((1,) + values.shape[1:], pad_value, dtype=values.dtype)
    return np.concatenate([values, padding], axis=0)


def apply_pairing(chains: Sequence[FeatureDict], paired: np.ndarray) -> list[FeatureDict]:
    """The chains with their ``*_all_seq`` features replaced by the paired rows (``num_alignments_all_seq`` = P)."""
    result = []
    for column, chain in enumerate(chains):
        rows = paired[:, column]
        updated = {key: value for key, value in chain.items() if not key.endswith("_all_seq")}
        for key in ("msa", "deletion_matrix"):
            padded = _with_padding_row(np.asarray(chain[f"{key}_all_seq"]), MSA_PAD_VALUES[key])
            updated[f"{key}_all_seq"] = padded[rows]
        species = np.asarray(chain["msa_species_identifiers_all_seq"])
        updated["msa_species_identifiers_all_seq"] = _with_padding_row(species, b"")[rows]
        updated["num_alignments_all_seq"] = np.asarray(len(rows))
        result.append(updated)
    return result


def deduplicate_unpaired_rows(chains: Sequence[FeatureDict]) -> list[FeatureDict]:
    """Drop each chain's monomer-MSA rows equal to one of its paired rows; ``num_alignments`` = rows left."""
    for chain in chains:
        paired = {row.tobytes() for row in np.ascontiguousarray(chain["msa_all_seq"])}
        msa = np.ascontiguousarray(chain["msa"])
        keep = [index for index, row in enumerate(msa) if row.tobytes() not in paired]
        for key in MSA_PAD_VALUES:
            chain[key] = chain[key][keep]
        chain["num_alignments"] = np.array(chain["msa"].shape[0], dtype=np.int32)
    return list(chains)
