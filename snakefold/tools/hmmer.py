"""hmmbuild and hmmsearch (HMMER): build a profile HMM from an MSA, search it against a FASTA database.

AlphaFold2-Multimer finds templates this way: the UniRef90 Stockholm MSA becomes an HMM (``hmmbuild
--hand --amino``: the MSA's ``#=GC RF`` line marks the match columns), searched against the PDB's
sequences with ``--F1 0.1 --F2 0.1 --F3 0.1 --incE 100 -E 100 --domE 100 --incdomE 100`` and ``--noali``,
keeping the Stockholm alignment of the hits (``-A``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from snakefold.tools.base import flag_arguments, run_tool, tool_version

HMMBUILD = "hmmbuild"
HMMSEARCH = "hmmsearch"
#: AlphaFold-Multimer v2.3.2's hmmsearch flags (its Hmmsearch defaults), in its order.
ALPHAFOLD_SEARCH_FLAGS = {"F1": 0.1, "F2": 0.1, "F3": 0.1, "incE": 100, "E": 100, "domE": 100, "incdomE": 100}


def version() -> str:
    return tool_version(HMMSEARCH)


def build_command(msa: str | Path, output_hmm: str | Path, hand: bool = True) -> list[str]:
    return [HMMBUILD, *(["--hand"] if hand else []), "--amino", str(output_hmm), str(msa)]


def build(msa: str | Path, output_hmm: str | Path, *, log: str | Path, timeout: float, hand: bool = True) -> None:
    """Write the profile HMM of ``msa`` (Stockholm; with ``hand``, its RF line marks the match columns)."""
    run_tool(HMMBUILD, build_command(msa, output_hmm, hand), log, timeout=timeout)


def search_command(hmm: str | Path, database: str | Path, output_sto: str | Path,
                   flags: Mapping[str, object], threads: int) -> list[str]:
    return [HMMSEARCH, "--noali", "--cpu", str(threads), *flag_arguments(flags), "-A", str(output_sto),
            str(hmm), str(database)]


def search(hmm: str | Path, database: str | Path, output_sto: str | Path, *, flags: Mapping[str, object],
           threads: int, log: str | Path, timeout: float, database_name: str) -> None:
    """Search ``hmm`` against ``database`` (FASTA) and write the hits' Stockholm alignment."""
    run_tool(HMMSEARCH, search_command(hmm, database, output_sto, flags, threads), log, timeout=timeout,
             database=f"{database_name} ({database})")
