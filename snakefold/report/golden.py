"""Golden outputs: a frozen copy of a target's raw predictions, to detect drift between runs.

A golden directory holds ``manifest.json`` (target, sequence, when and with which snakefold version it was
made, and per model run its parameter set and file) and one ``<model>.npz`` per model run with
``final_atom_positions`` [L, 37, 3], ``final_atom_mask`` [L, 37] and ``plddt`` [L] (float32, as the
predict stage wrote them). It is written only on purpose (:func:`write_golden`, by ``snakefold regression
refresh`` or the ``regression_refresh`` rule), replacing the old directory atomically.

:func:`compare_with_golden` checks a run against it: the same sequence, the same model runs, the same
parameter sets, then per model run the largest atom displacement (Å, no superposition: the same parameters
give the same frame) and the largest pLDDT difference, each against its threshold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from snakefold.common.atomic import atomic_dir, atomic_save_npz
from snakefold.common.errors import SnakefoldError
from snakefold.report import documents
from snakefold.report.checks import Check, evaluate, failure
from snakefold.report.predictions import ModelPrediction, atom_arrays, load_model
from snakefold.report.target_report import snakefold_version

MANIFEST = "manifest.json"


def _run_models(work_dir: Path, models: Sequence[str], length: int) -> list[ModelPrediction]:
    return [load_model(work_dir / "predictions" / name, length) for name in models]


def _params_identity(params: dict) -> dict:
    return {"set": params["set"], "untrained": bool(params["untrained"])}


def write_golden(target: str, sequence: str, work_dir: str | Path, models: Sequence[str],
                 golden_dir: str | Path) -> dict:
    """Freeze the raw predictions of the model runs ``models`` in ``work_dir`` ({WORK}/<seq>) as ``golden_dir``;
    return the manifest."""
    work_dir, golden_dir = Path(work_dir), Path(golden_dir)
    runs = _run_models(work_dir, models, len(sequence))
    manifest = {"target": target, "sequence": sequence, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "snakefold_version": snakefold_version(), "models": {}}
    with atomic_dir(golden_dir) as staging:
        for model in runs:
            positions, mask = atom_arrays(model)
            atomic_save_npz(staging / f"{model.name}.npz", {
                "final_atom_positions": positions.astype(np.float32), "final_atom_mask": mask.astype(np.float32),
                "plddt": model.plddt.astype(np.float32)})
            manifest["models"][model.name] = {"file": f"{model.name}.npz", "params": _params_identity(model.params),
                                              "mean_plddt": model.mean_plddt}
        documents.check("golden_manifest", manifest, staging / MANIFEST)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def read_manifest(golden_dir: Path) -> dict:
    path = golden_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise SnakefoldError(f"{path}: not valid JSON ({error})") from None
    documents.check("golden_manifest", manifest, path)
    return manifest


def max_coordinate_deviation(positions: np.ndarray, mask: np.ndarray, golden_positions: np.ndarray) -> float:
    """The largest distance (Å) between an atom and its golden position, over the atoms present ([L, 37])."""
    distances = np.linalg.norm(positions - golden_positions, axis=-1)
    return float(np.max(np.where(mask > 0.5, distances, 0.0)))


def compare_with_golden(target: str, sequence: str, work_dir: str | Path, models: Sequence[str],
                        golden_dir: str | Path, thresholds: dict, refresh_hint: str) -> list[Check]:
    """Every golden check of one target: set membership, parameters, then coordinates and pLDDT per model."""
    work_dir, golden_dir = Path(work_dir), Path(golden_dir)
    if not (golden_dir / MANIFEST).is_file():
        return [failure(target, "golden_outputs", "golden outputs",
                        f"no golden outputs at {golden_dir} (no {MANIFEST}); make them on purpose with "
                        f"{refresh_hint}")]
    manifest = read_manifest(golden_dir)
    if manifest["sequence"] != sequence:
        return [failure(target, "golden_outputs", "golden outputs",
                        f"the golden outputs at {golden_dir} were made for another sequence "
                        f"({len(manifest['sequence'])} residues, target {manifest['target']}); refresh them with "
                        f"{refresh_hint} if the sequence changed on purpose")]
    runs = {model.name: model for model in _run_models(work_dir, models, len(sequence))}
    checks = []
    for name in sorted(set(manifest["models"]) - set(runs)):
        checks.append(failure(target, "golden_outputs", name,
                              f"model run {name} has golden outputs but was not predicted in this run"))
    for name in sorted(set(runs) - set(manifest["models"])):
        checks.append(failure(target, "golden_outputs", name,
                              f"model run {name} was predicted but has no golden outputs; refresh with {refresh_hint}"))
    for name in sorted(set(runs) & set(manifest["models"])):
        model, golden = runs[name], manifest["models"][name]
        used = _params_identity(model.params)
        if used != golden["params"]:
            checks.append(failure(target, "parameters", name,
                                  f"parameters of {name} differ from those of the golden outputs: set "
                                  f"'{used['set']}' (untrained: {used['untrained']}) in this run, "
                                  f"'{golden['params']['set']}' (untrained: {golden['params']['untrained']}) "
                                  f"in {golden_dir}; golden outputs compare only runs with the same parameters"))
        positions, mask = atom_arrays(model)
        with np.load(golden_dir / golden["file"], allow_pickle=False) as frozen:
            golden_positions = np.asarray(frozen["final_atom_positions"], np.float64)
            golden_mask = np.asarray(frozen["final_atom_mask"], np.float64)
            golden_plddt = np.asarray(frozen["plddt"], np.float64)
        if golden_positions.shape != positions.shape or not np.array_equal(golden_mask > 0.5, mask > 0.5):
            checks.append(failure(target, "max_coordinate_deviation", name,
                                  f"the atoms of {name} differ from those of its golden output "
                                  f"({int(mask.sum())} atoms now, {int(golden_mask.sum())} in {golden_dir})"))
        else:
            checks.append(evaluate(target, "max_coordinate_deviation", name,
                                   max_coordinate_deviation(positions, mask, golden_positions), thresholds))
        checks.append(evaluate(target, "max_plddt_deviation", name,
                               float(np.max(np.abs(model.plddt - golden_plddt))), thresholds))
    return checks
