"""Atomic writes: every file another stage or a user reads appears complete or not at all.

Each helper writes to a temporary name in the destination's own directory (so the final rename never
crosses a filesystem) and renames it into place with :func:`os.replace` once the content is complete and
flushed to disk. A killed job leaves at most a hidden ``.<name>.tmp-*`` file, never a file that looks
finished; Snakemake's own checks never see half-written outputs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np


def _temporary_sibling(path: Path, suffix: str = "") -> tuple[int, Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=suffix, dir=path.parent)
    return fd, Path(tmp)


def fsync_directory(directory: str | os.PathLike) -> None:
    """Flush a directory's entries to disk, so that a rename into it survives a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[Any]:
    """Open a temporary file beside ``path`` for writing; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write supports modes 'w' and 'wb', not {mode!r}")
    path = Path(path)
    fd, tmp = _temporary_sibling(path)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        fsync_directory(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> None:
    """Write ``obj`` as JSON (strict: NaN and infinities are refused, as JSON has none)."""
    atomic_write_text(path, json.dumps(obj, indent=indent, allow_nan=False) + "\n")


def atomic_save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], compress: bool = True) -> None:
    """Save arrays as an ``.npz`` that loads with ``allow_pickle=False`` (object arrays are refused)."""
    for name, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"array {name!r} has dtype object; npz files here never hold pickled data")
    save = np.savez_compressed if compress else np.savez
    with atomic_write(path, "wb") as handle:
        save(handle, **{name: np.asarray(value) for name, value in arrays.items()})


def atomic_copy(source: str | os.PathLike, destination: str | os.PathLike) -> None:
    """Copy a file's bytes atomically (a fresh file, so its modification time is now)."""
    with open(source, "rb") as src, atomic_write(destination, "wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 20)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; rename it onto ``path`` when the block succeeds.

    An existing ``path`` is replaced only after the new directory is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
        fsync_directory(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
