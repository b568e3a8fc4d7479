"""Ranked model files: a predicted or relaxed chain or complex, pLDDT in the B-factor column, as PDB and mmCIF.

The source is the predict stage's ``unrelaxed.pdb`` (atom37 heavy atoms) or the relax stage's
``rank_<i>.pdb`` (which may add hydrogens). It is read with Biopython, each chain checked against its
sequence (same length, same residue at every position) and renumbered 1..L_c (a single chain becomes chain
A; a complex's chains keep their IDs A, B, ... in order), given each residue's pLDDT as the B-factor of all
its atoms, and written:

- PDB with Biopython's PDBIO (a TER record after each chain), after a header of TITLE, REMARK 1 (model,
  rank, relaxation, parameters) and SEQRES records of every chain;
- mmCIF with :mod:`snakefold.common.mmcif_writer` (sequence, metadata and ModelCIF quality scores).
"""

from __future__ import annotations

import os
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from Bio.PDB import PDBIO, PDBParser
from Bio.PDB.PDBExceptions import PDBConstructionWarning
from Bio.PDB.Structure import Structure

from snakefold.common.atomic import atomic_write
from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import verify_intermediate
from snakefold.common.mmcif_writer import ChainRecord, ModelRecord, write_mmcif
from snakefold.common.residue_constants import restype_1to3, unknown_residue_name

CHAIN_ID = "A"
SEQRES_PER_LINE = 13


def load_model(path: str | Path, chains: Sequence[ChainRecord]) -> Structure:
    """The chains of ``path`` (first model), each checked against its sequence and numbered 1..L_c.

    A single chain is renamed ``chains[0].chain_id`` whatever its ID in the file; a complex's chains must be
    there in order with their IDs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PDBConstructionWarning)
        structure = PDBParser(QUIET=True).get_structure(Path(path).stem, str(path))
    models = list(structure)
    if not models:
        raise SnakefoldError(f"{path}: no atoms")
    for extra in models[1:]:
        structure.detach_child(extra.id)
    found = list(models[0])
    if len(found) != len(chains):
        raise SnakefoldError(f"{path}: a predicted model of {len(chains)} chain(s), this file has {len(found)}")
    if len(chains) > 1 and [chain.id for chain in found] != [chain.chain_id for chain in chains]:
        raise SnakefoldError(f"{path}: chains {', '.join(chain.id for chain in found)}; the complex has "
                             f"{', '.join(chain.chain_id for chain in chains)}")
    for chain, record in zip(found, chains):
        _number_chain(path, chain, record.sequence)
        if chain.id != record.chain_id:
            chain.id = record.chain_id
    return structure


def load_chain(path: str | Path, sequence: str) -> Structure:
    """The single chain in ``path`` (first model), checked against ``sequence`` and numbered 1..L on chain A."""
    return load_model(path, [ChainRecord(CHAIN_ID, sequence)])


def _number_chain(path: str | Path, chain, sequence: str) -> None:
    residues = [residue for residue in chain if residue.id[0] == " "]
    positions = _sequence_positions(residues, sequence)
    where = f"{path}" if chain.id == CHAIN_ID else f"{path}, chain {chain.id}"
    if len(residues) != len(chain) or positions is None:
        raise SnakefoldError(f"{where}: {len(residues)} residues (and {len(chain) - len(residues)} hetero groups) "
                             f"for a sequence of {len(sequence)}")
    for position, residue in zip(positions, residues):
        expected = restype_1to3.get(sequence[position - 1], unknown_residue_name)
        if residue.resname != expected:
            raise SnakefoldError(f"{where}: residue {position} is {residue.resname}; the sequence has {expected}")
    # Two passes: a new number may equal an old one still present in the chain.
    for offset, residue in enumerate(residues):
        residue.id = (" ", -1 - offset, " ")
    for position, residue in zip(positions, residues):
        residue.id = (" ", position, " ")


def _sequence_positions(residues: list, sequence: str) -> list[int] | None:
    """The sequence position (1-based) of each residue: one residue per position, or, where the model has
    no atoms for an unknown residue ``X`` (AlphaFold2's atom masks give it none), the other residues at
    their own residue numbers. None when the residues do not fit the sequence either way."""
    if len(residues) == len(sequence):
        return list(range(1, len(sequence) + 1))
    numbers = [residue.id[1] for residue in residues]
    missing = set(range(1, len(sequence) + 1)) - set(numbers)
    if (len(set(numbers)) == len(numbers) and all(1 <= number <= len(sequence) for number in numbers)
            and all(sequence[number - 1] == "X" for number in missing)):
        return numbers
    return None


def set_plddt(structure: Structure, plddt: np.ndarray, chains: Sequence[ChainRecord]) -> None:
    """Give every atom of residue i the pLDDT of residue i as its B-factor (``plddt`` holds the ``chains``'
    residues one after the other, as the structure's chains are ordered)."""
    offsets = np.cumsum([0] + [len(chain.sequence) for chain in chains])
    for chain, offset in zip(structure[0], offsets):
        for residue in chain:
            value = float(plddt[offset + residue.id[1] - 1])
            for atom in residue:
                atom.set_bfactor(value)


def _record_lines(name: str, text: str, width: int = 70) -> list[str]:
    """PDB TITLE-style records: the text wrapped, continuation numbers from the second line on."""
    lines = textwrap.wrap(text, width) or [""]
    out = [f"{name:<6}    {lines[0]}"]
    out.extend(f"{name:<6} {number:>3} {line}" for number, line in enumerate(lines[1:], start=2))
    return [line[:80] for line in out]


def pdb_header(record: ModelRecord) -> str:
    lines = _record_lines("TITLE", record.title)
    for paragraph in record.details.split("\n"):
        lines.extend(f"REMARK   1 {line}" for line in textwrap.wrap(paragraph, 69))
    for chain in record.chain_records:
        names = [restype_1to3.get(letter, unknown_residue_name) for letter in chain.sequence]
        for serial, start in enumerate(range(0, len(names), SEQRES_PER_LINE), start=1):
            chunk = " ".join(names[start:start + SEQRES_PER_LINE])
            lines.append(f"SEQRES {serial:>3} {chain.chain_id} {len(names):>4}  {chunk}")
    return "".join(f"{line:<80}\n" for line in lines)


def write_pdb(path: str | os.PathLike, structure: Structure, record: ModelRecord) -> None:
    writer = PDBIO()
    writer.set_structure(structure)
    with atomic_write(path, "w") as handle:
        handle.write(pdb_header(record))
        writer.save(handle)


def write_ranked_model(source: str | Path, pdb_path: str | os.PathLike, cif_path: str | os.PathLike,
                       record: ModelRecord) -> None:
    """Read ``source``, set pLDDT B-factors from ``record.plddt``, write ``pdb_path`` and ``cif_path``."""
    structure = load_model(verify_intermediate(source, "a predicted or relaxed model"), record.chain_records)
    set_plddt(structure, np.asarray(record.plddt), record.chain_records)
    write_pdb(pdb_path, structure, record)
    try:
        write_mmcif(cif_path, structure, record)
    except ValueError as error:
        raise SnakefoldError(f"{source}: cannot be written as mmCIF: {error}") from None
