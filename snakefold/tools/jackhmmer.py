"""jackhmmer (HMMER): iterative profile-HMM search of one sequence against a FASTA database.

AlphaFold2 searches UniRef90, MGnify and small BFD this way and keeps the Stockholm alignment of the hits
(``-A``), which includes the query as its first row. Its flags (the config's defaults) are
``-N 1 -E 0.0001 --incE 0.0001 --F1 0.0005 --F2 5e-05 --F3 5e-07``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from snakefold.tools.base import flag_arguments, run_tool, tool_version

BINARY = "jackhmmer"


def version() -> str:
    return tool_version(BINARY)


def command(query_fasta: str | Path, database: str | Path, output_sto: str | Path,
            flags: Mapping[str, object], threads: int) -> list[str]:
    return [BINARY, "-o", "/dev/null", "-A", str(output_sto), "--noali", *flag_arguments(flags),
            "--cpu", str(threads), str(query_fasta), str(database)]


def search(query_fasta: str | Path, database: str | Path, output_sto: str | Path, *,
           flags: Mapping[str, object], threads: int, log: str | Path, timeout: float,
           database_name: str) -> None:
    """Search ``database`` (a FASTA file) and write the hits' Stockholm alignment to ``output_sto``."""
    run_tool(BINARY, command(query_fasta, database, output_sto, flags, threads), log, timeout=timeout,
             database=f"{database_name} ({database})")
