"""The JSON schemas of every JSON file the report stage writes (``snakefold/report/schemas/``), and checks.

Kinds: ``pae``, ``confidence`` (AlphaFold DB formats), ``ranking``, ``timings`` (per target),
``regression_target`` (a regression target's checks), ``golden_manifest`` (a golden output directory).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from snakefold.common.errors import SnakefoldError

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
KINDS = ("pae", "confidence", "ranking", "timings", "regression_target", "golden_manifest")


@lru_cache(maxsize=None)
def schema(kind: str) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}; known: {', '.join(KINDS)}")
    with open(SCHEMA_DIR / f"{kind}.schema.json", encoding="utf-8") as handle:
        return json.load(handle)


def problems(kind: str, document: Any) -> list[str]:
    """Every way ``document`` breaks the schema of ``kind``, as 'location: message' (empty when valid)."""
    validator = jsonschema.Draft202012Validator(schema(kind))
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        location = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        found.append(f"{location}: {error.message}")
    return found


def check(kind: str, document: Any, where: str | Path) -> None:
    """Raise naming ``where`` and the first problems when ``document`` is not a valid ``kind`` document."""
    found = problems(kind, document)
    if found:
        shown = "\n".join(f"  - {problem}" for problem in found[:10])
        more = f"\n  ... and {len(found) - 10} more" if len(found) > 10 else ""
        raise SnakefoldError(f"{where}: not a valid {kind} document:\n{shown}{more}")
