"""The atom37 protein container every stage exchanges, and its PDB / mmCIF reading and PDB writing.

A :class:`Protein` holds one model of one or more chains in AlphaFold2's atom37 layout: every residue
has 37 heavy-atom slots named by :data:`~snakefold.common.residue_constants.atom_types` (backbone first,
``OXT`` last), with a mask saying which slots hold an atom. Shapes (L residues):

- ``atom_positions`` [L, 37, 3] float32, Angstrom
- ``aatype``         [L] int32, AlphaFold2's residue order (``ARNDCQEGHILKMFPSTWYV``), 20 = unknown
- ``atom_mask``      [L, 37] float32, 1.0 where the atom is present
- ``residue_index``  [L] int32, author residue numbers as written in the file (insertion codes dropped)
- ``chain_index``    [L] int32, index into ``chain_ids``
- ``b_factors``      [L, 37] float32 (predictions carry pLDDT here)
- ``chain_ids``      tuple of chain identifiers, one per distinct ``chain_index``

Reading (:func:`from_structure_file`, :func:`from_pdb_string`, :func:`from_mmcif_string`) keeps one model,
drops hydrogens, waters and ligands, and applies three rules a person would expect:

- alternate locations: atoms without an altloc label are kept, and of the labelled ones only those of the
  first label seen in that residue (usually ``A``);
- microheterogeneity (two residue types at one position, as in crambin 1EJG): the first type is kept;
- modified residues (HETATM ``MSE``, ``SEP``, ``HYP`` ...) become their parent residue when the parent is
  known to Biopython's extended three-letter table and the residue has a CA; atoms are kept when the
  parent has an atom of that name (selenomethionine's ``SE`` becomes ``SD``). Unknown ``ATOM`` residues
  (``UNK``) keep their backbone as residue type 20.

mmCIF files are tokenised by Biopython's :class:`~Bio.PDB.MMCIF2Dict.MMCIF2Dict` and read with author
chain IDs and residue numbers (``auth_asym_id``, ``auth_seq_id``), as in PDB files. :func:`to_pdb` writes
PDB-format ATOM records with the B-factor column as given (pLDDT for predictions).
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from snakefold.common import residue_constants as rc
from snakefold.common.errors import SnakefoldError

#: Atom names that modified residues use for an atom of their parent residue.
_PARENT_ATOM_ALIASES: dict[tuple[str, str], str] = {("MET", "SE"): "SD"}


@dataclasses.dataclass(frozen=True)
class Protein:
    """One model of a protein in the atom37 layout (shapes in the module docstring)."""

    atom_positions: np.ndarray
    aatype: np.ndarray
    atom_mask: np.ndarray
    residue_index: np.ndarray
    chain_index: np.ndarray
    b_factors: np.ndarray
    chain_ids: tuple[str, ...] = ("A",)

    def __post_init__(self) -> None:
        coerced = {
            "atom_positions": np.asarray(self.atom_positions, dtype=np.float32),
            "aatype": np.asarray(self.aatype, dtype=np.int32),
            "atom_mask": np.asarray(self.atom_mask, dtype=np.float32),
            "residue_index": np.asarray(self.residue_index, dtype=np.int32),
            "chain_index": np.asarray(self.chain_index, dtype=np.int32),
            "b_factors": np.asarray(self.b_factors, dtype=np.float32),
            "chain_ids": tuple(str(chain) for chain in self.chain_ids),
        }
        for name, value in coerced.items():
            object.__setattr__(self, name, value)
        length = self.aatype.shape[0]
        expected = {"atom_positions": (length, rc.atom_type_num, 3), "aatype": (length,),
                    "atom_mask": (length, rc.atom_type_num), "residue_index": (length,),
                    "chain_index": (length,), "b_factors": (length, rc.atom_type_num)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"Protein.{name} has shape {getattr(self, name).shape}, expected {shape}")
        if length and (self.aatype.min() < 0 or self.aatype.max() > rc.unknown_restype_index):
            raise ValueError(f"Protein.aatype must lie in 0..{rc.unknown_restype_index}")
        if length and (self.chain_index.min() < 0 or self.chain_index.max() >= len(self.chain_ids)):
            raise ValueError(f"Protein.chain_index must index chain_ids {self.chain_ids}")

    @property
    def num_residues(self) -> int:
        return int(self.aatype.shape[0])

    @property
    def sequence(self) -> str:
        """One-letter sequence of all chains in order (``X`` for unknown residues)."""
        return "".join(rc.restypes_with_x[index] for index in self.aatype)

    def residue_label(self, position: int) -> str:
        """``chain:number`` of the residue at array position ``position`` (for messages and reports)."""
        return f"{self.chain_ids[self.chain_index[position]]}:{self.residue_index[position]}"


# ----------------------------------------------------------------------------------------------------------
# Reading


@dataclasses.dataclass
class _AtomRecord:
    model: str
    chain: str
    residue_number: int
    insertion_code: str
    residue_name: str
    atom_name: str
    altloc: str
    element: str
    position: tuple[float, float, float]
    b_factor: float
    is_hetatm: bool


def _parent_residue(residue_name: str, is_hetatm: bool) -> str | None:
    """Three-letter standard residue this residue is read as, ``UNK``, or None to drop it."""
    if residue_name in rc.residue_atoms:
        return residue_name
    from Bio.Data.PDBData import protein_letters_3to1_extended

    letter = protein_letters_3to1_extended.get(residue_name)
    if letter in rc.restype_1to3:
        return rc.restype_1to3[letter]
    if not is_hetatm:
        return rc.unknown_residue_name
    return None


def _is_hydrogen(element: str, atom_name: str) -> bool:
    if element:
        return element.upper() in ("H", "D")
    return atom_name.lstrip("0123456789").startswith(("H", "D"))


def _pdb_records(text: str, source: str) -> list[_AtomRecord]:
    records = []
    model = "1"
    for line_number, line in enumerate(text.splitlines(), start=1):
        record = line[:6]
        if record == "MODEL ":
            model = line[10:14].strip() or str(line_number)
        elif record in ("ATOM  ", "HETATM"):
            try:
                records.append(_AtomRecord(
                    model=model,
                    chain=line[21:22].strip(),
                    residue_number=int(line[22:26]),
                    insertion_code=line[26:27].strip(),
                    residue_name=line[17:20].strip(),
                    atom_name=line[12:16].strip(),
                    altloc=line[16:17].strip(),
                    element=line[76:78].strip(),
                    position=(float(line[30:38]), float(line[38:46]), float(line[46:54])),
                    b_factor=float(line[60:66]) if line[60:66].strip() else 0.0,
                    is_hetatm=record == "HETATM",
                ))
            except ValueError as error:
                raise SnakefoldError(
                    f"{source}, line {line_number}: malformed {record.strip()} record ({error}); PDB ATOM "
                    f"records need residue number in columns 23-26 and x, y, z in columns 31-54") from None
    return records


def _mmcif_records(text: str, source: str) -> list[_AtomRecord]:
    from Bio.PDB.MMCIF2Dict import MMCIF2Dict

    try:
        table = MMCIF2Dict(io.StringIO(text))
    except Exception as error:  # the tokeniser raises plain ValueErrors on broken files
        raise SnakefoldError(f"{source}: not a readable mmCIF file ({error})") from None
    if "_atom_site.Cartn_x" not in table:
        raise SnakefoldError(f"{source}: the mmCIF file has no _atom_site coordinates")

    def column(*names: str, default: str = "?") -> list[str]:
        for name in names:
            if f"_atom_site.{name}" in table:
                return table[f"_atom_site.{name}"]
        return [default] * len(table["_atom_site.Cartn_x"])

    def present(value: str) -> str:
        return "" if value in ("?", ".") else value

    columns = zip(column("group_PDB"), column("pdbx_PDB_model_num", default="1"),
                  column("auth_asym_id", "label_asym_id"), column("auth_seq_id", "label_seq_id"),
                  column("pdbx_PDB_ins_code"), column("auth_comp_id", "label_comp_id"),
                  column("auth_atom_id", "label_atom_id"), column("label_alt_id"), column("type_symbol"),
                  column("Cartn_x"), column("Cartn_y"), column("Cartn_z"), column("B_iso_or_equiv"))
    records = []
    for row, (group, model, chain, number, icode, resname, atom, alt, element, x, y, z, b) in enumerate(columns):
        if present(number) == "":
            continue  # non-polymer entities without a residue number
        try:
            records.append(_AtomRecord(
                model=model, chain=chain, residue_number=int(number), insertion_code=present(icode),
                residue_name=resname, atom_name=atom.strip('"'), altloc=present(alt),
                element=present(element), position=(float(x), float(y), float(z)),
                b_factor=float(b) if present(b) else 0.0, is_hetatm=group == "HETATM"))
        except ValueError as error:
            raise SnakefoldError(f"{source}: _atom_site row {row + 1} is malformed ({error})") from None
    return records


def _protein_from_records(records: list[_AtomRecord], source: str, chain_id: str | None,
                          model: int) -> Protein:
    models = list(dict.fromkeys(record.model for record in records))
    if not models:
        raise SnakefoldError(f"{source}: no ATOM or HETATM records; is this a structure file?")
    if not 0 <= model < len(models):
        raise SnakefoldError(f"{source}: model {model} requested, but the file has {len(models)} model(s) "
                             f"(models are counted from 0)")
    selected_model = models[model]
    records = [record for record in records if record.model == selected_model]
    if chain_id is not None:
        available = list(dict.fromkeys(record.chain for record in records))
        if chain_id not in available:
            raise SnakefoldError(f"{source}: chain {chain_id!r} not found; the file has chains "
                                 f"{', '.join(repr(chain) for chain in available)}")
        records = [record for record in records if record.chain == chain_id]

    # Group atoms by residue, keeping the order of first appearance.
    residues: dict[tuple[str, int, str], dict] = {}
    for record in records:
        if _is_hydrogen(record.element, record.atom_name):
            continue
        key = (record.chain, record.residue_number, record.insertion_code)
        residue = residues.get(key)
        if residue is None:
            parent = _parent_residue(record.residue_name, record.is_hetatm)
            if parent is None:
                continue
            residue = residues[key] = {"name": record.residue_name, "parent": parent, "altloc": None,
                                       "atoms": {}}
        if record.residue_name != residue["name"]:
            continue  # microheterogeneity: the first residue type at this position is kept
        if record.altloc:
            if residue["altloc"] is None:
                residue["altloc"] = record.altloc
            elif record.altloc != residue["altloc"]:
                continue
        atom_name = _PARENT_ATOM_ALIASES.get((residue["parent"], record.atom_name), record.atom_name)
        residue["atoms"].setdefault(atom_name, record)

    chain_ids: list[str] = []
    aatype, residue_index, chain_index, positions, mask, b_factors = [], [], [], [], [], []
    for (chain, number, _icode), residue in residues.items():
        parent = residue["parent"]
        allowed = set(rc.residue_atoms.get(parent, ("N", "CA", "C", "O"))) | {"OXT"}
        if residue["name"] != parent and "CA" not in residue["atoms"]:
            continue  # a hetero group that merely shares a name with an amino acid
        residue_positions = np.zeros((rc.atom_type_num, 3), dtype=np.float32)
        residue_mask = np.zeros(rc.atom_type_num, dtype=np.float32)
        residue_b = np.zeros(rc.atom_type_num, dtype=np.float32)
        for atom_name, record in residue["atoms"].items():
            if atom_name in allowed:
                slot = rc.atom_order[atom_name]
                residue_positions[slot] = record.position
                residue_mask[slot] = 1.0
                residue_b[slot] = record.b_factor
        if not residue_mask.any():
            continue
        if chain not in chain_ids:
            chain_ids.append(chain)
        aatype.append(rc.restype_order_with_x[rc.restype_3to1.get(parent, "X")])
        residue_index.append(number)
        chain_index.append(chain_ids.index(chain))
        positions.append(residue_positions)
        mask.append(residue_mask)
        b_factors.append(residue_b)
    if not aatype:
        which = f"chain {chain_id!r}" if chain_id is not None else "the file"
        raise SnakefoldError(f"{source}: {which} has no amino-acid residues with heavy atoms in model {model}")
    return Protein(atom_positions=np.stack(positions), aatype=np.array(aatype), atom_mask=np.stack(mask),
                   residue_index=np.array(residue_index), chain_index=np.array(chain_index),
                   b_factors=np.stack(b_factors), chain_ids=tuple(chain_ids))


def from_pdb_string(text: str, chain_id: str | None = None, model: int = 0, source: str = "PDB text") -> Protein:
    """Read model ``model`` (counted from 0) of PDB-format ``text``; all chains unless ``chain_id``."""
    return _protein_from_records(_pdb_records(text, source), source, chain_id, model)


def from_mmcif_string(text: str, chain_id: str | None = None, model: int = 0,
                      source: str = "mmCIF text") -> Protein:
    """Read model ``model`` (counted from 0) of mmCIF ``text``; all chains unless ``chain_id`` (author ID)."""
    return _protein_from_records(_mmcif_records(text, source), source, chain_id, model)


def _looks_like_mmcif(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.startswith("data_")
    return False


def from_structure_file(path: str | os.PathLike, chain_id: str | None = None, model: int = 0) -> Protein:
    """Read a PDB or mmCIF file, optionally gzip-compressed (``.gz``); the format is taken from the content.

    ``chain_id`` selects one chain by its author ID (all protein chains when None); ``model`` counts from 0.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SnakefoldError(f"cannot read structure file {path}: {error.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise SnakefoldError(f"{path}: broken gzip data ({error})") from None
    text = raw.decode("utf-8", errors="replace")
    reader = from_mmcif_string if _looks_like_mmcif(text) else from_pdb_string
    return reader(text, chain_id=chain_id, model=model, source=str(path))


# ----------------------------------------------------------------------------------------------------------
# Writing


def _pdb_atom_name(name: str) -> str:
    """Atom name in columns 13-16: one-letter elements start in column 14, as the format asks."""
    return name if len(name) == 4 else f" {name:<3}"


def to_pdb(protein: Protein, remarks: Sequence[str] = ()) -> str:
    """PDB-format text of ``protein``: REMARK lines, ATOM records, a TER per chain, END.

    B-factors are written as given (pLDDT for predictions), occupancies as 1.00. Each entry of ``remarks``
    becomes one ``REMARK 250`` line (free text, at most 69 characters). Chain IDs must be one character
    and residue numbers must fit the format's four columns (-999..9999); otherwise :class:`SnakefoldError`.
    """
    for chain in protein.chain_ids:
        if len(chain) != 1:
            raise SnakefoldError(f"chain ID {chain!r} does not fit the PDB format's one-character column; "
                                 f"write mmCIF instead or rename the chain")
    if protein.num_residues and (protein.residue_index.min() < -999 or protein.residue_index.max() > 9999):
        raise SnakefoldError("residue numbers outside -999..9999 do not fit the PDB format")
    lines = []
    for remark in remarks:
        for text_line in str(remark).splitlines() or [""]:
            if len(text_line) > 69:
                raise SnakefoldError(f"PDB remark longer than 69 characters: {text_line!r}")
            lines.append(f"REMARK 250 {text_line}".rstrip())
    serial = 1
    for position in range(protein.num_residues):
        residue_name = rc.restype_1to3.get(rc.restypes_with_x[protein.aatype[position]], rc.unknown_residue_name)
        chain = protein.chain_ids[protein.chain_index[position]]
        number = protein.residue_index[position]
        for slot in np.flatnonzero(protein.atom_mask[position] > 0.5):
            name = rc.atom_types[slot]
            x, y, z = protein.atom_positions[position, slot]
            lines.append(f"ATOM  {serial % 100000:5d} {_pdb_atom_name(name)} {residue_name:>3} {chain}"
                         f"{number:4d}    {x:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}"
                         f"{protein.b_factors[position, slot]:6.2f}          {name[0]:>2}  ")
            serial += 1
        last_of_chain = (position == protein.num_residues - 1
                         or protein.chain_index[position + 1] != protein.chain_index[position])
        if last_of_chain:
            lines.append(f"TER   {serial % 100000:5d}      {residue_name:>3} {chain}{number:4d}")
            serial += 1
    lines.append("END")
    return "\n".join(lines) + "\n"


def peptide_bond_mask(protein: Protein) -> np.ndarray:
    """[L-1] bool: True where residue i and i+1 are joined by a peptide bond in the sequence.

    Consecutive array positions are bonded when they are in the same chain and their residue numbers
    differ by 0 (insertion codes) or 1; a larger jump is a chain break (missing residues).
    """
    step = np.diff(protein.residue_index)
    same_chain = protein.chain_index[1:] == protein.chain_index[:-1]
    return same_chain & (step >= 0) & (step <= 1)

