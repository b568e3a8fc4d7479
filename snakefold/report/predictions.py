"""Read the predict stage's outputs for one distinct sequence, checked against their contract.

Per sequence directory ``{WORK}/{seq}``, per model run ``<model>`` = ``<preset>_seed<seed>``, the directory
``predictions/<model>/`` with ``unrelaxed.pdb``, ``scores.json`` and ``outputs.npz`` (float32 arrays:
``plddt`` [L], ``structure_module/final_atom_positions`` [L, 37, 3], ``structure_module/final_atom_mask``
[L, 37], and for pTM presets ``predicted_aligned_error`` [L, L] with ``max_predicted_aligned_error`` []).
Relaxed models: ``relaxed/rank_<i>.pdb`` for the i-th ranked model. The runs are ranked from their scores
where a ranking is used (:func:`rank_model_runs`, :mod:`snakefold.common.ranking`).

Every problem is reported with the file and the key that is wrong: a malformed output is a bug in the
stage that wrote it, and the message must lead there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import read_intermediate_json, read_intermediate_npz
from snakefold.common.ranking import best_first, ranking_confidence

SCORE_KEYS = ("model", "preset", "seed", "mean_plddt", "ptm", "ranking_confidence", "plddt",
              "max_predicted_aligned_error", "num_recycles", "params", "timings")
ATOM_POSITIONS = "structure_module/final_atom_positions"
ATOM_MASK = "structure_module/final_atom_mask"
RELAXED_NAME = re.compile(r"^rank_(\d+)\.pdb$")


def read_json(path: Path, what: str) -> Any:
    return read_intermediate_json(path, what)


def _require_keys(document: Any, keys: tuple[str, ...], path: Path, what: str) -> None:
    if not isinstance(document, dict):
        raise SnakefoldError(f"{path}: {what} must be a JSON object, not {type(document).__name__}")
    missing = [key for key in keys if key not in document]
    if missing:
        raise SnakefoldError(f"{path}: {what} lacks the key(s) {', '.join(missing)}")


@dataclass(frozen=True)
class SequenceRanking:
    """The model runs of a sequence best first, how they were ranked, and where each run's files are."""

    order: tuple[str, ...]
    ranking_confidence: dict[str, float]
    metric: str
    untrained: bool
    directories: dict[str, Path]


@dataclass(frozen=True)
class ModelPrediction:
    """One model run's scores and confidence arrays (coordinates are read on demand, see :func:`atom_arrays`)."""

    name: str
    directory: Path
    scores: dict[str, Any]
    plddt: np.ndarray  # [L] 0-100
    predicted_aligned_error: np.ndarray | None  # [L, L] Angstrom, pTM presets only
    max_predicted_aligned_error: float | None

    @property
    def unrelaxed_pdb(self) -> Path:
        return self.directory / "unrelaxed.pdb"

    @property
    def outputs_npz(self) -> Path:
        return self.directory / "outputs.npz"

    @property
    def mean_plddt(self) -> float:
        return float(self.scores["mean_plddt"])

    @property
    def ptm(self) -> float | None:
        return None if self.scores["ptm"] is None else float(self.scores["ptm"])

    @property
    def params(self) -> dict[str, Any]:
        return self.scores["params"]

    @property
    def untrained(self) -> bool:
        return bool(self.scores["params"]["untrained"])


def _run_score(scores: dict, metric: str, path: Path) -> float:
    if metric == "iptm+ptm":
        if "iptm" not in scores:
            raise SnakefoldError(f"{path}: model {scores['model']} has no ipTM: only the multimer presets, which "
                                 "predict complexes, are ranked by 0.8 ipTM + 0.2 pTM")
        return float(scores["ranking_confidence"])
    if metric == "ptm" and scores["ptm"] is None:
        raise SnakefoldError(f"{path}: model {scores['model']} has no pTM (its preset has no predicted-aligned-error "
                             "head); rank by plddt (config key 'model.rank_by') or use the _ptm presets")
    return float(ranking_confidence(np.asarray(scores["plddt"], np.float64), ptm_value=scores["ptm"],
                                    rank_by=metric))


def rank_model_runs(scores_paths: list[str | Path], metric: str) -> SequenceRanking:
    """The model runs whose ``scores.json`` are at ``scores_paths`` (in the order of the config's runs), ranked
    by ``metric`` (:mod:`snakefold.common.ranking`); each run's directory is its scores' directory."""
    if not scores_paths:
        raise SnakefoldError("no model run to rank: give the scores.json of every model run of the sequence")
    confidence, directories, untrained = {}, {}, False
    for path in map(Path, scores_paths):
        scores = read_json(path, "the scores of a model run")
        _require_keys(scores, ("model", "plddt", "ptm", "params"), path, "scores.json")
        name = str(scores["model"])
        if name in confidence:
            raise SnakefoldError(f"model run {name} given twice: {directories[name] / 'scores.json'} and {path}")
        confidence[name], directories[name] = _run_score(scores, metric, path), path.parent
        _require_keys(scores["params"], ("untrained",), path, "scores.json key 'params'")
        untrained |= bool(scores["params"]["untrained"])
    return SequenceRanking(tuple(best_first(confidence)), confidence, metric, untrained, directories)


def load_model(model_dir: str | Path, sequence_length: int) -> ModelPrediction:
    """Scores, pLDDT and (for pTM presets) PAE of the model run in ``model_dir``, checked for length."""
    model_dir = Path(model_dir)
    scores_path = model_dir / "scores.json"
    scores = read_json(scores_path, "the scores of a model run")
    _require_keys(scores, SCORE_KEYS, scores_path, "scores.json")
    _require_keys(scores["params"], ("set", "path", "untrained"), scores_path, "scores.json key 'params'")
    plddt = np.asarray(scores["plddt"], dtype=np.float64)
    if plddt.shape != (sequence_length,):
        raise SnakefoldError(f"{scores_path}: 'plddt' has {plddt.size} values; the sequence has "
                             f"{sequence_length} residues")
    if not np.all((plddt >= 0) & (plddt <= 100)):
        raise SnakefoldError(f"{scores_path}: 'plddt' values must lie in [0, 100]")
    pae, max_pae = None, None
    if scores["ptm"] is not None:
        outputs = read_intermediate_npz(model_dir / "outputs.npz", "the outputs of a model run")
        if "predicted_aligned_error" not in outputs:
            raise SnakefoldError(f"{model_dir / 'outputs.npz'}: a pTM model's outputs lack "
                                 "'predicted_aligned_error'")
        pae = np.asarray(outputs["predicted_aligned_error"], dtype=np.float64)
        max_pae = float(outputs["max_predicted_aligned_error"])
        if pae.shape != (sequence_length, sequence_length):
            raise SnakefoldError(f"{model_dir / 'outputs.npz'}: 'predicted_aligned_error' has shape {pae.shape}, "
                                 f"not ({sequence_length}, {sequence_length})")
    return ModelPrediction(str(scores["model"]), model_dir, scores, plddt, pae, max_pae)


def atom_arrays(model: ModelPrediction) -> tuple[np.ndarray, np.ndarray]:
    """``final_atom_positions`` [L, 37, 3] and ``final_atom_mask`` [L, 37] of a model run (float64)."""
    outputs = read_intermediate_npz(model.outputs_npz, "the outputs of a model run")
    for key in (ATOM_POSITIONS, ATOM_MASK):
        if key not in outputs:
            raise SnakefoldError(f"{model.outputs_npz}: the key '{key}' is missing")
    return np.asarray(outputs[ATOM_POSITIONS], np.float64), np.asarray(outputs[ATOM_MASK], np.float64)


def relaxed_rank(path: str | Path) -> int:
    """The rank i of a relaxed model file ``rank_<i>.pdb``."""
    match = RELAXED_NAME.match(Path(path).name)
    if match is None:
        raise SnakefoldError(f"{path}: a relaxed model is named rank_<i>.pdb (i = its rank, 0 for the best)")
    return int(match.group(1))


def load_msa(features_path: str | Path) -> np.ndarray:
    """The MSA of the raw features: [N, L] HHblits alphabet ids (gap = 21), the query in row 0."""
    features = read_intermediate_npz(features_path, "the raw features")
    if "msa" not in features:
        raise SnakefoldError(f"{features_path}: the raw features lack the key 'msa'")
    msa = np.asarray(features["msa"])
    if msa.ndim != 2 or msa.shape[0] < 1:
        raise SnakefoldError(f"{features_path}: 'msa' must be [N, L] with the query first, not shape {msa.shape}")
    return msa


def load_pairing_summary(features_path: str | Path) -> dict[str, Any]:
    """The pairing summary beside a complex's merged features (``<key>.summary.json`` for ``<key>.npz``):
    ``msa_rows`` (the real rows of the merged MSA) and, when chains were paired, ``paired_rows``."""
    path = Path(features_path).with_suffix(".summary.json")
    summary = read_json(path, "the pairing summary of a complex")
    _require_keys(summary, ("msa_rows", "chains"), path, "the pairing summary")
    return summary
