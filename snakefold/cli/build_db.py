"""``snakefold build-db``: make a search database from FASTA files, a3m files or structures.

    snakefold build-db --format fasta   --input seqs.fasta [more.fasta ...] --output db/mydb.fasta
    snakefold build-db --format hhsuite --input seqs.fasta msas/ --output db/mydb        (a prefix)
    snakefold build-db --format mmseqs  --input seqs.fasta --output db/mydb              (a prefix)
    snakefold build-db --format pdb70   --input structures/ --output db/pdb70dir         (a directory)

Formats (the layouts of :mod:`snakefold.install.databases`):

* ``fasta`` (jackhmmer): the records of every input, each sequence on one line, upper case, gaps and a
  trailing ``*`` removed; record IDs must be unique.
* ``hhsuite`` (hhblits): one MSA per entry, as HH-suite's databases hold. FASTA inputs are clustered
  (``mmseqs cluster``, ``--min-seq-id`` 0.3 and ``--coverage`` 0.8 by default, as Uniclust30; or not at
  all with ``--no-cluster``), and each cluster becomes the a3m of its members aligned to its
  representative (``mmseqs result2msa``), with the records' original headers (so UniProt species codes
  reach the search results). An input directory adds each of its ``*.a3m`` files as one entry. Then
  ``ffindex_build`` packs the a3m entries, ``hhmake`` makes their HMMs and ``cstranslate`` their
  column-state sequences, as HH-suite's own hhsuitedb.py does.
* ``mmseqs`` (mmseqs2): ``mmseqs createdb`` of the records.
* ``pdb70`` (templates): a PDB70-style HH-suite database and an mmCIF directory from a folder of
  PDB/mmCIF files (:func:`snakefold.templates.database.build_template_database`).

Every build writes ``<output>.build.json`` last: the inputs' SHA-256, the options, the tools' versions and
each file's size. With ``--if-changed`` a database whose record matches the inputs and options, and whose
files still have their recorded sizes, is left as it is (the demo uses this); the sizes also let a
truncated database be told from a complete one (:func:`snakefold.install.databases.check_database`).
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

from Bio.SeqIO.FastaIO import SimpleFastaParser

from snakefold.common.atomic import atomic_write, atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.common.hashing import file_sha256
from snakefold.install import databases
from snakefold.tools import cstranslate, ffindex, hhmake, mmseqs

FORMATS = ("fasta", "hhsuite", "mmseqs", "pdb70")
_SEQUENCE_LETTERS = re.compile(r"^[A-Z]+$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
#: A day far in the future for hours-long steps: a build of a large database is not cut short.
TOOL_TIMEOUT = 7 * 24 * 3600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, choices=FORMATS, help="the database layout to build")
    parser.add_argument("--input", required=True, nargs="+",
                        help="FASTA files (fasta, hhsuite, mmseqs); directories of .a3m files (hhsuite); one "
                             "directory of PDB/mmCIF files (pdb70)")
    parser.add_argument("--output", required=True,
                        help="the FASTA file (fasta), the prefix (hhsuite, mmseqs) or the directory (pdb70)")
    parser.add_argument("--name", default="pdb70", help="pdb70: the prefix's name inside the directory")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--min-seq-id", type=float, default=0.3, help="hhsuite: cluster identity (0-1)")
    parser.add_argument("--coverage", type=float, default=0.8, help="hhsuite: cluster coverage (0-1)")
    parser.add_argument("--no-cluster", action="store_true", help="hhsuite: one single-sequence entry per record")
    parser.add_argument("--undated-release-date", type=datetime.date.fromisoformat,
                        help="pdb70: the release date (YYYY-MM-DD) given to structures that record none")
    parser.add_argument("--if-changed", action="store_true",
                        help="do nothing when the database was built from the same inputs and options and is intact")
    parser.add_argument("--log", help="where the tools' messages go (default: <output>.build.log)")


def read_fasta_records(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """(header, sequence) of every record; every problem (file, record) is reported at once."""
    records, problems, seen = [], [], {}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        if not text.lstrip().startswith(">"):
            problems.append(f"{path}: not a FASTA file (the first text is not a '>' header)")
            continue
        for header, raw in SimpleFastaParser(io.StringIO(text)):
            sequence = re.sub(r"[\s.-]", "", raw).upper().removesuffix("*")
            record_id = header.split(None, 1)[0] if header.strip() else ""
            where = f"{path}: record '{record_id}'"
            if not record_id:
                problems.append(f"{path}: a record has no ID")
                continue
            if record_id in seen:
                problems.append(f"{where} appears twice (also in {seen[record_id]}); IDs must be unique")
                continue
            seen[record_id] = path
            if not sequence:
                problems.append(f"{where} has no sequence")
            elif not _SEQUENCE_LETTERS.match(sequence):
                bad = sorted(set(re.sub(r"[A-Z]", "", sequence)))
                problems.append(f"{where} has characters that are not residues: {' '.join(map(repr, bad))}")
            else:
                records.append((header, sequence))
    if problems:
        raise SnakefoldError("cannot build the database:\n" + "\n".join(f"  - {problem}" for problem in problems))
    if not records:
        raise SnakefoldError("cannot build the database: the inputs hold no sequence")
    return records


def _write_fasta(path: Path, records: Iterable[tuple[str, str]]) -> None:
    with atomic_write(path) as handle:
        for header, sequence in records:
            handle.write(f">{header}\n{sequence}\n")


def _input_files(inputs: list[Path]) -> tuple[list[Path], list[Path]]:
    """(FASTA files, a3m files) of the inputs, every missing one reported."""
    fasta, a3m, missing = [], [], []
    for path in inputs:
        if path.is_dir():
            found = sorted(path.glob("*.a3m"))
            if not found:
                missing.append(f"{path} holds no .a3m file")
            a3m.extend(found)
        elif path.is_file():
            (a3m if path.suffix == ".a3m" else fasta).append(path)
        else:
            missing.append(f"{path} does not exist")
    if missing:
        raise SnakefoldError("cannot build the database:\n" + "\n".join(f"  - {problem}" for problem in missing))
    return fasta, a3m


def _entry_name(header: str, taken: set[str]) -> str:
    base = _SAFE_NAME.sub("_", header.split(None, 1)[0])[:100] or "entry"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    taken.add(name)
    return name


def cluster_msas(records: list[tuple[str, str]], workdir: Path, *, min_seq_id: float, coverage: float, threads: int,
                 log: Path) -> list[tuple[str, str]]:
    """(representative header, a3m text) of each cluster of ``records``, members aligned to the representative."""
    renamed = workdir / "renamed.fasta"
    _write_fasta(renamed, ((f"s{index}", sequence) for index, (_, sequence) in enumerate(records)))
    mmseqs.createdb(renamed, workdir / "seq", log=log, timeout=TOOL_TIMEOUT)
    mmseqs.cluster(workdir / "seq", workdir / "clusters", workdir / "tmp", min_seq_id=min_seq_id, coverage=coverage,
                   threads=threads, log=log, timeout=TOOL_TIMEOUT)
    mmseqs.result2msa(workdir / "seq", workdir / "seq", workdir / "clusters", workdir / "msa", msa_format_mode=5,
                      flags={}, threads=threads, log=log, timeout=TOOL_TIMEOUT)
    msas = []
    for entry in mmseqs.read_entries(workdir / "msa"):
        lines = []
        for line in entry.decode("ascii").splitlines():
            if line.startswith(">"):
                index = int(line[1:].split()[0].removeprefix("s"))
                line = f">{records[index][0]}"
            lines.append(line)
        if lines:
            msas.append((lines[0][1:], "\n".join(lines) + "\n"))
    return msas


def build_hhsuite(prefix: Path, fasta_files: list[Path], a3m_files: list[Path], workdir: Path, *, cluster: bool,
                  min_seq_id: float, coverage: float, threads: int, log: Path) -> tuple[list[Path], dict]:
    entries: list[tuple[str, str]] = []
    if fasta_files:
        records = read_fasta_records(fasta_files)
        if cluster:
            entries = cluster_msas(records, workdir, min_seq_id=min_seq_id, coverage=coverage, threads=threads,
                                   log=log)
        else:
            entries = [(header, f">{header}\n{sequence}\n") for header, sequence in records]
    entries += [(path.stem, path.read_text(encoding="ascii", errors="replace")) for path in a3m_files]
    entry_dir = workdir / "a3m"
    entry_dir.mkdir()
    taken: set[str] = set()
    for header, text in entries:
        (entry_dir / _entry_name(header, taken)).write_text(text)
    built = workdir / prefix.name
    ffindex.build(f"{built}_a3m.ffdata", f"{built}_a3m.ffindex", entry_dir, log=log, timeout=TOOL_TIMEOUT)
    hhmake.make_hhm_database(f"{built}_a3m", f"{built}_hhm", log=log, timeout=TOOL_TIMEOUT, threads=threads)
    cstranslate.make_cs219_database(f"{built}_a3m", f"{built}_cs219", threads=threads, log=log, timeout=TOOL_TIMEOUT)
    # cstranslate writes its index in the order its threads finish: sort it by name, as hhblits looks up.
    index = Path(f"{built}_cs219.ffindex")
    index.write_text("".join(sorted(index.read_text().splitlines(keepends=True),
                                    key=lambda line: line.split("\t", 1)[0])))
    files = []
    for file in databases.database_files("hhsuite", built):
        files.append(prefix.parent / Path(file).name)
        os.replace(file, files[-1])
    return files, {"entries": len(entries), "tools": {"hhmake": hhmake.version(), "cstranslate": cstranslate.version(),
                                               "mmseqs": mmseqs.version() if fasta_files and cluster else None}}


def build_mmseqs(prefix: Path, fasta_files: list[Path], workdir: Path, log: Path) -> tuple[list[Path], dict]:
    records = read_fasta_records(fasta_files)
    combined = workdir / "input.fasta"
    _write_fasta(combined, records)
    built = workdir / "db"
    mmseqs.createdb(combined, built, log=log, timeout=TOOL_TIMEOUT)
    files = []
    for path in sorted(workdir.iterdir()):
        if path.is_file() and (path.name == "db" or path.name.startswith(("db.", "db_"))):
            files.append(prefix.with_name(prefix.name + path.name.removeprefix("db")))
            os.replace(path, files[-1])
    return files, {"sequences": len(records), "tools": {"mmseqs": mmseqs.version()}}


def build_pdb70(output: Path, inputs: list[Path], name: str, threads: int, log: Path,
                undated_release_date: datetime.date | None) -> tuple[list[Path], dict]:
    from snakefold.templates.database import build_template_database

    if len(inputs) != 1 or not inputs[0].is_dir():
        raise SnakefoldError("build-db --format pdb70 takes one --input: the directory of PDB/mmCIF files")
    database = build_template_database(inputs[0], output, name=name, log_path=log, threads=threads,
                                       undated_release_date=undated_release_date)
    files = [Path(file) for file in databases.database_files("hhsuite", database.prefix)]
    return files, {"entries": database.entries, "chains": database.chains, "mmcif_dir": str(database.mmcif_dir)}


def _record_path(args: argparse.Namespace, output: Path) -> Path:
    """Where the build record goes: beside the file or prefix a search is given (pdb70: in the directory)."""
    return databases.build_manifest_path(output / args.name if args.format == "pdb70" else output)


def _options(args: argparse.Namespace) -> dict:
    options = {"format": args.format}
    if args.format == "hhsuite":
        options.update(cluster=not args.no_cluster, min_seq_id=args.min_seq_id, coverage=args.coverage)
    if args.format == "pdb70":
        options.update(name=args.name, undated_release_date=args.undated_release_date and
                       args.undated_release_date.isoformat())
    return options


def _input_digests(inputs: list[Path]) -> dict[str, str]:
    files = []
    for path in inputs:
        files.extend(sorted(item for item in path.rglob("*") if item.is_file()) if path.is_dir() else [path])
    return {str(path): file_sha256(path) for path in files}


def is_current(record_path: Path, options: dict, digests: dict[str, str]) -> bool:
    """True when the record says the database was built from these inputs and options and it is intact."""
    if not record_path.exists():
        return False
    try:
        record = json.loads(record_path.read_text())
    except ValueError:
        return False
    if record.get("options") != options or record.get("inputs") != digests:
        return False
    return all(Path(record_path.parent, name).is_file() and Path(record_path.parent, name).stat().st_size == size
               for name, size in record.get("files", {}).items())


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    inputs = [Path(path) for path in args.input]
    record_path = _record_path(args, output)
    options = _options(args)
    digests = _input_digests([path for path in inputs if path.exists()])
    if args.if_changed and is_current(record_path, options, digests):
        print(f"build-db: {output} is up to date")
        return 0
    log = Path(args.log) if args.log else Path(f"{output}.build.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    record_path.unlink(missing_ok=True)
    if args.format == "pdb70":
        built, details = build_pdb70(output, inputs, args.name, args.threads, log, args.undated_release_date)
    else:
        fasta_files, a3m_files = _input_files(inputs)
        if a3m_files and args.format != "hhsuite":
            raise SnakefoldError(f"a3m inputs ({a3m_files[0]}, ...) make only an hhsuite database")
        with tempfile.TemporaryDirectory(prefix=f".{output.name}.build-", dir=output.parent) as scratch:
            workdir = Path(scratch)
            if args.format == "fasta":
                records = read_fasta_records(fasta_files)
                _write_fasta(output, records)
                built, details = [output], {"sequences": len(records)}
            elif args.format == "hhsuite":
                built, details = build_hhsuite(output, fasta_files, a3m_files, workdir, cluster=not args.no_cluster,
                                               min_seq_id=args.min_seq_id, coverage=args.coverage,
                                               threads=args.threads, log=log)
            else:
                built, details = build_mmseqs(output, fasta_files, workdir, log)
    files = {os.path.relpath(path, record_path.parent): path.stat().st_size for path in built}
    atomic_write_json(record_path, {"options": options, "inputs": digests, "files": files, **details,
                                    "built": datetime.datetime.now().astimezone().isoformat(timespec="seconds")})
    counts = ", ".join(f"{value} {key}" for key, value in details.items() if isinstance(value, int))
    print(f"build-db: built the {args.format} database {output} ({counts})")
    return 0
