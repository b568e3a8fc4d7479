"""A target's record as its jobs receive it: one JSON file per target, never command-line words.

IDs and descriptions come from FASTA headers and may hold anything a user can type: nothing at all (a
header that is an ID alone), a leading ``-`` that a command-line parser takes for an option, quotes,
``$(...)``. The plan writes each accepted target's record to ``{WORK}/targets/<target>.json``; a job reads it
back with :func:`read_target_record`. Only the filesystem-safe target name and paths travel as arguments.

    {"name": ..., "record_id": ..., "description": ..., "sequence": ..., "path": ..., "line": ...}
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Target

_FIELDS = tuple(field.name for field in dataclasses.fields(Target))


def target_record_document(target: Target) -> dict:
    """The JSON document of ``target``'s record."""
    return dataclasses.asdict(target)


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
    if not isinstance(document, dict) or sorted(document) != sorted(_FIELDS):
        raise SnakefoldError(f"{path}: not a target record (expected the keys {', '.join(_FIELDS)}); delete it "
                             "and run again, the workflow writes it anew")
    return Target(**document)
