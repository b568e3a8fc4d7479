"""cstranslate (HH-suite): the column-state (cs219) sequences of an ffindex a3m database, hhblits' prefilter.

HH-suite builds its databases with ``cstranslate -f -x 0.3 -c 4 -I a3m -b`` and its two libraries,
``cs219.lib`` (the 219-letter alphabet) and ``context_data.lib`` (context pseudocounts), found in
``$HHLIB/data``, ``/usr/share/hhsuite/data`` or beside an installed HH-suite. Debian ships one binary per
instruction set under ``/usr/libexec/hhsuite`` (its ``cstranslate`` wrapper is broken), so the fastest one
this CPU supports is chosen; elsewhere ``cstranslate`` on PATH is used.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from snakefold.common.errors import SnakefoldError
from snakefold.tools.base import run_tool, tool_version

DEBIAN_LIBEXEC = Path("/usr/libexec/hhsuite")
#: Debian's binary suffixes, fastest first, with the /proc/cpuinfo flag each needs.
INSTRUCTION_SETS = (("avx2", "avx2"), ("avx", "avx"), ("sse4.1", "sse4_1"), ("ssse3", "ssse3"), ("sse3", "pni"))
LIBRARIES = ("cs219.lib", "context_data.lib")


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@functools.lru_cache(maxsize=None)
def binary() -> str:
    """The cstranslate executable to run on this machine."""
    flags = _cpu_flags()
    for suffix, flag in INSTRUCTION_SETS:
        candidate = DEBIAN_LIBEXEC / f"cstranslate-{suffix}"
        if flag in flags and os.access(candidate, os.X_OK):
            return str(candidate)
    plain = DEBIAN_LIBEXEC / "cstranslate-plain"
    if os.access(plain, os.X_OK):
        return str(plain)
    on_path = shutil.which("cstranslate")
    if on_path is None:
        raise SnakefoldError("the program 'cstranslate' was not found (Debian package 'hhsuite': apt-get install "
                             "hhsuite; or put HH-suite's bin directory on PATH)")
    return on_path


def data_directory() -> Path:
    """Where HH-suite's cs219.lib and context_data.lib are."""
    candidates = []
    if os.environ.get("HHLIB"):
        candidates.append(Path(os.environ["HHLIB"]) / "data")
    candidates.append(Path("/usr/share/hhsuite/data"))
    installed = Path(binary()).resolve().parent.parent
    candidates += [installed / "data", installed / "share" / "hhsuite" / "data"]
    for directory in candidates:
        if all((directory / name).is_file() for name in LIBRARIES):
            return directory
    raise SnakefoldError(f"HH-suite's {' and '.join(LIBRARIES)} were not found in "
                         f"{', '.join(map(str, candidates))}; set HHLIB to HH-suite's installation directory")


def version() -> str:
    return tool_version(binary(), "--help")


def make_cs219_database(a3m_prefix: str | Path, cs219_prefix: str | Path, *, threads: int, log: str | Path,
                        timeout: float) -> None:
    """``<cs219_prefix>.ffdata/.ffindex`` from ``<a3m_prefix>.ffdata/.ffindex`` (binary cs219, as hhblits reads)."""
    data = data_directory()
    run_tool("cstranslate", [binary(), "-f", "-x", "0.3", "-c", "4", "-I", "a3m", "-b",
                             "-A", str(data / "cs219.lib"), "-D", str(data / "context_data.lib"),
                             "-i", str(a3m_prefix), "-o", str(cs219_prefix)], log, timeout=timeout,
             env={"OMP_NUM_THREADS": str(threads)})
