"""hhmake (HH-suite): the HMM (``.hhm``) of every MSA of an ffindex a3m database, through ffindex_apply.

ffindex_apply starts one hhmake per entry, one at a time; with ``threads`` > 1 the entries are split into
that many shares (index files over the same data file), each share runs in its own ffindex_apply, and the
shares' outputs are joined into one database with its index sorted by name.
"""

from __future__ import annotations

import concurrent.futures
import shutil
from pathlib import Path

from snakefold.tools import ffindex
from snakefold.tools.base import find_binary, tool_version

BINARY = "hhmake"


def version() -> str:
    return tool_version(BINARY)


def _program() -> list[str]:
    return [find_binary(BINARY), "-i", "stdin", "-o", "stdout", "-v", "0"]


def make_hhm_database(a3m_prefix: str | Path, hhm_prefix: str | Path, *, log: str | Path, timeout: float,
                      threads: int = 1) -> None:
    """``<hhm_prefix>.ffdata/.ffindex``: hhmake run on each entry of ``<a3m_prefix>.ffdata/.ffindex``."""
    a3m_data, a3m_index = f"{a3m_prefix}.ffdata", f"{a3m_prefix}.ffindex"
    lines = Path(a3m_index).read_text().splitlines(keepends=True)
    shares = max(1, min(threads, len(lines)))
    if shares == 1:
        ffindex.apply(a3m_data, a3m_index, f"{hhm_prefix}.ffdata", f"{hhm_prefix}.ffindex", _program(), log=log,
                      timeout=timeout)
        return
    share_prefixes = [Path(f"{hhm_prefix}.share{number}") for number in range(shares)]
    for number, prefix in enumerate(share_prefixes):
        prefix.with_name(prefix.name + ".input.ffindex").write_text("".join(lines[number::shares]))
    with concurrent.futures.ThreadPoolExecutor(shares) as pool:
        runs = [pool.submit(ffindex.apply, a3m_data, prefix.with_name(prefix.name + ".input.ffindex"),
                            f"{prefix}.ffdata", f"{prefix}.ffindex", _program(), log=log, timeout=timeout)
                for prefix in share_prefixes]
        for run in runs:
            run.result()
    entries = []
    with open(f"{hhm_prefix}.ffdata", "wb") as data:
        for prefix in share_prefixes:
            base = data.tell()
            with open(f"{prefix}.ffdata", "rb") as share:
                shutil.copyfileobj(share, data)
            entries += [(name, base + offset, length)
                        for name, offset, length in ffindex.read_index(f"{prefix}.ffindex")]
    Path(f"{hhm_prefix}.ffindex").write_text("".join(f"{name}\t{offset}\t{length}\n"
                                                     for name, offset, length in sorted(entries)))
    for prefix in share_prefixes:
        for suffix in (".ffdata", ".ffindex", ".input.ffindex"):
            Path(f"{prefix}{suffix}").unlink(missing_ok=True)
