"""Running an external tool: argument lists, a timeout, stderr to the rule's log, errors for people.

Every wrapper in this package calls :func:`run_tool`. It never builds a shell string, appends the command
line and the tool's stderr to the log file, and turns every failure (missing binary, timeout, non-zero
exit) into a :class:`SnakefoldError` naming the tool, the database and the log file.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Sequence

from snakefold.common.errors import SnakefoldError

#: Debian package that provides each binary, for the "not found" message.
DEBIAN_PACKAGES = {
    "hhblits": "hhsuite", "hhsearch": "hhsuite", "hhmake": "hhsuite", "ffindex_build": "hhsuite",
    "jackhmmer": "hmmer", "hmmsearch": "hmmer", "hmmbuild": "hmmer", "esl-reformat": "hmmer",
    "mmseqs": "mmseqs2", "kalign": "kalign",
}


def find_binary(name: str) -> str:
    """The absolute path of ``name`` (a name on PATH or a path), or an error saying how to install it."""
    found = shutil.which(name)
    if found is None:
        package = DEBIAN_PACKAGES.get(Path(name).name)
        hint = f" (Debian package '{package}': apt-get install {package})" if package else ""
        raise SnakefoldError(f"the program '{name}' was not found{hint}")
    return found


@functools.lru_cache(maxsize=None)
def tool_version(binary: str, flag: str = "-h") -> str:
    """The version a tool reports about itself: the first version-like token of its help or version text."""
    completed = subprocess.run([find_binary(binary), flag], capture_output=True, text=True, timeout=60)
    text = completed.stdout + completed.stderr
    match = re.search(r"\b(\d+\.\d+(?:\.\d+)?(?:[-.][0-9A-Za-z]+)*)\b", text)
    if match is None:
        raise SnakefoldError(f"cannot tell the version of '{binary}' from '{binary} {flag}'")
    return match.group(1)


def run_tool(tool: str, argv: Sequence[str], log_path: str | Path, *, timeout: float,
             database: str | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` (argv[0] is the binary); append the command and its stderr to ``log_path``.

    Returns the completed process (stdout captured as text). Raises a SnakefoldError that names the tool,
    the database and the log file when the binary is missing, the time runs out or the exit status is not 0.
    """
    argv = [find_binary(argv[0]), *map(str, argv[1:])]
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    against = f" against database '{database}'" if database else ""
    started = time.monotonic()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(argv)}\n")
        log.flush()
        try:
            completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=log, text=True, timeout=timeout,
                                       cwd=cwd)
        except subprocess.TimeoutExpired as error:
            raise SnakefoldError(f"{tool} ran out of time ({timeout:g} s){against}; raise the timeout in the "
                                 f"config or see the log {log_path}") from error
        log.write(f"# {tool} exited with status {completed.returncode} after "
                  f"{time.monotonic() - started:.1f} s\n")
    if completed.returncode != 0:
        tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-8:])
        raise SnakefoldError(f"{tool} failed with exit status {completed.returncode}{against}. The end of its "
                             f"log {log_path}:\n{tail}")
    return completed
