"""The content-keyed cache shared by every target, batch and run.

A result's **key** is a hash of everything that determines it: the sequence, the tool and its version,
the database fingerprint and every option that changes the result. The workflow computes keys when the
DAG is built and uses ``<cache_dir>/<kind>/<key>.<ext>`` as the rule's output path, so Snakemake itself
sees a cached result as done and schedules no job for it; a changed sequence, tool, database or option
gives a new key and a new job.

An entry is valid only with its manifest (``<entry>.manifest.json``: the key's parts, size and SHA-256 of
the content), written after the content. An entry without a manifest (a job killed between the two
writes) or whose content no longer matches it (a corrupted disk, a hand edit) is found by
:func:`invalid_reason` when the DAG is built, and removed so it is computed again
(:mod:`snakefold.plan.integrity`).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from snakefold.common.atomic import atomic_write_json
from snakefold.common.hashing import file_sha256

MANIFEST_SUFFIX = ".manifest.json"


def content_key(parts: dict[str, Any]) -> str:
    """A stable 24-hex-digit key of ``parts`` (JSON-serialisable; dict order does not matter)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:24]


def manifest_path(entry: str | Path) -> Path:
    entry = Path(entry)
    return entry.with_name(entry.name + MANIFEST_SUFFIX)




def seal(entry: str | Path, parts: dict[str, Any]) -> None:
    """Write the manifest of a complete entry (call after the content file is in place)."""
    entry = Path(entry)
    atomic_write_json(manifest_path(entry), {
        "key": content_key(parts), "parts": parts, "size": entry.stat().st_size,
        "sha256": file_sha256(entry), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })


def invalid_reason(entry: str | Path) -> str | None:
    """Why an existing entry cannot be trusted, or None when it is sound (or absent)."""
    entry = Path(entry)
    if not entry.exists():
        return None
    manifest = manifest_path(entry)
    if not manifest.exists():
        return "it has no manifest (its job was interrupted)"
    try:
        recorded = json.loads(manifest.read_text())
        size, sha256 = recorded["size"], recorded["sha256"]
    except (ValueError, KeyError, TypeError):
        return "its manifest is unreadable"
    if entry.stat().st_size != size:
        return f"its size is {entry.stat().st_size} bytes, not the {size} recorded"
    if file_sha256(entry) != sha256:
        return "its content does not match the recorded checksum"
    return None
