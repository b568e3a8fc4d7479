"""HHsearch: search a query alignment (a3m) against an HH-suite HMM database such as PDB70.

An HH-suite database is named by its common prefix: ``<prefix>_hhm.ffdata/.ffindex`` (profile HMMs),
``<prefix>_a3m.ffdata/.ffindex`` (their alignments) and, for hhblits' prefilter, ``<prefix>_cs219``.
:func:`run_hhsearch` returns the result in the hhr format (:mod:`snakefold.templates.hhr`). AlphaFold2 searches
PDB70 with ``-maxseq 1000000`` and otherwise hhsearch's defaults; ``options`` adds or overrides flags.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from snakefold.common.errors import SnakefoldError
from snakefold.tools.base import run_tool, tool_version

#: Flags the wrapper sets itself; they cannot come through ``options``.
RESERVED_FLAGS = frozenset({"i", "o", "d", "cpu", "oa3m", "ohhm", "v"})


def hhsearch_version() -> str:
    return tool_version("hhsearch", "-h")


def hhsearch_arguments(options: Mapping[str, object]) -> list[str]:
    """``{"maxseq": 1000000, "p": 20}`` as hhsearch arguments ``-maxseq 1000000 -p 20`` (sorted by flag)."""
    arguments = []
    for flag in sorted(options):
        if flag in RESERVED_FLAGS:
            raise SnakefoldError(f"the hhsearch flag -{flag} is set by snakefold itself and cannot be given "
                                 "as an option")
        arguments += [f"-{flag}", str(options[flag])]
    return arguments


def run_hhsearch(query_a3m: str | Path, databases: Sequence[str | Path], log_path: str | Path, *,
                 options: Mapping[str, object], cpus: int = 1, timeout: float = 3600.0) -> str:
    """Search ``query_a3m`` against each database prefix; return the hhr text."""
    with tempfile.TemporaryDirectory(prefix="snakefold-hhsearch-") as workdir:
        hhr = Path(workdir) / "hits.hhr"
        argv = ["hhsearch", "-i", query_a3m, "-o", hhr, "-cpu", str(cpus), "-v", "1"]
        for prefix in databases:
            argv += ["-d", prefix]
        argv += hhsearch_arguments(options)
        run_tool("hhsearch", argv, log_path, timeout=timeout, database=", ".join(map(str, databases)))
        if not hhr.is_file():
            raise SnakefoldError(f"hhsearch wrote no result file (see the log {log_path})")
        return hhr.read_text(encoding="utf-8", errors="replace")
