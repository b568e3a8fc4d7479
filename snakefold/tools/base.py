"""Running an external tool: argument lists, a timeout, stderr to the rule's log, errors for people.

Every wrapper in this package calls :func:`run_tool`. It never builds a shell string, appends the command
line and the tool's stderr to the log file, and turns every failure (missing binary, timeout, non-zero
exit) into a :class:`SnakefoldError` naming the tool, the database and the log file.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Mapping, Sequence

from snakefold.common.errors import SnakefoldError

#: Debian package that provides each binary, for the "not found" message.
DEBIAN_PACKAGES = {
    "hhblits": "hhsuite", "hhsearch": "hhsuite", "hhmake": "hhsuite", "ffindex_build": "hhsuite",
    "ffindex_apply": "hhsuite",
    "jackhmmer": "hmmer", "hmmsearch": "hmmer", "hmmbuild": "hmmer", "esl-reformat": "hmmer",
    "mmseqs": "mmseqs2", "kalign": "kalign", "rsync": "rsync",
}


def find_binary(name: str) -> str:
    """The absolute path of ``name`` (a name on PATH or a path), or an error saying how to install it."""
    found = shutil.which(name)
    if found is None:
        package = DEBIAN_PACKAGES.get(Path(name).name)
        hint = f" (Debian package '{package}': apt-get install {package})" if package else ""
        raise SnakefoldError(f"the program '{name}' was not found{hint}")
    return found


#: The first version-like token (3.3.2, 3.3.0-beta) of a help text.
VERSION_PATTERN = r"\b(\d+\.\d+(?:\.\d+)?(?:[-.][0-9A-Za-z]+)*)\b"


@functools.lru_cache(maxsize=None)
def tool_version(binary: str, flag: str = "-h", pattern: str = VERSION_PATTERN) -> str:
    """The version a tool reports about itself: the first match of ``pattern`` (group 1) in its help text."""
    completed = subprocess.run([find_binary(binary), flag], capture_output=True, text=True, timeout=60)
    text = completed.stdout + completed.stderr
    match = re.search(pattern, text)
    if match is None:
        raise SnakefoldError(f"cannot tell the version of '{binary}' from '{binary} {flag}'")
    return match.group(1)


def run_tool(tool: str, argv: Sequence[str], log_path: str | Path, *, timeout: float,
             database: str | None = None, cwd: str | Path | None = None,
             env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` (argv[0] is the binary); append the command and its stderr to ``log_path``.

    ``env`` adds environment variables to the inherited environment.

    Returns the completed process (stdout captured as text). Raises a SnakefoldError that names the tool,
    the database and the log file when the binary is missing, the time runs out or the exit status is not 0.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    against = f" against database '{database}'" if database else ""
    try:
        argv = [find_binary(argv[0]), *map(str, argv[1:])]
    except SnakefoldError as error:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"# {error}\n")
        raise SnakefoldError(f"{tool} cannot run{against}: {error} (log: {log_path})") from None
    started = time.monotonic()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(argv)}\n")
        log.flush()
        try:
            completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=log, text=True, timeout=timeout,
                                       cwd=cwd, env=None if env is None else {**os.environ, **env})
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


def flag_arguments(flags: Mapping[str, object], long_prefix: str = "--", short_prefix: str = "-") -> list[str]:
    """Command-line arguments of a flag mapping (name -> value), in the mapping's order.

    A one-letter name takes ``short_prefix`` (``-E``), a longer one ``long_prefix`` (``--incE``; HH-suite
    uses ``-`` for both). ``True`` gives the bare flag; ``False`` and ``None`` leave it out.
    """
    arguments: list[str] = []
    for name, value in flags.items():
        if value is None or value is False:
            continue
        arguments.append(f"{short_prefix if len(name) == 1 else long_prefix}{name}")
        if value is not True:
            arguments.append(str(value))
    return arguments
