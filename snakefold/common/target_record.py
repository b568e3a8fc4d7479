"""A target's record as its jobs receive it, and the batch file: data, never command-line words.

IDs and descriptions come from FASTA headers and may hold anything a user can type: nothing at all (a
header that is an ID alone), a leading ``-`` that a command-line parser takes for an option, quotes,
``$(...)``. Only filesystem-safe target names and paths travel as arguments; a record travels as data:

- to a target's own jobs (report, regression check) as a job parameter, :func:`record_json` (its JSON, ASCII
  only), which the job's shell command hands over as a file, ``--record <(printf '%s' <the JSON, quoted>)``,
  read back with :func:`read_target_record`. A parameter is what Snakemake compares to decide whether a job
  runs again, so a changed record reruns exactly its target's jobs, and no job per target writes a file;
- to the batch's jobs (a screen's table, golden outputs) in the batch file that intake writes,
  ``{WORK}/batch.json`` (sealed: :mod:`snakefold.common.intermediates`)::

    {"targets": {<name>: <record>, ...},
     "pulldown": [{"target": <pair's name>, "bait": <bait's name>, "prey": <prey's name>}, ...]}

A record is ``{"name", "record_id", "description", "sequence", "path", "line"}``; a complex's also has
``"chains": [{"chain_id": "A", "record_id": ..., "sequence": ...}, ...]``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Chain, Target
from snakefold.common.intermediates import read_intermediate_json, seal

_FIELDS = tuple(field.name for field in dataclasses.fields(Target) if field.name != "chains")
_PAIR_KEYS = ("bait", "prey", "target")


def target_record_document(target: Target) -> dict:
    """The JSON document of ``target``'s record (``chains`` only for a complex)."""
    document = {name: getattr(target, name) for name in _FIELDS}
    if target.chains:
        document["chains"] = [dataclasses.asdict(chain) for chain in target.chains]
    return document


def record_json(target: Target) -> str:
    """``target``'s record as one line of ASCII JSON (keys sorted): the job parameter that carries it."""
    return json.dumps(target_record_document(target), sort_keys=True)


def batch_document(targets: Iterable[Target], pulldown: Mapping[str, tuple[str, str]]) -> dict:
    """The document of ``batch.json``: ``targets`` by name, and the screen's pairs (pair -> (bait, prey))."""
    return {"targets": {target.name: target_record_document(target) for target in targets},
            "pulldown": [{"target": name, "bait": bait, "prey": prey} for name, (bait, prey) in pulldown.items()]}


def write_batch_document(path: str | Path, document: dict) -> None:
    """Write ``batch.json`` atomically, then seal it."""
    atomic_write_json(path, document)
    seal(path)


def _read_batch(path: str | Path) -> dict:
    document = read_intermediate_json(path, "the batch's target records")
    if (not isinstance(document, dict) or not isinstance(document.get("targets"), dict)
            or not isinstance(document.get("pulldown"), list)):
        raise SnakefoldError(f"{path}: not the batch's target records (expected 'targets' and 'pulldown'); delete "
                             "it and run again, the workflow writes it anew")
    return document


def _target(what: str, document) -> Target:
    chains = document.pop("chains", []) if isinstance(document, dict) else []
    if (not isinstance(document, dict) or sorted(document) != sorted(_FIELDS) or not isinstance(chains, list)
            or not all(isinstance(chain, dict) and sorted(chain) == ["chain_id", "record_id", "sequence"]
                       for chain in chains)):
        raise SnakefoldError(f"{what} is not a target record (expected the keys {', '.join(_FIELDS)}, and chains "
                             "for a complex)")
    return Target(**document, chains=tuple(Chain(**chain) for chain in chains))


def read_target_records(path: str | Path, names: Iterable[str]) -> list[Target]:
    """The targets called ``names``, from the batch file at ``path``; a clear error when one is not there."""
    targets = _read_batch(path)["targets"]
    found = []
    for name in names:
        if name not in targets:
            raise SnakefoldError(f"{path}: '{name}' is not a target of this batch")
        found.append(_target(f"{path}: the record of '{name}'", targets[name]))
    return found


def read_target_record(path: str | Path) -> Target:
    """The target whose record (:func:`record_json`) is the content of ``path``; a clear error when it is not one."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SnakefoldError(f"{path}: cannot read the target record ({error})") from error
    return _target(f"{path}: the target record", document)


def read_pulldown_pairs(path: str | Path) -> list[tuple[str, str, str]]:
    """The screen's pairs of the batch file at ``path``: (pair's target name, bait, prey), in planned order."""
    pairs = _read_batch(path)["pulldown"]
    if not all(isinstance(pair, dict) and sorted(pair) == list(_PAIR_KEYS)
               and all(isinstance(pair[key], str) for key in _PAIR_KEYS) for pair in pairs):
        raise SnakefoldError(f"{path}: a pulldown pair is not {{target, bait, prey}}; delete the file and run again, "
                             "the workflow writes it anew")
    return [(pair["target"], pair["bait"], pair["prey"]) for pair in pairs]
