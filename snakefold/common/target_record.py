"""A target's record as its jobs receive it: one JSON file per target, never command-line words.

IDs and descriptions come from FASTA headers and may hold anything a user can type: nothing at all (a
header that is an ID alone), a leading ``-`` that a command-line parser takes for an option, quotes,
``$(...)``. The plan writes each accepted target's record to ``{WORK}/targets/<target>.json``; a job reads it
back with :func:`read_target_record`. Only the filesystem-safe target name and paths travel as arguments.

    {"name": ..., "record_id": ..., "description": ..., "sequence": ..., "path": ..., "line": ...}

A complex's record also has ``"chains": [{"chain_id": "A", "record_id": ..., "sequence": ...}, ...]``; a
single-chain target's has no ``chains`` key.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Chain, Target

_FIELDS = tuple(field.name for field in dataclasses.fields(Target) if field.name != "chains")


def target_record_document(target: Target) -> dict:
    """The JSON document of ``target``'s record (``chains`` only for a complex)."""
    document = dataclasses.asdict(target)
    if not target.chains:
        del document["chains"]
    return document


def write_target_record(path: str | Path, document: dict) -> None:
    """Write a record document (see :func:`target_record_document`) atomically."""
    atomic_write_json(path, document)


def read_target_record(path: str | Path) -> Target:
    """The target a record file describes; a clear error when it is not one."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SnakefoldError(f"{path}: cannot read the target record ({error}); delete it and run again, "
                             "the workflow writes it anew") from error
    chains = document.pop("chains", []) if isinstance(document, dict) else []
    if (not isinstance(document, dict) or sorted(document) != sorted(_FIELDS) or not isinstance(chains, list)
            or not all(isinstance(chain, dict) and sorted(chain) == ["chain_id", "record_id", "sequence"]
                       for chain in chains)):
        raise SnakefoldError(f"{path}: not a target record (expected the keys {', '.join(_FIELDS)}, and chains for "
                             "a complex); delete it and run again, the workflow writes it anew")
    return Target(**document, chains=tuple(Chain(**chain) for chain in chains))
