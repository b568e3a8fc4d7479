"""The files one job writes for another (records, scores, model outputs, rankings, relaxed models): sealed, checked.

A truncated, bit-flipped or hand-edited intermediate file must not give a traceback, nor the same failure at
every later run, nor a wrong result, nor cost the results of an earlier run.

- **Seal.** The job that writes an intermediate file seals it last (:func:`seal`): ``<file>.seal.json``
  holds the file's size, modification time (ns) and SHA-256 as written.
- **Checked when the DAG is built** (:func:`seal_problem`, by the workflow's main process): a file
  whose size and modification time are those of its seal is trusted without reading it, so checking a
  batch costs a ``stat`` per file; any other file is hashed. A file without a seal (its job was killed
  before it finished), or whose content is not what was sealed, is removed with its seal, and written again
  before any job that needs it runs (:mod:`snakefold.plan.integrity`). The report job, which replaces a
  target's results, therefore never starts on a damaged input.
- **Checked where it is read**: the readers here hash the file against its seal and load it whole, so
  damage anywhere shows at once; a damaged file is removed and a :class:`SnakefoldError` names it and says
  what happens next (the next run writes it again). A file that does not exist is only reported.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.common.hashing import file_sha256

SEAL_SUFFIX = ".seal.json"
RECOMPUTE = "it was removed: run snakemake again and the job that writes it runs again"


def seal_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SEAL_SUFFIX)


def seal(*paths: str | Path) -> None:
    """Seal each complete file of ``paths`` (call after the file is in place, as the job's last writes)."""
    for path in map(Path, paths):
        status = path.stat()
        atomic_write_json(seal_path(path), {"size": status.st_size, "mtime_ns": status.st_mtime_ns,
                                            "sha256": file_sha256(path)})


def seal_problem(path: str | Path, *, trust_unchanged: bool) -> str | None:
    """Why the existing file ``path`` is not what its job sealed, or None when it is (or it is absent).

    With ``trust_unchanged`` a file whose size and modification time are the seal's is not read.
    """
    path = Path(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    try:
        recorded = json.loads(seal_path(path).read_text(encoding="utf-8"))
        size, mtime_ns, sha256 = int(recorded["size"]), int(recorded["mtime_ns"]), str(recorded["sha256"])
    except FileNotFoundError:
        return "it has no seal (the job that wrote it did not finish)"
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return f"its seal {seal_path(path).name} is unreadable"
    if status.st_size != size:
        return f"its size is {status.st_size} bytes, not the {size} its job wrote"
    if trust_unchanged and status.st_mtime_ns == mtime_ns:
        return None
    if file_sha256(path) != sha256:
        return "its content is not what its job wrote (SHA-256 differs)"
    return None


def _damaged(path: Path, what: str, problem: str) -> SnakefoldError:
    path.unlink(missing_ok=True)
    seal_path(path).unlink(missing_ok=True)
    return SnakefoldError(f"{path} ({what}) is damaged: {problem}; {RECOMPUTE}")


def verify_intermediate(path: str | Path, what: str) -> Path:
    """``path``, once it is known to exist and to be what its job sealed (a file with no seal is not checked)."""
    path = Path(path)
    if not path.is_file():
        raise SnakefoldError(f"{path} ({what}) is missing")
    if seal_path(path).exists():
        problem = seal_problem(path, trust_unchanged=False)
        if problem is not None:
            raise _damaged(path, what, problem)
    return path


def read_intermediate_text(path: str | Path, what: str) -> str:
    """The text of ``path``, which a job wrote (``what`` names it in messages)."""
    path = verify_intermediate(path, what)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise _damaged(path, what, f"{type(error).__name__}: {error}") from None


def read_intermediate_json(path: str | Path, what: str) -> Any:
    """The JSON document of ``path``, which a job wrote (``what`` names it in messages)."""
    text = read_intermediate_text(path, what)
    try:
        return json.loads(text)
    except ValueError as error:
        raise _damaged(Path(path), what, f"{type(error).__name__}: {error}") from None


def read_intermediate_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """Every array of the npz file ``path`` (loaded now, so that damage anywhere in it shows here)."""
    path = verify_intermediate(path, what)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise _damaged(path, what, f"{type(error).__name__}: {error}") from None
