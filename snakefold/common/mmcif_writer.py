"""Write a predicted protein chain or complex as a PDBx/mmCIF file with Biopython's MMCIFIO.

The file carries what a reader needs to use a predicted model without the files around it:

- ``_entity``, ``_entity_poly``, ``_entity_poly_seq``, ``_struct_asym``: the full query sequence of every
  chain (residues without coordinates included), so a model is never mistaken for the sequence it was
  predicted from; in a complex, one entity per distinct sequence (numbered in order of first appearance,
  with its number of copies and its chains) and one asym per chain, its label and author IDs the chain's;
- ``_struct`` and ``_software``: a title and free-text details (which model, which rank, relaxed or not,
  which parameters) and the program that made it;
- ``_atom_site``: the coordinates, one row per atom, with the per-residue pLDDT (0-100) as
  ``B_iso_or_equiv``, as the AlphaFold Protein Structure Database does;
- ``_ma_qa_metric``, ``_ma_qa_metric_global``, ``_ma_qa_metric_local``: the model-quality scores in the
  ModelCIF categories (per-residue pLDDT, and global scores such as the mean pLDDT and pTM).

The writer builds an mmCIF dictionary (category.item -> value or column) and hands it to
:class:`Bio.PDB.mmcifio.MMCIFIO`, which does the CIF quoting, loops and text fields. Residues are numbered
1..L_c within each chain (``label_seq_id`` and ``auth_seq_id``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from Bio.PDB.mmcifio import MMCIFIO
from Bio.PDB.Structure import Structure

from snakefold.common.atomic import atomic_write
from snakefold.common.residue_constants import restype_1to3, restype_3to1, unknown_residue_name

#: The line width of sequences in ``_entity_poly``, as in the PDB archive (longer lines become text fields).
SEQUENCE_LINE_WIDTH = 80


@dataclass(frozen=True)
class GlobalScore:
    """A whole-model quality score: its ModelCIF name and type (``pLDDT``, ``pTM``), description, value."""

    name: str
    type: str
    description: str
    value: float


@dataclass(frozen=True)
class ChainRecord:
    """One chain of a complex: its ID, its full one-letter sequence and what it is (e.g. its record ID)."""

    chain_id: str
    sequence: str
    description: str = ""


@dataclass(frozen=True)
class ModelRecord:
    """What the mmCIF file says about the model besides its atoms.

    ``entry_id`` names the data block and ``_entry.id`` (a target name: letters, digits, ``._-``);
    ``sequence`` is the chain's full one-letter sequence, residue i of the structure being position i
    (1-based); ``plddt`` [L], when given, is written per residue in ``_ma_qa_metric_local``. A complex lists
    its ``chains`` in order; ``sequence`` and ``plddt`` are then those of the chains one after the other.
    """

    entry_id: str
    title: str
    sequence: str
    description: str = ""
    details: str = ""
    plddt: tuple[float, ...] | None = None
    global_scores: tuple[GlobalScore, ...] = ()
    software: tuple[tuple[str, str, str], ...] = ()  # (name, version, description)
    chain_id: str = "A"
    chains: tuple[ChainRecord, ...] = ()

    def __post_init__(self) -> None:
        if self.chains and "".join(chain.sequence for chain in self.chains) != self.sequence:
            raise ValueError(f"{self.entry_id}: the chains' sequences are not the sequence")

    @property
    def chain_records(self) -> tuple[ChainRecord, ...]:
        """The chains in order (a single chain: ``chain_id`` with ``sequence`` and ``description``)."""
        return self.chains or (ChainRecord(self.chain_id, self.sequence, self.description),)

    def entities(self) -> list[tuple[str, list[ChainRecord]]]:
        """(sequence, its chains) per distinct sequence, in order of first appearance: entities 1, 2, ..."""
        grouped: dict[str, list[ChainRecord]] = {}
        for chain in self.chain_records:
            grouped.setdefault(chain.sequence, []).append(chain)
        return list(grouped.items())


def _text(value: object) -> str:
    """An mmCIF value: '?' for unknown, the text otherwise (MMCIFIO quotes it when needed)."""
    text = "" if value is None else str(value)
    return text if text.strip() else "?"


def _wrapped(sequence: str) -> str:
    lines = [sequence[start:start + SEQUENCE_LINE_WIDTH] for start in range(0, len(sequence), SEQUENCE_LINE_WIDTH)]
    return "\n".join(lines)


def _residue_name(letter: str) -> str:
    return restype_1to3.get(letter, unknown_residue_name)


def _one_letter_code(sequence: str) -> str:
    """``pdbx_seq_one_letter_code``: standard residues as letters, anything else as ``(UNK)``."""
    return "".join(letter if letter in restype_1to3 else f"({unknown_residue_name})" for letter in sequence)


def _loop(dictionary: dict, category: str, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    for item in rows[0]:
        dictionary[f"{category}.{item}"] = [_text(row[item]) for row in rows]


def _atom_site(structure: Structure, record: ModelRecord) -> list[dict[str, object]]:
    models = list(structure)
    if len(models) != 1:
        raise ValueError(f"{record.entry_id}: expected one model in the structure, found {len(models)}")
    chains = list(models[0])
    expected_ids = [chain.chain_id for chain in record.chain_records]
    if [chain.id for chain in chains] != expected_ids and not (len(chains) == len(expected_ids) == 1):
        raise ValueError(f"{record.entry_id}: expected the chain(s) {', '.join(expected_ids)} in the structure, found "
                         f"{', '.join(chain.id for chain in chains) or 'none'}")
    entity_of = {sequence: entity for entity, (sequence, _) in enumerate(record.entities(), start=1)}
    rows = []
    for chain, chain_record in zip(chains, record.chain_records):
        sequence, chain_id = chain_record.sequence, chain_record.chain_id
        for residue in chain:
            hetero_flag, number, insertion = residue.id
            if hetero_flag.strip() or insertion.strip():
                raise ValueError(f"{record.entry_id}: residue {residue.id} is a hetero group or has an insertion "
                                 "code; a predicted chain has neither")
            if not 1 <= number <= len(sequence):
                raise ValueError(f"{record.entry_id}: residue number {number} is outside the sequence "
                                 f"(1-{len(sequence)})")
            expected = _residue_name(sequence[number - 1])
            if residue.resname != expected:
                raise ValueError(f"{record.entry_id}: residue {number} is {residue.resname} in the structure but "
                                 f"{expected} in the sequence")
            for atom in residue:
                x, y, z = (float(value) for value in atom.coord)
                rows.append({
                    "group_PDB": "ATOM", "id": len(rows) + 1, "type_symbol": atom.element,
                    "label_atom_id": atom.get_name(), "label_alt_id": ".", "label_comp_id": residue.resname,
                    "label_asym_id": chain_id, "label_entity_id": entity_of[sequence], "label_seq_id": number,
                    "pdbx_PDB_ins_code": "?", "Cartn_x": f"{x:.3f}", "Cartn_y": f"{y:.3f}", "Cartn_z": f"{z:.3f}",
                    "occupancy": f"{atom.get_occupancy():.2f}", "B_iso_or_equiv": f"{atom.get_bfactor():.2f}",
                    "pdbx_formal_charge": "?", "auth_seq_id": number, "auth_comp_id": residue.resname,
                    "auth_asym_id": chain_id, "auth_atom_id": atom.get_name(), "pdbx_PDB_model_num": 1,
                })
    if not rows:
        raise ValueError(f"{record.entry_id}: the structure has no atoms")
    return rows


def mmcif_dictionary(structure: Structure, record: ModelRecord) -> dict:
    """The mmCIF dictionary (``category.item`` -> value or list of values) of one predicted chain or complex."""
    if record.plddt is not None and len(record.plddt) != len(record.sequence):
        raise ValueError(f"{record.entry_id}: {len(record.plddt)} pLDDT values for {len(record.sequence)} residues")
    entities = record.entities()
    residue_names = [_residue_name(letter) for letter in record.sequence]
    dictionary: dict[str, object] = {"data_": record.entry_id, "_entry.id": record.entry_id}
    _loop(dictionary, "_audit_conform", [
        {"dict_name": "mmcif_pdbx.dic", "dict_version": "5.392", "dict_location":
         "https://mmcif.wwpdb.org/dictionaries/ascii/mmcif_pdbx_v50.dic"},
        {"dict_name": "mmcif_ma.dic", "dict_version": "1.4.5", "dict_location":
         "https://raw.githubusercontent.com/ihmwg/ModelCIF/master/dist/mmcif_ma.dic"},
    ])
    dictionary["_struct.entry_id"] = record.entry_id
    dictionary["_struct.title"] = _text(record.title)
    dictionary["_struct.pdbx_model_details"] = _text(record.details)
    dictionary["_struct.pdbx_structure_determination_methodology"] = "computational"
    _loop(dictionary, "_software", [
        {"pdbx_ordinal": ordinal, "name": name, "version": version, "type": "program",
         "classification": "model building", "description": description}
        for ordinal, (name, version, description) in enumerate(record.software, start=1)
    ])
    complex_entities = len(record.chain_records) > 1
    _loop(dictionary, "_entity", [
        {"id": entity, "type": "polymer", "src_method": "man",
         "pdbx_description": (", ".join(dict.fromkeys(chain.description for chain in chains)) if complex_entities
                              else record.description),
         "pdbx_number_of_molecules": len(chains)}
        for entity, (_, chains) in enumerate(entities, start=1)
    ])
    _loop(dictionary, "_entity_poly", [{
        "entity_id": entity, "type": "polypeptide(L)", "nstd_linkage": "no", "nstd_monomer": "no",
        "pdbx_seq_one_letter_code": _wrapped(_one_letter_code(sequence)),
        "pdbx_seq_one_letter_code_can": _wrapped("".join(restype_3to1.get(_residue_name(letter), "X")
                                                         for letter in sequence)),
        "pdbx_strand_id": ",".join(chain.chain_id for chain in chains),
    } for entity, (sequence, chains) in enumerate(entities, start=1)])
    _loop(dictionary, "_entity_poly_seq", [
        {"entity_id": entity, "num": number, "mon_id": _residue_name(letter), "hetero": "n"}
        for entity, (sequence, _) in enumerate(entities, start=1)
        for number, letter in enumerate(sequence, start=1)
    ])
    _loop(dictionary, "_chem_comp", [
        {"id": name, "type": "L-peptide linking" if name != unknown_residue_name else "other"}
        for name in sorted(set(residue_names))
    ])
    entity_of = {sequence: entity for entity, (sequence, _) in enumerate(entities, start=1)}
    _loop(dictionary, "_struct_asym", [{"id": chain.chain_id, "entity_id": entity_of[chain.sequence]}
                                       for chain in record.chain_records])
    _loop(dictionary, "_atom_site", _atom_site(structure, record))
    local_metrics, global_metrics, global_values = [], [], []
    if record.plddt is not None:
        local_metrics.append({"id": 1, "name": "pLDDT", "description": "Predicted lDDT-Ca of each residue (0-100)",
                              "type": "pLDDT", "mode": "local"})
    for score in record.global_scores:
        metric_id = len(local_metrics) + len(global_metrics) + 1
        global_metrics.append({"id": metric_id, "name": score.name, "description": score.description,
                               "type": score.type, "mode": "global"})
        global_values.append({"ordinal_id": len(global_values) + 1, "model_id": 1, "metric_id": metric_id,
                              "metric_value": f"{score.value:.4f}"})
    _loop(dictionary, "_ma_qa_metric", local_metrics + global_metrics)
    _loop(dictionary, "_ma_qa_metric_global", global_values)
    if record.plddt is not None:
        residues = [(chain.chain_id, number, _residue_name(letter)) for chain in record.chain_records
                    for number, letter in enumerate(chain.sequence, start=1)]
        _loop(dictionary, "_ma_qa_metric_local", [
            {"ordinal_id": ordinal, "model_id": 1, "label_asym_id": chain_id, "label_seq_id": number,
             "label_comp_id": name, "metric_id": 1, "metric_value": f"{value:.2f}"}
            for ordinal, ((chain_id, number, name), value) in enumerate(zip(residues, record.plddt), start=1)
        ])
    return dictionary


def write_mmcif(path: str | os.PathLike, structure: Structure, record: ModelRecord) -> None:
    """Write ``structure`` (one model; each chain numbered 1..L_c along its sequence) atomically."""
    writer = MMCIFIO()
    writer.set_dict(mmcif_dictionary(structure, record))
    with atomic_write(path, "w") as handle:
        writer.save(handle)
