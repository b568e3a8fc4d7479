"""mmseqs (MMseqs2): sequence databases, clustering, and profile search of one sequence to an a3m.

Search (as ColabFold searches a sequence database): ``createdb`` of the query, an iterative profile
``search`` (``-a`` keeps the alignments' backtraces), then ``result2msa --msa-format-mode 6``, which
writes the hits as an a3m aligned to the query, query first, each header followed by the alignment's
scores. ColabFold's settings are the config's defaults: search ``--num-iterations 3 -e 0.1 --max-seqs
10000 -s 8``; MSA ``--filter-msa 1 --filter-min-enable 1000 --diff 3000 --qid 0.0,0.2,0.4,0.6,0.8,1.0
--qsc 0 --max-seq-id 0.95``.

MMseqs2 names a hit by the identifier it parsed from the FASTA header (the accession of a UniProt header
``sp|P69905|HBA_HUMAN ...``); with ``full_headers`` each hit's a3m header starts with its whole FASTA
header instead (read with ``convertalis``), so that the UniProt entry name, whose species mnemonic
AlphaFold-Multimer pairs by, is kept.

A database is named by its prefix: the files ``<prefix>``, ``<prefix>.index``, ``<prefix>.dbtype`` and the
headers ``<prefix>_h`` (+ ``.index``, ``.dbtype``). Its data file is a series of NUL-terminated entries;
the ``.index`` lists ``key offset length`` of each.
"""

from __future__ import annotations

import bisect
import itertools
from pathlib import Path
from typing import Iterator, Mapping

from snakefold.tools.base import flag_arguments, run_tool, tool_version

BINARY = "mmseqs"


def version() -> str:
    return tool_version(BINARY, "version", r"(\S+)")


def createdb(fasta: str | Path, prefix: str | Path, *, log: str | Path, timeout: float) -> None:
    run_tool(BINARY, [BINARY, "createdb", str(fasta), str(prefix), "-v", "2"], log, timeout=timeout)


def cluster(sequences: str | Path, clusters: str | Path, tmp: str | Path, *, min_seq_id: float, coverage: float,
            threads: int, log: str | Path, timeout: float) -> None:
    run_tool(BINARY, [BINARY, "cluster", str(sequences), str(clusters), str(tmp), "--min-seq-id", str(min_seq_id),
                      "-c", str(coverage), "--threads", str(threads), "-v", "2"], log, timeout=timeout)


def result2msa(queries: str | Path, targets: str | Path, results: str | Path, output: str | Path, *,
               msa_format_mode: int, flags: Mapping[str, object], threads: int, log: str | Path, timeout: float,
               database_name: str | None = None) -> None:
    run_tool(BINARY, [BINARY, "result2msa", str(queries), str(targets), str(results), str(output),
                      "--msa-format-mode", str(msa_format_mode), *flag_arguments(flags), "--threads", str(threads),
                      "-v", "2"], log, timeout=timeout, database=database_name)


def search_command(query_db: str | Path, target_db: str | Path, results: str | Path, tmp: str | Path,
                   flags: Mapping[str, object], threads: int) -> list[str]:
    return [BINARY, "search", str(query_db), str(target_db), str(results), str(tmp), *flag_arguments(flags), "-a",
            "--threads", str(threads), "-v", "2"]


def search_to_a3m(query_fasta: str | Path, database: str | Path, output_a3m: str | Path, workdir: str | Path, *,
                  search_flags: Mapping[str, object], msa_flags: Mapping[str, object], threads: int,
                  log: str | Path, timeout: float, database_name: str, full_headers: bool = False) -> None:
    """Search ``database`` (a prefix) and write the hits' a3m to ``output_a3m``; ``workdir`` is scratch space.

    ``full_headers``: each hit's header is its whole FASTA header (module doc)."""
    workdir = Path(workdir)
    label = f"{database_name} ({database})"
    run_tool(BINARY, [BINARY, "createdb", str(query_fasta), str(workdir / "query"), "-v", "2"], log,
             timeout=timeout, database=label)
    run_tool(BINARY, search_command(workdir / "query", database, workdir / "result", workdir / "tmp", search_flags,
                                    threads), log, timeout=timeout, database=label)
    result2msa(workdir / "query", database, workdir / "result", workdir / "msa", msa_format_mode=6, flags=msa_flags,
               threads=threads, log=log, timeout=timeout, database_name=label)
    headers = {}
    if full_headers:
        run_tool(BINARY, [BINARY, "convertalis", str(workdir / "query"), str(database), str(workdir / "result"),
                          str(workdir / "headers.tsv"), "--format-output", "target,theader", "--threads", str(threads),
                          "-v", "2"], log, timeout=timeout, database=label)
        with open(workdir / "headers.tsv", "rb") as table:
            headers = dict(line.rstrip(b"\n").split(b"\t", 1) for line in table if b"\t" in line)
    with open(output_a3m, "wb") as output:
        for entry in read_entries(workdir / "msa"):
            output.write(with_full_headers(entry, headers) if headers else entry)


def with_full_headers(a3m: bytes, headers: Mapping[bytes, bytes]) -> bytes:
    """``a3m`` with each record whose identifier ``headers`` knows renamed by its full header (scores kept)."""
    lines = a3m.split(b"\n")
    for index, line in enumerate(lines):
        if line.startswith(b">"):
            identifier, tab, rest = line[1:].partition(b"\t")
            if identifier in headers:
                lines[index] = b">" + headers[identifier] + tab + rest
    return b"\n".join(lines)


def data_files(prefix: Path) -> list[Path]:
    """The data file of a database, or its numbered parts (``<prefix>.0``, ``.1``, ...) when threads split it."""
    if prefix.exists():
        return [prefix]
    parts, number = [], 0
    while prefix.with_name(f"{prefix.name}.{number}").exists():
        parts.append(prefix.with_name(f"{prefix.name}.{number}"))
        number += 1
    return parts


def read_entries(prefix: str | Path) -> Iterator[bytes]:
    """The entries of an MMseqs2 database, in index order, without their NUL terminators.

    A database written by several threads may be split into numbered data files; the index's offsets then
    count through the parts as if they were one file.
    """
    prefix = Path(prefix)
    parts = data_files(prefix)
    starts = list(itertools.accumulate((part.stat().st_size for part in parts), initial=0))
    handles = [open(part, "rb") for part in parts]
    try:
        with open(prefix.with_name(prefix.name + ".index"), encoding="ascii") as index:
            for line in index:
                fields = line.split()
                if len(fields) != 3:
                    continue
                offset, length = int(fields[1]), int(fields[2])
                part = bisect.bisect_right(starts, offset) - 1
                handles[part].seek(offset - starts[part])
                yield handles[part].read(length).rstrip(b"\x00")
    finally:
        for handle in handles:
            handle.close()
