"""Regression mode: a target's predictions against a reference structure and against golden outputs.

Per target (config ``regression.targets``), :func:`check_target` runs

- with a ``reference`` structure: lDDT-Cα, TM-score, GDT-TS and Cα RMSD of the best model
  (``ranked_0.pdb``, relaxed when relaxation ran) against it, residues paired by sequence alignment
  (:func:`snakefold.metrics.compare.compare_structures`), and for a complex its DockQ against the reference
  complex, chains mapped by DockQ (:func:`snakefold.metrics.dockq.score_complex`);
- with a ``golden`` directory: the golden checks of :mod:`snakefold.report.golden` on every model run;

and writes a verdict (``regression/targets/<target>.json``). :func:`report_markdown` and
:mod:`snakefold.report.junit` turn the verdicts of all targets into ``regression/report.md`` and
``regression/junit.xml``; :func:`failure_lines` gives the messages the failing run prints, each naming
the target and the metric.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import from_structure_file
from snakefold.report import documents
from snakefold.report.checks import METRICS, Check, evaluate, format_value
from snakefold.report.golden import compare_with_golden
from snakefold.report.target_report import snakefold_version

REFRESH_HINT = ("'snakemake regression_refresh' with the same config (or 'snakefold regression refresh'), "
                "after checking that the change is intended")
#: compare_structures key -> regression metric
REFERENCE_METRICS = {"lddt_ca": "lddt_ca", "tm_score": "tm_score", "gdt_ts": "gdt_ts", "rmsd_ca": "rmsd"}
BEST_MODEL = "best model"


def reference_checks(target: str, best_model: str | Path, reference: str | Path, chain: str | None,
                     thresholds: dict) -> list[Check]:
    """lDDT-Cα, TM-score, GDT-TS and RMSD of the best model against the reference structure."""
    from snakefold.metrics.compare import compare_structures

    model = from_structure_file(best_model)
    reference_protein = from_structure_file(reference, chain_id=chain)
    try:
        scores = compare_structures(model, reference_protein)
    except SnakefoldError as error:
        raise SnakefoldError(f"target {target}: cannot compare {best_model} with the reference {reference}: "
                             f"{error}") from None
    return [evaluate(target, metric, BEST_MODEL, float(scores[key]), thresholds)
            for key, metric in REFERENCE_METRICS.items()]


def dockq_check(target: str, best_model: str | Path, reference: str | Path, thresholds: dict) -> Check:
    """DockQ of the best model of a complex against the reference complex."""
    from snakefold.metrics.dockq import score_complex

    try:
        scored = score_complex(best_model, reference)
    except SnakefoldError as error:
        raise SnakefoldError(f"target {target}: cannot score {best_model} against the reference complex "
                             f"{reference} with DockQ: {error}") from None
    return evaluate(target, "dockq", BEST_MODEL, scored.dockq, thresholds)


def check_target(target: str, sequence: str, best_model: str | Path, work_dir: str | Path, models: Sequence[str],
                 reference: str | Path | None, chain: str | None, golden: str | Path | None,
                 thresholds: dict, is_complex: bool = False) -> dict:
    """The verdict document of one regression target (schema ``regression_target``)."""
    if reference is None and golden is None:
        raise SnakefoldError(f"regression target {target}: give a reference structure, golden outputs, or both")
    checks = []
    if reference is not None:
        checks.extend(reference_checks(target, best_model, reference, chain, thresholds))
        if is_complex:
            checks.append(dockq_check(target, best_model, reference, thresholds))
    if golden is not None:
        checks.extend(compare_with_golden(target, sequence, work_dir, models, golden, thresholds, REFRESH_HINT))
    verdict = {
        "target": target, "passed": all(check.passed for check in checks),
        "reference": None if reference is None else str(reference), "chain": chain,
        "golden": None if golden is None else str(golden), "thresholds": thresholds,
        "checks": [check.as_dict() for check in checks],
    }
    documents.check("regression_target", verdict, f"verdict of regression target {target}")
    return verdict


def read_verdicts(paths: Sequence[str | Path]) -> list[dict]:
    verdicts = []
    for path in paths:
        try:
            verdict = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise SnakefoldError(f"{path}: cannot read the regression verdict ({error})") from None
        documents.check("regression_target", verdict, path)
        verdicts.append(verdict)
    return verdicts


def failure_lines(verdicts: Sequence[dict]) -> list[str]:
    """One message per failed check, each naming the target and the metric."""
    return [check["message"] for verdict in verdicts for check in verdict["checks"] if not check["passed"]]


def _threshold_text(check: dict) -> str:
    if check["threshold"] is None:
        return "-"
    return f"{'≥' if check['bound'] == 'min' else '≤'} {format_value(check['metric'], check['threshold'])}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(verdicts: Sequence[dict]) -> str:
    """``regression/report.md``: the overall result, every failure, and every check per target."""
    checks = [check for verdict in verdicts for check in verdict["checks"]]
    failed = [check for check in checks if not check["passed"]]
    failed_targets = [verdict["target"] for verdict in verdicts if not verdict["passed"]]
    lines = ["# snakefold regression report", ""]
    if not verdicts:
        lines.append("**No regression targets.** List them under the config key `regression.targets`.")
    elif failed:
        lines.append(f"**Result: FAILED.** {len(failed)} of {len(checks)} checks failed, in "
                     f"{len(failed_targets)} of {len(verdicts)} target(s): {', '.join(failed_targets)}.")
    else:
        lines.append(f"**Result: passed.** All {len(checks)} checks of {len(verdicts)} target(s) passed.")
    lines += ["", f"Written {time.strftime('%Y-%m-%d %H:%M:%S %z')} by snakefold {snakefold_version()}. "
              "lDDT-Cα, TM-score and GDT-TS are higher-is-better (GDT-TS in percent); RMSD and deviations are "
              "lower-is-better. Deviations compare every model run with its golden output (no superposition).", ""]
    if failed:
        lines += ["## Failures", ""]
        lines += [f"- {_cell(check['message'])}" for check in failed]
        lines.append("")
    lines += ["## Targets", ""]
    for verdict in verdicts:
        sources = []
        if verdict["reference"]:
            chain = f", chain {verdict['chain']}" if verdict["chain"] else ""
            sources.append(f"reference structure `{verdict['reference']}`{chain}")
        if verdict["golden"]:
            sources.append(f"golden outputs `{verdict['golden']}`")
        lines += [f"### {verdict['target']}: {'passed' if verdict['passed'] else 'FAILED'}", "",
                  f"Compared with {' and '.join(sources)}.", "",
                  "| metric | subject | value | threshold | result |", "|---|---|---|---|---|"]
        for check in verdict["checks"]:
            result = "ok" if check["passed"] else "**FAILED**"
            value = format_value(check["metric"], check["value"]) if check["metric"] in METRICS else "-"
            if not check["passed"] and check["value"] is None:
                result += f": {_cell(check['message'].split(': ', 2)[-1])}"
            lines.append(f"| {check['metric']} | {_cell(check['subject'])} | {value} | {_threshold_text(check)} "
                         f"| {result} |")
        lines.append("")
    return "\n".join(lines)
