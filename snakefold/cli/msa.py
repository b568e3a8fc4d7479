"""``snakefold msa``: one MSA search of one sequence, stored as a sealed content-keyed cache entry.

The workflow plans the search (:mod:`snakefold.plan.msa`) and passes it as ``--spec`` JSON with the
entry's path, ``<cache_dir>/msa/<search>/<key>.<sto|a3m>``. The job:

1. checks that the tool's version and the databases' fingerprints are still those the key was made of
   (a database rebuilt while the workflow ran would otherwise be stored under a stale key);
2. runs the tool (jackhmmer, hhblits or mmseqs2) in a scratch directory in the job's temporary directory
   (``$TMPDIR``, which Snakemake sets from the ``tmpdir`` resource; never in the cache, where a killed job
   would leave it), its messages appended to ``--log``;
3. keeps the first ``max_hits`` rows of the MSA (query included: AlphaFold2's per-database hit limit);
4. checks that the MSA's first row is the query, writes the entry atomically and seals it with its key's
   parts (:func:`snakefold.plan.cache.seal`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from snakefold.common.atomic import atomic_write
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import read_query_fasta
from snakefold.msa.formats import query_of_msa_file, truncate_stockholm
from snakefold.plan.cache import content_key, seal
from snakefold.plan.msa import TOOL_VERSIONS, MsaSearch
from snakefold.tools import hhblits, jackhmmer, mmseqs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", required=True, help="the search, as JSON (written by the workflow)")
    parser.add_argument("--query", required=True, help="FASTA file of the one query sequence")
    parser.add_argument("--output", required=True, help="the cache entry to write (<key>.sto or <key>.a3m)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout-minutes", type=float, required=True,
                        help="stop the tool after this long (the job's runtime budget)")
    parser.add_argument("--log", required=True, help="the tools' messages are appended here")


def key_parts_now(search: MsaSearch, sequence: str) -> dict:
    return search.key_parts(sequence, TOOL_VERSIONS[search.tool](), search.fingerprints())


def run_search(search: MsaSearch, query_fasta: Path, raw_output: Path, scratch: Path, threads: int,
               timeout: float, log: Path) -> None:
    """Run the search's tool (for at most ``timeout`` seconds); its raw MSA goes to ``raw_output``."""
    label = search.name
    paths = [database.path for database in search.databases]
    if search.tool == "jackhmmer":
        jackhmmer.search(query_fasta, paths[0], raw_output, flags=search.settings.options["flags"], threads=threads,
                         log=log, timeout=timeout, database_name=label)
    elif search.tool == "hhblits":
        hhblits.search(query_fasta, paths, raw_output, flags=search.settings.options["flags"], threads=threads,
                       log=log, timeout=timeout, database_name=label)
    else:
        mmseqs.search_to_a3m(query_fasta, paths[0], raw_output, scratch, threads=threads, log=log, timeout=timeout,
                             search_flags=search.settings.options["search_flags"],
                             msa_flags=search.settings.options["msa_flags"], database_name=label,
                             full_headers=bool(search.settings.options.get("full_headers")))


def copy_first_a3m_records(source: Path, handle, max_rows: int | None) -> int:
    """Copy an a3m's first ``max_rows`` records (all for None), streaming; return how many."""
    records = 0
    with open(source, encoding="ascii", errors="replace") as lines:
        for line in lines:
            if line.startswith(">"):
                if max_rows is not None and records == max_rows:
                    break
                records += 1
            handle.write(line)
    return records


def store_result(search: MsaSearch, raw_output: Path, output: Path, sequence: str, log: Path) -> int:
    """Write the cache entry: the raw MSA cut to ``max_hits`` rows, after checking its query row.

    Returns the number of rows kept (the query included).
    """
    if not raw_output.exists() or raw_output.stat().st_size == 0:
        raise SnakefoldError(f"{search.tool} wrote no MSA for search '{search.name}'; see the log {log}")
    searched = query_of_msa_file(raw_output, search.output_format)
    if searched != sequence:
        raise SnakefoldError(f"the MSA {search.tool} wrote for search '{search.name}' does not start with the query "
                             f"(first row {searched[:30]!r}...); see the log {log}")
    with atomic_write(output) as handle:
        if search.output_format == "sto":
            return truncate_stockholm(raw_output, handle, search.max_hits)
        return copy_first_a3m_records(raw_output, handle, search.max_hits)


def run(args: argparse.Namespace) -> int:
    search = MsaSearch.from_spec(json.loads(args.spec))
    output, log = Path(args.output), Path(args.log)
    sequence = read_query_fasta(args.query)
    parts = key_parts_now(search, sequence)
    if content_key(parts) != output.name.split(".")[0]:
        raise SnakefoldError(f"search '{search.name}': the tool or a database changed after the workflow was planned "
                             f"(the result would no longer match its cache key {output.name}); run snakemake again")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"snakefold-msa-{output.name}.") as scratch:
        raw_output = Path(scratch, f"raw.{search.output_format}")
        run_search(search, Path(args.query), raw_output, Path(scratch), args.threads, 60.0 * args.timeout_minutes,
                   log)
        rows = store_result(search, raw_output, output, sequence, log)
    seal(output, parts)
    with open(log, "a", encoding="utf-8") as handle:
        limit = f" (max_hits {search.max_hits})" if search.max_hits else ""
        handle.write(f"# search '{search.name}': {rows} MSA rows kept{limit}, query included, in {output}\n")
    return 0
