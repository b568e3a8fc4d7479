"""The batch summary ``summary.tsv``: one row per input record, whatever happened to it.

Snakemake never runs a job whose inputs failed, so a summary that needed every target's outputs would be
missing exactly when it matters. The summary is made by :func:`summarise_batch`, which looks at what exists
instead of depending on it, and is told which jobs failed for which target:

- a target named in ``failures`` is ``failed``, with the first failed job's error (the error its log ends
  with: a ``snakefold <command>: ...`` message or a Python exception) and that log's path;
- otherwise a target whose ``{RESULTS}/<target>/ranking.json`` (the report stage writes it) exists for the
  target's current sequence is ``ok``, with its best model's scores (for a complex also ipTM, the ranking
  confidence 0.8 ipTM + 0.2 pTM and the residue contacts across its chains, ``interface_contacts``); when its
  files no longer match the ``SHA256SUMS`` the report wrote last (or that file is absent or malformed), its
  ``error`` column says so and points at ``snakefold verify`` (:mod:`snakefold.common.checksums`); its status
  stays ``ok``;
- a record rejected at intake is ``rejected``, with the reason and ``file:line``;
- anything else is ``incomplete`` (the run stopped first, or the target's jobs were not requested).

The failures of a run come from Snakemake's DAG (:mod:`snakefold.report.run_outcome`), called by the
workflow's ``onsuccess``/``onerror`` handlers after every run; the ``summary`` rule, which runs when every
target succeeded, passes none. The run's exit status stays Snakemake's own: non-zero on any failure.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from snakefold.common.atomic import atomic_write_text
from snakefold.common.checksums import SUMS_NAME, verify_directory
from snakefold.common.errors import SnakefoldError

COLUMNS = ("target", "length", "msa_depth", "best_model", "mean_plddt", "ptm", "iptm", "ranking_confidence",
           "interface_contacts", "relaxed", "status", "error", "log", "note")
STATUSES = ("ok", "failed", "rejected", "incomplete")
#: The command line's error line: 'snakefold <command>: <message>'.
CLI_ERROR = re.compile(r"^snakefold [a-z][a-z0-9-]*: \S")
MAX_ERROR_CHARS = 600
LOG_TAIL_BYTES = 64 * 1024
#: How many changed files the summary names before 'and N more' (snakefold verify lists them all).
MAX_CHANGED_SHOWN = 5
INCOMPLETE_NOTE = ("not finished: the run stopped before this target's jobs ran (after another job failed; "
                   "--keep-going runs independent targets) or they were not requested")


@dataclass(frozen=True)
class BatchTarget:
    name: str
    seq_key: str
    length: int


@dataclass(frozen=True)
class RejectedRecord:
    name: str
    path: str
    line: int | None
    reason: str


@dataclass(frozen=True)
class JobFailure:
    """A failed job a target depends on: its rule, its log files, and the error to show."""

    rule: str
    logs: tuple[str, ...]
    error: str
    earlier_run: bool = False


def _tail(path: Path) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - LOG_TAIL_BYTES))
            return handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return []


def one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."


def error_in_log(path: str | Path) -> str | None:
    """The error a job log ends with: the last 'snakefold <command>: ...' message (with the lines after it)
    or the exception line of the last Python traceback; None when the log shows neither."""
    lines = _tail(Path(path))
    for index in range(len(lines) - 1, -1, -1):
        if CLI_ERROR.match(lines[index]):
            return one_line(" ".join(lines[index:]))
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith("Traceback (most recent call last)"):
            exception = [line for line in lines[index + 1:] if line.strip() and not line.startswith(" ")]
            return one_line(exception[-1] if exception else "Python traceback")
    return None


def job_failure(rule: str, logs: Iterable[str], snakemake_logs: Iterable[str] = (),
                earlier_run: bool = False) -> JobFailure:
    """A :class:`JobFailure` whose error is read from the job's logs (or points at Snakemake's log)."""
    logs = tuple(str(log) for log in logs)
    for log in logs:
        message = error_in_log(log)
        if message:
            return JobFailure(rule, logs, message, earlier_run)
    where = ", ".join(str(log) for log in snakemake_logs) or "Snakemake's log"
    detail = "its log shows no error message" if logs else "it has no log"
    return JobFailure(rule, logs, f"rule {rule} failed; {detail}; see {where}", earlier_run)


def _read_ranking(path: Path, target: BatchTarget) -> dict | None:
    try:
        ranking = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(ranking, dict) and ranking.get("seq_key") == target.seq_key and ranking.get("models"):
        return ranking
    return None


def checksum_problem(target_dir: str | Path, results_dir: str | Path) -> str:
    """'' when the files of a target directory match its SHA256SUMS; otherwise one line saying what does not."""
    target_dir = Path(target_dir)
    details = f"run `snakefold verify {shlex.quote(str(results_dir))}` for details"
    if not (target_dir / SUMS_NAME).is_file():
        return (f"files not verifiable: no {SUMS_NAME} (the report did not finish, or predates checksums); "
                f"re-run the report")
    try:
        verification = verify_directory(target_dir)
    except SnakefoldError as error:
        return one_line(f"files not verifiable: {error}")
    if verification.ok:
        return ""
    return one_line(f"files changed since the report: {verification.describe(MAX_CHANGED_SHOWN)}; {details}")


def summarise_batch(targets: Sequence[BatchTarget], rejected: Sequence[RejectedRecord], results_dir: str | Path,
                    failures: Mapping[str, Sequence[JobFailure]] | None = None) -> list[dict]:
    """One summary row (a dict of :data:`COLUMNS`) per target and rejected record, in input order."""
    results_dir = Path(results_dir)
    failures = failures or {}
    rows = []
    for target in targets:
        row = dict.fromkeys(COLUMNS, "")
        row.update(target=target.name, length=target.length)
        ranking = _read_ranking(results_dir / target.name / "ranking.json", target)
        if failures.get(target.name):
            failure = failures[target.name][0]
            notes = []
            if failure.earlier_run:
                notes.append("the job failed in an earlier run and has not run since")
            if ranking is not None:
                notes.append(f"the files in {results_dir / target.name} are from an earlier run")
                changed = checksum_problem(results_dir / target.name, results_dir)
                if changed:
                    notes.append(changed)
            row.update(status="failed", error=failure.error, log=", ".join(failure.logs), note="; ".join(notes))
        elif ranking is not None:
            best = ranking["models"][0]
            row.update(status="ok", length=ranking["length"], msa_depth=ranking["msa_depth"],
                       best_model=best["model"], mean_plddt=f"{best['mean_plddt']:.2f}",
                       ptm="" if best["ptm"] is None else f"{best['ptm']:.3f}",
                       ranking_confidence=f"{best['ranking_confidence']:.3f}",
                       **({"iptm": f"{best['iptm']:.3f}", "interface_contacts": ranking["interface_contacts"]}
                          if "iptm" in best else {}),
                       relaxed="yes" if best["relaxed"] else "no",
                       note="; ".join(filter(None, [ranking["warning"], best.get("relaxation_failure")])),
                       error=checksum_problem(results_dir / target.name, results_dir))
        else:
            row.update(status="incomplete", note=INCOMPLETE_NOTE)
        rows.append(row)
    for record in rejected:
        row = dict.fromkeys(COLUMNS, "")
        where = record.path if record.line is None else f"{record.path}:{record.line}"
        row.update(target=record.name, status="rejected", error=one_line(record.reason), log=where,
                   note="rejected at intake; see rejected.tsv")
        rows.append(row)
    return rows


def summary_text(rows: Sequence[dict]) -> str:
    """The TSV text of the summary rows (tabs and line breaks inside a field become spaces)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: " ".join(str(row[key]).split()) for key in COLUMNS})
    return buffer.getvalue()


STATUS_COLOURS = {"ok": "#d8f0d8", "failed": "#f8d0d0", "rejected": "#f8e0c0", "incomplete": "#e8e8e8"}


def summary_html(rows: Sequence[dict]) -> str:
    """The summary as a self-contained HTML page (the Snakemake report shows HTML inline, not TSV)."""
    counts = ", ".join(f"{sum(row['status'] == status for row in rows)} {status}" for status in STATUSES
                       if any(row["status"] == status for row in rows))
    head = "".join(f"<th>{html.escape(column)}</th>" for column in COLUMNS)
    body = []
    for row in rows:
        colour = STATUS_COLOURS.get(row["status"], "#ffffff")
        cells = "".join(f"<td>{html.escape(' '.join(str(row[column]).split()))}</td>" for column in COLUMNS)
        body.append(f'<tr style="background:{colour}">{cells}</tr>')
    notes = sorted({row["note"] for row in rows if row["status"] == "ok" and row["note"]})
    warning = "".join(f'<p class="warning">Note: {html.escape(note)}.</p>' for note in notes)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>snakefold batch summary</title><style>"
        "body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse}"
        "th,td{border:1px solid #aaa;padding:3px 6px;text-align:left;vertical-align:top}"
        "th{background:#eee} .warning{color:#b00020;font-weight:bold}</style></head><body>"
        f"<h2>Batch summary: {len(rows)} record(s): {html.escape(counts or 'none')}</h2>{warning}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>\n"
    )


def write_summary(path: str | Path, rows: Sequence[dict], html_path: str | Path | None = None) -> None:
    """Write the TSV (and the HTML page when ``html_path`` is given)."""
    atomic_write_text(path, summary_text(rows))
    if html_path is not None:
        atomic_write_text(html_path, summary_html(rows))


def read_summary(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def describe(rows: Sequence[dict], path: str | Path) -> str:
    """A few lines for the person at the terminal: counts by status, and every failure with its log."""
    counts = {status: sum(row["status"] == status for row in rows) for status in STATUSES}
    shown = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    lines = [f"batch summary written to {path}: {len(rows)} record(s): {shown or 'none'}"]
    for row in rows:
        if row["status"] in ("failed", "rejected"):
            where = f" (log: {row['log']})" if row["log"] else ""
            lines.append(f"  - {row['target']} {row['status']}: {row['error']}{where}")
        elif row["status"] == "ok" and row["error"]:
            lines.append(f"  - {row['target']} ok, but {row['error']}")
    notes = {row["note"] for row in rows if row["status"] == "ok" and row["note"]}
    lines.extend(f"  note: {note}" for note in sorted(notes))
    return "\n".join(lines)


def targets_from_tsv(path: str | Path) -> list[BatchTarget]:
    """The accepted targets of ``targets.tsv`` (written by intake)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [BatchTarget(row["target"], row["seq_key"], int(row["length"]))
                for row in csv.DictReader(handle, delimiter="\t")]


def rejected_from_tsv(path: str | Path) -> list[RejectedRecord]:
    """The rejected records of ``rejected.tsv`` (written by intake)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [RejectedRecord(row["target"], row["file"], int(row["line"]) if row["line"] else None, row["reason"])
                for row in csv.DictReader(handle, delimiter="\t")]
