"""Interfaces of a predicted complex: the residue contacts across each pair of chains, and their confidence.

Two residues of different chains are in **contact** when any heavy atom of one lies within
:data:`CONTACT_DISTANCE` (8 Angstrom) of any heavy atom of the other (atom37 holds heavy atoms only). Per
pair of chains (A, B), in chain order, over its contacts (i in A, j in B):

- ``contacts``: how many residue pairs are in contact; ``residues_a``, ``residues_b``: how many residues of
  A and of B take part, and which (``interface_a``, ``interface_b``: residue numbers from 1 within the
  chain, as ranges ``3-7,12``);
- ``mean_pae``: the mean predicted aligned error of the contacts in both directions, (PAE[i, j] + PAE[j, i]) / 2
  averaged over the pairs (Angstrom; PAE is not symmetric: PAE[i, j] is the error at j when aligned on i);
  empty without a PAE head or without contacts;
- ``mean_plddt``: the mean pLDDT of the interface residues of both chains; empty without contacts.

Every pair of chains gets a row, with 0 contacts when the chains do not touch, so a screen reads "no
interface" rather than a missing line. Shapes: N residues, positions [N, 37, 3], mask [N, 37], chain
index [N] (0 .. C-1), pLDDT [N], PAE [N, N].
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

CONTACT_DISTANCE = 8.0
COLUMNS = ("chain_a", "chain_b", "contacts", "residues_a", "residues_b", "mean_pae", "mean_plddt",
           "interface_a", "interface_b")


@dataclass(frozen=True)
class Interface:
    """The contacts between two chains of a model (residue indices into the whole complex)."""

    chain_a: str
    chain_b: str
    pairs: np.ndarray  # [K, 2] (i in chain A, j in chain B), sorted
    residues_a: np.ndarray  # [R_a] indices into the complex, sorted
    residues_b: np.ndarray  # [R_b]
    mean_pae: float | None
    mean_plddt: float | None


def contact_pairs(positions: np.ndarray, mask: np.ndarray, chain_index: np.ndarray,
                  distance: float = CONTACT_DISTANCE) -> np.ndarray:
    """[K, 2] residue pairs (i < j, of different chains) with heavy atoms within ``distance``, sorted, unique."""
    residue, atom = np.nonzero(mask > 0.5)
    if residue.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    atom_pairs = cKDTree(positions[residue, atom]).query_pairs(r=distance, output_type="ndarray")
    pairs = np.sort(residue[atom_pairs], axis=1)
    pairs = pairs[chain_index[pairs[:, 0]] != chain_index[pairs[:, 1]]]
    return np.unique(pairs, axis=0) if len(pairs) else np.zeros((0, 2), dtype=np.int64)


def interfaces(positions: np.ndarray, mask: np.ndarray, chain_index: np.ndarray, chain_ids: Sequence[str],
               plddt: np.ndarray, pae: np.ndarray | None) -> list[Interface]:
    """One :class:`Interface` per pair of chains, in chain order (see the module docstring)."""
    chain_index = np.asarray(chain_index)
    pairs = contact_pairs(np.asarray(positions), np.asarray(mask), chain_index)
    found = []
    for a, b in itertools.combinations(range(len(chain_ids)), 2):
        chains = chain_index[pairs]
        between = pairs[((chains[:, 0] == a) & (chains[:, 1] == b)) | ((chains[:, 0] == b) & (chains[:, 1] == a))]
        oriented = np.where((chain_index[between[:, 0]] == a)[:, None], between, between[:, ::-1])
        oriented = np.unique(oriented, axis=0) if len(oriented) else oriented
        residues_a, residues_b = np.unique(oriented[:, 0]), np.unique(oriented[:, 1])
        mean_pae = mean_plddt = None
        if len(oriented):
            if pae is not None:
                i, j = oriented[:, 0], oriented[:, 1]
                mean_pae = float(np.mean((pae[i, j] + pae[j, i]) / 2))
            mean_plddt = float(np.mean(plddt[np.concatenate([residues_a, residues_b])]))
        found.append(Interface(chain_ids[a], chain_ids[b], oriented, residues_a, residues_b, mean_pae, mean_plddt))
    return found


def residue_ranges(numbers: Sequence[int]) -> str:
    """``3-7,12`` for the sorted residue numbers 3, 4, 5, 6, 7, 12."""
    ranges = []
    for _, run in itertools.groupby(enumerate(numbers), key=lambda item: item[1] - item[0]):
        run = [number for _, number in run]
        ranges.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(ranges)


def interfaces_tsv(found: Sequence[Interface], chain_index: np.ndarray) -> str:
    """``interfaces.tsv``: a header line of :data:`COLUMNS`, then one line per pair of chains."""
    chain_index = np.asarray(chain_index)
    chain_start = {int(chain): int(np.argmax(chain_index == chain)) for chain in np.unique(chain_index)}

    def numbers(residues: np.ndarray) -> str:
        return residue_ranges([int(index) - chain_start[int(chain_index[index])] + 1 for index in residues])

    def number(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    lines = ["\t".join(COLUMNS)]
    for interface in found:
        lines.append("\t".join([
            interface.chain_a, interface.chain_b, str(len(interface.pairs)), str(len(interface.residues_a)),
            str(len(interface.residues_b)), number(interface.mean_pae, 3), number(interface.mean_plddt, 2),
            numbers(interface.residues_a), numbers(interface.residues_b)]))
    return "\n".join(lines) + "\n"
