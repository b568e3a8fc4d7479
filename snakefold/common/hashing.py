"""SHA-256 of files, read in blocks: cache entries, installed files and downloads are checked with it."""

from __future__ import annotations

import hashlib
import os

BLOCK_BYTES = 1 << 20


def sha256_digest(path: str | os.PathLike) -> "hashlib._Hash":
    """The SHA-256 state after reading all of ``path`` (a resumed download goes on updating it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK_BYTES), b""):
            digest.update(block)
    return digest


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of ``path`` in hexadecimal."""
    return sha256_digest(path).hexdigest()
