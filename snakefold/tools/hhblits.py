"""hhblits (HH-suite): iterative HMM-HMM search of one sequence against HH-suite databases.

AlphaFold2 searches BFD and Uniclust30/UniRef30 together in one run (one ``-d`` per database) and keeps the
a3m of the hits, query first. Its flags (the config's defaults) are ``-n 3 -e 0.001 -maxseq 1000000
-realign_max 100000 -maxfilt 100000 -min_prefilter_hits 1000``. Each database is named by its prefix: the
files ``<prefix>_a3m.ffdata``, ``<prefix>_hhm.ffdata``, ``<prefix>_cs219.ffdata`` and their ``.ffindex``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from snakefold.tools.base import flag_arguments, run_tool, tool_version

BINARY = "hhblits"


def version() -> str:
    return tool_version(BINARY)


def command(query_fasta: str | Path, databases: Sequence[str | Path], output_a3m: str | Path,
            flags: Mapping[str, object], threads: int) -> list[str]:
    database_arguments = [argument for prefix in databases for argument in ("-d", str(prefix))]
    return [BINARY, "-i", str(query_fasta), "-cpu", str(threads), "-oa3m", str(output_a3m), "-o", "/dev/null",
            *flag_arguments(flags, long_prefix="-"), *database_arguments]


def search(query_fasta: str | Path, databases: Sequence[str | Path], output_a3m: str | Path, *,
           flags: Mapping[str, object], threads: int, log: str | Path, timeout: float,
           database_name: str) -> None:
    """Search the HH-suite ``databases`` (prefixes) and write the hits' a3m to ``output_a3m``."""
    run_tool(BINARY, command(query_fasta, databases, output_a3m, flags, threads), log, timeout=timeout,
             database=f"{database_name} ({', '.join(map(str, databases))})")
