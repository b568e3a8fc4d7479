"""A small PDB70-style template database built once per session from real structures in ../shared/data."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import numpy as np
import pytest
from Bio.Data.PDBData import protein_letters_3to1_extended
from Bio.PDB import MMCIFParser, PDBParser

from snakefold.templates.database import build_template_database
from snakefold.templates.featurise import TemplateFilters

#: PDB and mmCIF files of several folds; 4ZEY and 1A8O hold selenomethionine, 3O5R alternative locations,
#: 1EJG microheterogeneity, 4HHB four chains (two distinct sequences).
DATABASE_STRUCTURES = ("1UBQ.pdb", "1PGA.pdb", "2LZM.pdb", "1A8O.pdb", "4HHB.pdb", "4ZEY.cif", "3O5R.cif",
                       "1EJG.cif", "2CRB.cif")


def default_filters(**changes) -> TemplateFilters:
    values = dict(max_template_date=datetime.date(2100, 1, 1), max_hits=20, max_subsequence_ratio=0.95,
                  min_align_ratio=0.1, min_template_length=10)
    values.update(changes)
    return TemplateFilters(**values)


def observed_ca(path: Path, chain_id: str) -> np.ndarray:
    """[R, 3] CA coordinates of a chain's amino-acid residues in file order, read independently by Biopython
    (model 1; of alternative locations the one Biopython selects, the highest occupancy)."""
    parser = MMCIFParser(QUIET=True) if path.suffix == ".cif" else PDBParser(QUIET=True)
    structure = parser.get_structure(path.stem, str(path))
    chain = next(iter(structure))[chain_id]
    return np.array([residue["CA"].get_coord() for residue in chain
                     if residue.get_resname() in protein_letters_3to1_extended and "CA" in residue])


@pytest.fixture(scope="session")
def structures_dir(shared_data, tmp_path_factory) -> Path:
    """A folder holding links to a handful of the real structures."""
    folder = tmp_path_factory.mktemp("structures")
    for name in DATABASE_STRUCTURES:
        os.symlink(shared_data / "structures" / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def template_db(structures_dir, tmp_path_factory):
    """The PDB70-style database of :data:`DATABASE_STRUCTURES` (hhmake, cstranslate and ffindex really run)."""
    out_dir = tmp_path_factory.mktemp("templatedb") / "db"
    return build_template_database(structures_dir, out_dir, log_path=out_dir.parent / "build.log")
