"""A PDB70-style template database built from a folder of PDB and mmCIF files.

:func:`build_template_database` writes, into ``out_dir``, the three things AlphaFold2's template search
reads (the config's ``databases.pdb70``, ``databases.pdb_mmcif`` and ``databases.obsolete_pdbs``):

* ``<name>_a3m``, ``<name>_hhm``, ``<name>_cs219`` (``.ffdata`` + ``.ffindex`` each; ``databases.pdb70`` is
  ``out_dir/<name>``): the HH-suite database hhsearch searches, one entry ``<id>_<chain>`` per protein chain
  (author chain ID), as PDB70 names them. Each chain's alignment is made into a profile HMM by hhmake and
  into the column-state sequence of hhblits' prefilter by cstranslate. By default a chain's alignment is
  its own sequence (a single-sequence a3m): the database is self-contained and finds close homologues,
  with less sensitivity for remote ones. With ``chain_msa_database`` (an HH-suite database such as
  UniRef30) each chain's alignment is an hhblits search of it instead, as PDB70's are
  (``CHAIN_MSA_FLAGS``). Chains of one entry with identical sequences are entered once (the first).
* ``mmcif/<id>.cif``: every entry as mmCIF, named by its lower-case ID as AlphaFold2 expects. mmCIF inputs
  are copied unchanged, PDB-format inputs converted (:func:`snakefold.templates.mmcif.pdb_to_mmcif`). The ID is
  the entry's own (``_entry.id``, the PDB ``HEADER`` ID code), else the file name.
* ``obsolete.dat``: the PDB's list of obsolete entries, here empty.
* ``pdb_seqres.txt``: the sequence of every chain entered, named as the PDB's own file names them
  (``>1abc_A mol:protein length:<n>``): the database of AlphaFold-Multimer's hmmsearch template search
  (``databases.pdb_seqres``).

Beside them, ``chains.tsv`` lists every chain entered (entry, chain, length, release date, source file);
``snakefold build-db --format pdb70`` adds its build record (``<name>.build.json``). The whole directory
is built beside ``out_dir`` and renamed into place when complete. Every entry needs a release date, since
templates are filtered by it: files without one are refused unless ``undated_release_date`` gives them one.
"""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import re
import shutil
from pathlib import Path

from snakefold.common import residue_constants
from snakefold.common.atomic import atomic_dir, atomic_write_text
from snakefold.common.errors import SnakefoldError
from snakefold.templates.mmcif import (
    mmcif_release_date,
    parse_mmcif_dict,
    pdb_to_mmcif,
    read_mmcif_dict,
    write_mmcif_dict,
)
from snakefold.tools import cstranslate, ffindex, hhblits, hhmake

MMCIF_SUFFIXES = (".cif", ".cif.gz", ".mmcif", ".mmcif.gz")
PDB_SUFFIXES = (".pdb", ".pdb.gz", ".ent", ".ent.gz")
FFINDEX_PARTS = ("a3m", "hhm", "cs219")

#: hhblits flags of the per-chain alignments (with chain_msa_database).
CHAIN_MSA_FLAGS = {"n": 2, "e": 0.001, "maxfilt": 100000, "v": 0}
#: The PDB's obsolete.dat header: a database of one's own structures lists no obsolete entry.
OBSOLETE_HEADER = " LIST OF OBSOLETE COORDINATE ENTRIES AND SUCCESSORS\n"

_ENTRY_ID = re.compile(r"^[a-z0-9]+$")
_CHAIN_ID = re.compile(r"^[A-Za-z0-9]+$")


@dataclasses.dataclass(frozen=True)
class TemplateDatabase:
    """A built template database: hhsearch's ``prefix``, AlphaFold2's ``mmcif_dir`` and hmmsearch's ``pdb_seqres``."""

    prefix: Path
    mmcif_dir: Path
    entries: int
    chains: int
    pdb_seqres: Path


@dataclasses.dataclass(frozen=True)
class _Entry:
    entry_id: str
    source: Path
    mmcif: dict
    converted: bool


def _structure_files(structures_dir: Path) -> list[Path]:
    suffixes = MMCIF_SUFFIXES + PDB_SUFFIXES
    return sorted(path for path in structures_dir.rglob("*")
                  if path.is_file() and path.name.lower().endswith(suffixes))


def _read_entry(path: Path) -> _Entry:
    stem = path.name.split(".")[0].lower()
    if path.name.lower().endswith(MMCIF_SUFFIXES):
        mmcif = read_mmcif_dict(path)
        own_id = mmcif.get("_entry.id", [""])[0].lower()
        converted = False
    else:
        mmcif, own_id, _ = pdb_to_mmcif(path)
        own_id = own_id.lower()
        converted = True
    entry_id = own_id if _ENTRY_ID.match(own_id) else stem
    if not _ENTRY_ID.match(entry_id):
        raise SnakefoldError(f"{path}: cannot name this entry: it records no PDB ID and its file name is not "
                             "letters and digits; rename the file (e.g. 'mydesign1.pdb')")
    return _Entry(entry_id, path, mmcif, converted)


def _with_release_date(mmcif: dict, date: datetime.date) -> dict:
    return {**mmcif, "_pdbx_audit_revision_history.ordinal": ["1"],
            "_pdbx_audit_revision_history.revision_date": [date.isoformat()]}


def _a3m_record(entry_id: str, chain_id: str, sequence: str) -> str:
    return f">{entry_id}_{chain_id} mol:protein length:{len(sequence)}\n{sequence}\n"


def _write_mmcif(entry: _Entry, destination: Path) -> None:
    if entry.converted:
        write_mmcif_dict(entry.mmcif, destination)
    elif entry.source.name.endswith(".gz"):
        with gzip.open(entry.source, "rb") as source, open(destination, "wb") as target:
            shutil.copyfileobj(source, target)
    else:
        shutil.copyfile(entry.source, destination)


def _enter(entry: _Entry, mmcif_dir: Path, a3m_dir: Path) -> list[str]:
    """Write an entry's mmCIF file and one a3m per distinct protein chain; return its chains.tsv rows."""
    _write_mmcif(entry, mmcif_dir / f"{entry.entry_id}.cif")
    parsed = parse_mmcif_dict(entry.mmcif, str(entry.source), entry.entry_id)
    rows, seen_sequences = [], set()
    for chain_id, chain in parsed.chains.items():
        observed = chain.atom_mask[:, residue_constants.atom_order["CA"]].any()
        if not observed or not _CHAIN_ID.match(chain_id) or chain.sequence in seen_sequences:
            continue
        seen_sequences.add(chain.sequence)
        (a3m_dir / f"{entry.entry_id}_{chain_id}").write_text(_a3m_record(entry.entry_id, chain_id, chain.sequence))
        rows.append(f"{entry.entry_id}\t{chain_id}\t{len(chain.sequence)}\t{parsed.release_date}\t{entry.source}")
    return rows


def _search_chain_msas(a3m_dir: Path, database: str | Path, threads: int, log_path: Path, timeout: float) -> None:
    """Replace each chain's single-sequence a3m by its hhblits MSA against ``database`` (query first)."""
    for chain_a3m in sorted(a3m_dir.iterdir()):
        searched = chain_a3m.with_name(chain_a3m.name + ".msa")
        hhblits.search(chain_a3m, [database], searched, flags=CHAIN_MSA_FLAGS, threads=threads, log=log_path,
                       timeout=timeout, database_name="chain MSAs of the template database")
        searched.replace(chain_a3m)


def build_template_database(structures_dir: str | Path, out_dir: str | Path, *, name: str = "pdb70",
                            log_path: str | Path | None = None, threads: int = 1,
                            undated_release_date: datetime.date | None = None,
                            chain_msa_database: str | Path | None = None,
                            timeout: float = 24 * 3600.0) -> TemplateDatabase:
    """Build a PDB70-style database of the PDB/mmCIF files under ``structures_dir`` into ``out_dir``.

    Returns the database: hhsearch's prefix ``out_dir/<name>`` and the mmCIF directory ``out_dir/mmcif``.
    ``log_path`` (default ``out_dir.log`` beside it) receives the commands run and their messages;
    ``chain_msa_database`` (an HH-suite prefix) gives each chain an hhblits MSA instead of its sequence alone.
    """
    structures_dir, out_dir = Path(structures_dir), Path(out_dir)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise SnakefoldError(f"the database name {name!r} must be letters, digits, '_', '.' or '-'")
    if not structures_dir.is_dir():
        raise SnakefoldError(f"the structure folder {structures_dir} does not exist")
    files = _structure_files(structures_dir)
    if not files:
        raise SnakefoldError(f"no PDB or mmCIF file ({', '.join(MMCIF_SUFFIXES + PDB_SUFFIXES)}) in {structures_dir}")
    log_path = Path(log_path) if log_path else out_dir.with_name(out_dir.name + ".log")

    with atomic_dir(out_dir) as building:
        mmcif_dir = building / "mmcif"
        a3m_dir = building / "build_a3m"
        mmcif_dir.mkdir()
        a3m_dir.mkdir()
        chain_rows = ["entry\tchain\tlength\trelease_date\tsource"]
        sources: dict[str, Path] = {}
        problems = []
        for path in files:
            try:
                entry = _read_entry(path)
            except SnakefoldError as error:
                problems.append(str(error))
                continue
            if entry.entry_id in sources:
                problems.append(f"{path} and {sources[entry.entry_id]} are both entry '{entry.entry_id}'; keep "
                                "one of them")
                continue
            sources[entry.entry_id] = path
            if mmcif_release_date(entry.mmcif) is None:
                if undated_release_date is None:
                    problems.append(f"{path}: no release date (no REVDAT record or _pdbx_audit_revision_history); "
                                    "give undated entries one with --undated-release-date YYYY-MM-DD")
                    continue
                entry = dataclasses.replace(entry, mmcif=_with_release_date(entry.mmcif, undated_release_date),
                                            converted=True)
            if not problems:
                chain_rows += _enter(entry, mmcif_dir, a3m_dir)
        if problems:
            listing = "\n".join(f"  - {problem}" for problem in problems)
            raise SnakefoldError(f"cannot build the template database ({len(problems)} problem(s)):\n{listing}")
        if len(chain_rows) == 1:
            raise SnakefoldError(f"no protein chain with coordinates in the structures of {structures_dir}")

        atomic_write_text(building / "pdb_seqres.txt",
                          "".join(path.read_text() for path in sorted(a3m_dir.iterdir())))
        if chain_msa_database is not None:
            _search_chain_msas(a3m_dir, chain_msa_database, threads, log_path, timeout)
        prefix = building / name
        ffindex.build(f"{prefix}_a3m.ffdata", f"{prefix}_a3m.ffindex", a3m_dir, log=log_path, timeout=timeout)
        shutil.rmtree(a3m_dir)
        hhmake.make_hhm_database(f"{prefix}_a3m", f"{prefix}_hhm", log=log_path, timeout=timeout)
        cstranslate.make_cs219_database(f"{prefix}_a3m", f"{prefix}_cs219", threads=threads, log=log_path,
                                        timeout=timeout)
        database_files = [f"{name}_{part}.{suffix}" for part in FFINDEX_PARTS for suffix in ("ffdata", "ffindex")]
        missing = [file for file in database_files if not (building / file).is_file()]
        if missing:
            raise SnakefoldError(f"building the template database wrote no {', '.join(missing)} (see the log "
                                 f"{log_path})")
        atomic_write_text(building / "obsolete.dat", OBSOLETE_HEADER)
        atomic_write_text(building / "chains.tsv", "\n".join(chain_rows) + "\n")

    return TemplateDatabase(prefix=out_dir / name, mmcif_dir=out_dir / "mmcif", entries=len(sources),
                            chains=len(chain_rows) - 1, pdb_seqres=out_dir / "pdb_seqres.txt")
