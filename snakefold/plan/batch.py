"""The batch of a run: targets from the config's inputs, complex sheets and pulldown screen, and the tables
intake writes.

``targets.tsv`` lists every accepted target with its sequence key (targets that share a sequence share a
key, and the workflow computes each key once); ``rejected.tsv`` lists every record that was refused, with
the file, the line and the reason. A batch with complexes lists them after the single-chain targets
(``length``: all chains; ``seq_key``: the complex's) and adds a last column ``chains``, the sequence keys of
every target's chains in chain-ID order (A, B, ...) separated by commas; a batch of single chains has no
such column, so its table is as it always was.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable

from snakefold.common.atomic import atomic_write_text
from snakefold.common.batch_checks import load_batch
from snakefold.common.fasta import Batch, Problem, Target
from snakefold.plan.complexes import ComplexSettings, add_complexes
from snakefold.plan.layout import BATCH_FILES

TARGET_COLUMNS = ("target", "record_id", "seq_key", "length", "file", "line", "description")
#: The column a batch with complexes adds to targets.tsv.
CHAINS_COLUMN = "chains"
REJECTED_COLUMNS = ("target", "file", "line", "reason")


def batch_from_config(config: dict) -> Batch:
    """Every target of a validated config: its inputs' records, then the complexes of its sheets and screen."""
    settings = ComplexSettings.from_config(config)
    if config["inputs"]:
        batch = load_batch(config["inputs"], config["min_length"], config["max_length"],
                           config["nonstandard_residues"], reserved_names=BATCH_FILES)
    else:
        batch = Batch()
    if settings.sheets or settings.baits or settings.preys:
        add_complexes(batch, config, BATCH_FILES)
    return batch


def intake_report(batch: Batch, on_invalid: str) -> str:
    """What intake tells the user: every error and warning, and what happens next."""
    lines = []
    if batch.errors:
        verb = "rejected" if on_invalid == "skip" else "found"
        lines.append(f"{len(batch.errors)} invalid input record(s) {verb}:")
        lines.extend(f"  - {problem}" for problem in batch.errors)
        if on_invalid == "fail":
            lines.append("Nothing was run. Fix these records, or set 'on_invalid: skip' to run the valid targets "
                         "and list the rejected ones in rejected.tsv.")
    if batch.warnings:
        lines.append(f"{len(batch.warnings)} warning(s):")
        lines.extend(f"  - {problem}" for problem in batch.warnings)
    return "\n".join(lines)


def _tsv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def targets_tsv(targets: Iterable[Target]) -> str:
    targets = list(targets)
    rows = [[t.name, t.record_id, t.seq_key, t.length, t.path, t.line, t.description] for t in targets]
    if not any(target.is_complex for target in targets):
        return _tsv(TARGET_COLUMNS, rows)
    chains = [",".join(chain.seq_key for chain in t.chains) if t.is_complex else t.seq_key for t in targets]
    return _tsv((*TARGET_COLUMNS, CHAINS_COLUMN), (row + [keys] for row, keys in zip(rows, chains)))


def rejected_tsv(errors: Iterable[Problem]) -> str:
    rows = ((p.record_id or "", p.path, "" if p.line is None else p.line, p.reason) for p in errors)
    return _tsv(REJECTED_COLUMNS, rows)


def write_targets_tsv(path: str | Path, targets: Iterable[Target]) -> None:
    atomic_write_text(path, targets_tsv(targets))


def write_rejected_tsv(path: str | Path, errors: Iterable[Problem]) -> None:
    atomic_write_text(path, rejected_tsv(errors))
