"""Template structures in mmCIF: release date, protein chain sequences and atom37 coordinates.

Reading (:func:`read_mmcif`) uses Biopython's ``MMCIF2Dict`` and follows the rules AlphaFold2 applies to
its template mmCIF files:

* **release date**: the earliest ``_pdbx_audit_revision_history.revision_date`` (the first release); files
  written before that category existed give it as the earliest ``_database_PDB_rev.date``.
* **chains**: one per polymer entity instance (``_struct_asym``) whose monomers include a peptide
  (``_chem_comp.type`` containing "peptide"), keyed by its *author* chain ID (``auth_asym_id``), as hhsearch
  hits of the PDB name their chains.
* **sequence** [N]: ``_entity_poly_seq``, one letter per monomer; a modified residue takes its parent's letter
  (MSE -> M, SEP -> S, ...), anything else is X. Where a position has several monomers
  (microheterogeneity, ``hetero = y``) the first one listed is the residue and the others are ignored.
* **coordinates**: model 1 only; atoms of residue i of the sequence go to row i of ``atom_positions``
  [N, 37, 3] (Å) and ``atom_mask`` [N, 37] in the atom37 order; unobserved residues stay masked. Of
  alternative locations of an atom the one with the highest occupancy is kept (the first on ties, as
  Biopython does). Selenomethionine's SE is stored as SD; arginine NH1/NH2 named the wrong way round (NH2
  closer to CD than NH1) are swapped. Hydrogens and atoms outside atom37 are dropped.

Writing (:func:`pdb_to_mmcif`) turns a PDB-format file into a minimal mmCIF these rules read back: entry
ID, release date (earliest ``REVDAT``), one entity per protein chain from ``SEQRES`` (or from the observed
residues when the file has none) and the chain's atoms with their SEQRES positions. PDB files do not say
which SEQRES residue an ATOM residue is; it is placed by its residue number when one offset between
numbering and SEQRES fits every residue, and otherwise by aligning residue names to SEQRES.
"""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import io
import re
from collections import defaultdict
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from Bio import Align
from Bio.Data.PDBData import protein_letters_3to1_extended
from Bio.PDB import PDBParser
from Bio.PDB.MMCIF2Dict import MMCIF2Dict
from Bio.PDB.mmcifio import MMCIFIO

from snakefold.common import residue_constants
from snakefold.common.atomic import atomic_write
from snakefold.common.errors import SnakefoldError

MmcifDict = Mapping[str, list[str]]

_CA, _CD, _NH1, _NH2, _SD = (residue_constants.atom_order[name] for name in ("CA", "CD", "NH1", "NH2", "SD"))
_UNSET = frozenset({".", "?"})


def residue_letter(component: str) -> str:
    """The one-letter code of a residue's chemical component: its parent's for a modified residue, else X."""
    return protein_letters_3to1_extended.get(component.upper(), "X")


@dataclasses.dataclass(frozen=True)
class TemplateChain:
    """One protein chain of an entry: sequence [N], residue names [N], atom37 coordinates and mask."""

    author_chain_id: str
    sequence: str
    residue_names: tuple[str, ...]
    atom_positions: np.ndarray  # [N, 37, 3] float32, Å
    atom_mask: np.ndarray  # [N, 37] float32


@dataclasses.dataclass(frozen=True)
class MmcifEntry:
    """The protein chains of one mmCIF entry, by author chain ID, and its first release date."""

    entry_id: str
    release_date: datetime.date | None
    chains: dict[str, TemplateChain]


def _open_text(path: Path):
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_mmcif_dict(path: str | Path) -> dict[str, list[str]]:
    """Biopython's ``MMCIF2Dict`` of a (possibly gzipped) mmCIF file, every value a list."""
    path = Path(path)
    try:
        with _open_text(path) as handle:
            parsed = MMCIF2Dict(handle)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise SnakefoldError(f"cannot read the mmCIF file {path}: {error}") from error
    return {key: value if isinstance(value, list) else [value] for key, value in parsed.items()}


def _columns(mmcif: MmcifDict, category: str, names: Sequence[str], source: str) -> list[list[str]]:
    missing = [f"{category}.{name}" for name in names if f"{category}.{name}" not in mmcif]
    if missing:
        raise SnakefoldError(f"{source}: the mmCIF file has no {', '.join(missing)}; it cannot serve as a "
                             "template (is it a complete PDB entry?)")
    return [mmcif[f"{category}.{name}"] for name in names]


def _parse_date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        return None


def mmcif_release_date(mmcif: MmcifDict) -> datetime.date | None:
    """The first release date of an entry, or None when the file records none."""
    for key in ("_pdbx_audit_revision_history.revision_date", "_database_PDB_rev.date"):
        dates = [date for date in map(_parse_date, mmcif.get(key, [])) if date is not None]
        if dates:
            return min(dates)
    return None


def _protein_chains(mmcif: MmcifDict, source: str) -> dict[str, list[tuple[int, str]]]:
    """label_asym_id -> [(num, monomer)] of every peptide entity instance, one monomer per position."""
    entity_ids, nums, monomers = _columns(mmcif, "_entity_poly_seq", ("entity_id", "num", "mon_id"), source)
    component_types = dict(zip(mmcif.get("_chem_comp.id", []), mmcif.get("_chem_comp.type", [])))
    entities: dict[str, dict[int, str]] = defaultdict(dict)
    for entity_id, num, monomer in zip(entity_ids, nums, monomers):
        entities[entity_id].setdefault(int(num), monomer)
    asym_ids, asym_entities = _columns(mmcif, "_struct_asym", ("id", "entity_id"), source)
    chains = {}
    for asym_id, entity_id in zip(asym_ids, asym_entities):
        residues = sorted(entities.get(entity_id, {}).items())
        if any("peptide" in component_types.get(monomer, "").lower() for _, monomer in residues):
            chains[asym_id] = residues
    return chains


def _fix_arginine(positions: np.ndarray, mask: np.ndarray, residue_names: Sequence[str]) -> None:
    """Swap NH1 and NH2 of arginines whose NH2 is closer to CD than NH1 (a naming error)."""
    for index, name in enumerate(residue_names):
        if name != "ARG" or not (mask[index, _CD] and mask[index, _NH1] and mask[index, _NH2]):
            continue
        cd = positions[index, _CD]
        if np.linalg.norm(positions[index, _NH1] - cd) > np.linalg.norm(positions[index, _NH2] - cd):
            positions[index, [_NH1, _NH2]] = positions[index, [_NH2, _NH1]]


def parse_mmcif_dict(mmcif: MmcifDict, source: str, entry_id: str | None = None) -> MmcifEntry:
    """The :class:`MmcifEntry` of a parsed mmCIF; ``source`` names the file in error messages."""
    if entry_id is None:
        entry_id = mmcif.get("_entry.id", [Path(source).name.split(".")[0]])[0]
    protein_chains = _protein_chains(mmcif, source)
    fields = ("label_atom_id", "label_comp_id", "label_asym_id", "label_seq_id",
              "auth_asym_id", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "pdbx_PDB_model_num")
    columns = _columns(mmcif, "_atom_site", fields, source)
    first_model = columns[-1][0] if columns[-1] else None

    author_ids: dict[str, str] = {}
    row_of: dict[str, dict[int, int]] = {
        asym_id: {num: row for row, (num, _) in enumerate(residues)} for asym_id, residues in protein_chains.items()}
    positions = {asym_id: np.zeros((len(res), residue_constants.atom_type_num, 3), np.float32)
                 for asym_id, res in protein_chains.items()}
    masks = {asym_id: np.zeros((len(res), residue_constants.atom_type_num), np.float32)
             for asym_id, res in protein_chains.items()}
    occupancies = {asym_id: np.full((len(res), residue_constants.atom_type_num), -np.inf)
                   for asym_id, res in protein_chains.items()}
    for atom, component, asym_id, seq_id, author_id, x, y, z, occupancy, model in zip(*columns):
        if model != first_model or asym_id not in protein_chains:
            continue
        author_ids.setdefault(asym_id, author_id)
        if seq_id in _UNSET:
            continue
        row = row_of[asym_id].get(int(seq_id))
        if row is None or protein_chains[asym_id][row][1] != component:
            continue  # not in the sequence, or another monomer of a microheterogeneous position
        if atom == "SE" and component == "MSE":
            atom = "SD"
        slot = residue_constants.atom_order.get(atom)
        if slot is None:
            continue
        weight = 1.0 if occupancy in _UNSET else float(occupancy)
        if weight > occupancies[asym_id][row, slot]:
            occupancies[asym_id][row, slot] = weight
            positions[asym_id][row, slot] = (float(x), float(y), float(z))
            masks[asym_id][row, slot] = 1.0

    chains = {}
    for asym_id, residues in protein_chains.items():
        author_id = author_ids.get(asym_id, asym_id)
        if author_id in chains:
            continue  # a second polymer instance under the same author chain ID: the first one stands
        names = tuple(monomer for _, monomer in residues)
        _fix_arginine(positions[asym_id], masks[asym_id], names)
        chains[author_id] = TemplateChain(
            author_chain_id=author_id,
            sequence="".join(residue_letter(name) for name in names),
            residue_names=names,
            atom_positions=positions[asym_id],
            atom_mask=masks[asym_id],
        )
    return MmcifEntry(entry_id=entry_id, release_date=mmcif_release_date(mmcif), chains=chains)


def read_mmcif(path: str | Path, entry_id: str | None = None) -> MmcifEntry:
    """The protein chains and release date of the mmCIF file at ``path`` (gzip accepted)."""
    return parse_mmcif_dict(read_mmcif_dict(path), str(path), entry_id)


# --- PDB format -> mmCIF ---------------------------------------------------------------------------------

_MONTHS = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}


def _pdb_date(text: str) -> datetime.date | None:
    """A PDB header date ``DD-MON-YY`` (years 00-69 are 2000-2069, as the PDB began in the 1970s)."""
    match = re.fullmatch(r"(\d\d)-([A-Z]{3})-(\d\d)", text.strip().upper())
    if match is None or match[2] not in _MONTHS:
        return None
    year = int(match[3])
    return datetime.date(year + (2000 if year < 70 else 1900), _MONTHS[match[2]], int(match[1]))


@dataclasses.dataclass
class _PdbHeader:
    idcode: str = ""
    release_date: datetime.date | None = None
    method: str = ""
    seqres: dict[str, list[str]] = dataclasses.field(default_factory=dict)


def _read_pdb_header(text: str) -> _PdbHeader:
    header = _PdbHeader()
    revision_dates = []
    for line in text.splitlines():
        record = line[:6].rstrip()
        if record == "HEADER":
            header.idcode = line[62:66].strip()
        elif record == "REVDAT":
            date = _pdb_date(line[13:22])
            if date is not None:
                revision_dates.append(date)
        elif record == "EXPDTA":
            header.method = line[10:].strip()
        elif record == "SEQRES":
            header.seqres.setdefault(line[11], []).extend(line[19:].split())
        elif record in ("ATOM", "HETATM", "MODEL"):
            break
    header.release_date = min(revision_dates) if revision_dates else None
    return header


def _by_numbering(residues: Sequence, seqres: Sequence[str]) -> list[int] | None:
    """SEQRES positions of ``residues`` if one numbering offset fits them all (no insertion codes)."""
    if not residues or any(residue.id[2].strip() for residue in residues):
        return None
    numbers = [residue.id[1] for residue in residues]
    names = [residue.get_resname() for residue in residues]
    # Offsets that put the first residue on a SEQRES residue of its name; numbering from 1 is tried first.
    offsets = [numbers[0] - index for index, name in enumerate(seqres) if name == names[0]]
    offsets.sort(key=lambda offset: offset != 1)
    for offset in offsets:
        placed = [number - offset for number in numbers]
        if all(0 <= index < len(seqres) and seqres[index] == name for index, name in zip(placed, names)):
            return placed
    return None


def _by_alignment(residues: Sequence, seqres: Sequence[str]) -> list[int | None]:
    """SEQRES positions of ``residues`` from a global alignment of residue names (None: not in SEQRES)."""
    codes: dict[str, str] = {}  # one private character per residue name: names match only themselves

    def as_text(names: Sequence[str]) -> str:
        return "".join(codes.setdefault(name, chr(0x100 + len(codes))) for name in names)

    seqres_text = as_text(seqres)
    observed_text = as_text([residue.get_resname() for residue in residues])
    aligner = Align.PairwiseAligner(mode="global", match_score=2.0, mismatch_score=-3.0)
    aligner.open_internal_deletion_score = -2.0  # SEQRES residues missing from the coordinates
    aligner.extend_internal_deletion_score = -0.1
    aligner.end_deletion_score = 0.0  # disordered termini are common and free
    aligner.insertion_score = -20.0  # an observed residue that is not in SEQRES
    alignment = aligner.align(seqres_text, observed_text)[0]
    placed: list[int | None] = [None] * len(residues)
    for (seq_start, seq_end), (obs_start, _obs_end) in zip(*alignment.aligned):
        for step in range(seq_end - seq_start):
            if seqres[seq_start + step] == residues[obs_start + step].get_resname():
                placed[obs_start + step] = seq_start + step
    return placed


def _is_amino_acid(name: str) -> bool:
    return name.upper() in protein_letters_3to1_extended


def pdb_to_mmcif(path: str | Path) -> tuple[dict[str, list[str]], str, datetime.date | None]:
    """A PDB-format file (gzip accepted) as an mmCIF dict of its protein chains, its ID and release date.

    The ID is the header's ``idcode`` (empty when the file has no HEADER record).
    """
    path = Path(path)
    try:
        with _open_text(path) as handle:
            text = handle.read()
        structure = PDBParser(QUIET=True).get_structure(path.name, io.StringIO(text))
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise SnakefoldError(f"cannot read the PDB file {path}: {error}") from error
    header = _read_pdb_header(text)
    models = list(structure)
    if not models:
        raise SnakefoldError(f"{path}: the PDB file has no ATOM or HETATM records")

    entity_rows, asym_rows, atom_rows = [], [], []
    components: set[str] = set()
    for chain in models[0]:
        seqres = header.seqres.get(chain.id)
        residues = [residue for residue in chain if residue.get_resname() in (seqres or ()) or
                    _is_amino_acid(residue.get_resname())]
        if not residues:
            continue
        if seqres:
            placed = _by_numbering(residues, seqres) or _by_alignment(residues, seqres)
        else:
            seqres = [residue.get_resname() for residue in residues]
            placed = list(range(len(residues)))
        if not any(_is_amino_acid(name) for name in seqres) or not any(index is not None for index in placed):
            continue
        entity_id = str(len(asym_rows) + 1)
        asym_rows.append((chain.id, entity_id))
        entity_rows.extend((entity_id, str(number), name) for number, name in enumerate(seqres, start=1))
        components.update(seqres)
        for residue, index in zip(residues, placed):
            if index is None:
                continue
            for atom in residue.get_unpacked_list():
                atom_rows.append((residue, index, atom, chain.id, entity_id))
    if not asym_rows:
        raise SnakefoldError(f"{path}: the PDB file has no protein chain")

    mmcif: dict[str, list[str]] = {"_entry.id": [header.idcode or path.name.split(".")[0]]}
    if header.method:
        mmcif["_exptl.method"] = [header.method]
    if header.release_date is not None:
        mmcif["_pdbx_audit_revision_history.ordinal"] = ["1"]
        mmcif["_pdbx_audit_revision_history.revision_date"] = [header.release_date.isoformat()]
    for name, values in zip(("entity_id", "num", "mon_id"), zip(*entity_rows)):
        mmcif[f"_entity_poly_seq.{name}"] = list(values)
    mmcif["_struct_asym.id"], mmcif["_struct_asym.entity_id"] = map(list, zip(*asym_rows))
    mmcif["_chem_comp.id"] = sorted(components)
    mmcif["_chem_comp.type"] = ["L-peptide linking" if _is_amino_acid(name) else "other"
                                for name in mmcif["_chem_comp.id"]]
    columns = defaultdict(list)
    for serial, (residue, index, atom, chain_id, entity_id) in enumerate(atom_rows, start=1):
        x, y, z = atom.get_coord()
        values = {
            "group_PDB": "HETATM" if residue.id[0].startswith("H_") else "ATOM",
            "id": str(serial), "type_symbol": atom.element or "?", "label_atom_id": atom.get_name(),
            "label_alt_id": atom.get_altloc().strip() or ".", "label_comp_id": residue.get_resname(),
            "label_asym_id": chain_id, "label_entity_id": entity_id, "label_seq_id": str(index + 1),
            "pdbx_PDB_ins_code": residue.id[2].strip() or "?", "Cartn_x": f"{x:.3f}", "Cartn_y": f"{y:.3f}",
            "Cartn_z": f"{z:.3f}", "occupancy": f"{atom.get_occupancy():.2f}",
            "B_iso_or_equiv": f"{atom.get_bfactor():.2f}", "auth_seq_id": str(residue.id[1]),
            "auth_comp_id": residue.get_resname(), "auth_asym_id": chain_id, "auth_atom_id": atom.get_name(),
            "pdbx_PDB_model_num": "1",
        }
        for name, value in values.items():
            columns[f"_atom_site.{name}"].append(value)
    mmcif.update(columns)
    return mmcif, header.idcode, header.release_date


def write_mmcif_dict(mmcif: Mapping[str, list[str]], path: str | Path) -> None:
    """Write an mmCIF dict (as :func:`pdb_to_mmcif` or :func:`read_mmcif_dict` give) atomically."""
    writer = MMCIFIO()
    writer.set_dict({"data_": mmcif.get("_entry.id", ["template"])[0], **mmcif})
    with atomic_write(path, "w") as handle:
        writer.save(handle)
