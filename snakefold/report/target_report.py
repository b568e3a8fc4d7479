"""A target's user-facing outputs in ``{RESULTS}/<target>/``, derived from its sequence's work directory.

Several targets may share one distinct sequence (one ``{WORK}/<seq>/``); each gets its own files, with its
own name in the titles and metadata. Written here, every file atomically:

- ``ranked_<i>.pdb`` and ``ranked_<i>.cif`` for every model, best first (i = 0): the relaxed model where
  the relax stage relaxed rank i, the unrelaxed one otherwise; pLDDT in the B-factor column;
- ``pae_<model>.json`` (pTM models) and ``confidence_<model>.json``, AlphaFold DB formats;
- ``plddt.png``, ``pae.png`` (when a pTM model ran), ``coverage.png``;
- ``timings.json``;
- ``ranking.json`` last: the order, every model's scores, parameters and files, and the warning when the
  parameters were untrained. Its presence means the target's outputs are complete.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Sequence

from snakefold.common.atomic import atomic_write_json, atomic_write_text
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Target
from snakefold.common.mmcif_writer import GlobalScore, ModelRecord
from snakefold.report import afdb, plots
from snakefold.report.predictions import ModelPrediction, load_model, load_msa, load_sequence_ranking, relaxed_rank
from snakefold.report.structures import write_ranked_model
from snakefold.report.timings import collect_timings

UNTRAINED_WARNING = plots.UNTRAINED_WARNING
#: Files of earlier runs that this run did not write (a model set that shrank) are removed: they match these.
PER_MODEL_PATTERNS = ("ranked_*.pdb", "ranked_*.cif", "pae_*.json", "confidence_*.json")


def snakefold_version() -> str:
    try:
        return metadata.version("snakefold")
    except metadata.PackageNotFoundError:
        return "unknown"


def _compact_json(path: Path, document: object) -> None:
    atomic_write_text(path, json.dumps(document, separators=(",", ":"), allow_nan=False) + "\n")


def _model_record(target: Target, model: ModelPrediction, rank: int, count: int, metric: str,
                  relaxed: bool) -> ModelRecord:
    params = model.params
    details = [
        f"Target {target.name} (FASTA record {target.record_id}): {target.description or 'no description'}.",
        f"Model run {model.name} (preset {model.scores['preset']}, seed {model.scores['seed']}), rank {rank + 1} "
        f"of {count} by {'pTM' if metric == 'ptm' else 'mean pLDDT'}; mean pLDDT {model.mean_plddt:.2f}"
        + (f", pTM {model.ptm:.3f}" if model.ptm is not None else "") + ".",
        "Relaxed with OpenMM." if relaxed else "Unrelaxed (as predicted).",
        f"Parameters: set '{params['set']}' from {params['path']}.",
        "pLDDT (0-100) per residue is in the B-factor column.",
    ]
    if model.untrained:
        details.append(f"WARNING: {UNTRAINED_WARNING}.")
    scores = [GlobalScore("pLDDT", "pLDDT", "Mean predicted lDDT-Ca over all residues (0-100)", model.mean_plddt)]
    if model.ptm is not None:
        scores.append(GlobalScore("pTM", "pTM", "Predicted TM-score (0-1)", model.ptm))
    return ModelRecord(
        entry_id=target.name,
        title=f"{target.name}: snakefold model {model.name}, rank {rank + 1} of {count}"
              + (" (untrained parameters)" if model.untrained else ""),
        sequence=target.sequence, description=target.description or target.record_id,
        details="\n".join(details), plddt=tuple(float(v) for v in model.plddt), global_scores=tuple(scores),
        software=(("snakefold", snakefold_version(), "AlphaFold2-compatible structure prediction pipeline"),),
    )


def _remove_stale(out_dir: Path, written: set[str]) -> None:
    for pattern in PER_MODEL_PATTERNS:
        for path in out_dir.glob(pattern):
            if path.name not in written:
                path.unlink()


def write_target_report(target: Target, work_dir: str | Path, features: str | Path, out_dir: str | Path,
                        relaxed: Sequence[str | Path] = (), benchmark_dir: str | Path | None = None,
                        dpi: int = 100) -> dict:
    """Write every per-target output; return the ranking.json document."""
    work_dir, out_dir = Path(work_dir), Path(out_dir)
    length = len(target.sequence)
    ranking = load_sequence_ranking(work_dir)
    models = []
    for name in ranking.order:
        model = load_model(work_dir / "predictions" / name, length)
        if model.name != name:
            raise SnakefoldError(f"{model.directory / 'scores.json'}: 'model' is {model.name!r}, but the "
                                 f"directory and the ranking name it {name!r}")
        models.append(model)
    relaxed_by_rank = {relaxed_rank(path): Path(path) for path in relaxed}
    beyond = sorted(rank for rank in relaxed_by_rank if rank >= len(models))
    if beyond:
        raise SnakefoldError(f"{relaxed_by_rank[beyond[0]]}: rank {beyond[0]} was relaxed, but only "
                             f"{len(models)} model(s) were ranked")
    untrained = ranking.untrained or any(model.untrained for model in models)

    out_dir.mkdir(parents=True, exist_ok=True)
    entries, written = [], set()
    for rank, model in enumerate(models):
        is_relaxed = rank in relaxed_by_rank
        files = {"pdb": f"ranked_{rank}.pdb", "cif": f"ranked_{rank}.cif",
                 "pae": None, "confidence": f"confidence_{model.name}.json"}
        record = _model_record(target, model, rank, len(models), ranking.metric, is_relaxed)
        write_ranked_model(relaxed_by_rank.get(rank, model.unrelaxed_pdb), out_dir / files["pdb"],
                           out_dir / files["cif"], record)
        _compact_json(out_dir / files["confidence"], afdb.confidence_document(model.plddt))
        if model.predicted_aligned_error is not None:
            files["pae"] = f"pae_{model.name}.json"
            _compact_json(out_dir / files["pae"],
                          afdb.pae_document(model.predicted_aligned_error, model.max_predicted_aligned_error))
        written.update(name for name in files.values() if name)
        entries.append({
            "rank": rank, "model": model.name, "preset": str(model.scores["preset"]),
            "seed": int(model.scores["seed"]), "ranking_confidence": ranking.ranking_confidence[model.name],
            "mean_plddt": model.mean_plddt, "ptm": model.ptm,
            "max_predicted_aligned_error": model.max_predicted_aligned_error,
            "num_recycles": int(model.scores["num_recycles"]), "relaxed": is_relaxed,
            "params": dict(model.params), "files": files,
        })
    _remove_stale(out_dir, written)

    plots.plot_plddt(out_dir / "plddt.png", target.name, models, untrained, dpi)
    if any(model.predicted_aligned_error is not None for model in models):
        plots.plot_pae(out_dir / "pae.png", target.name, models, untrained, dpi)
    msa = load_msa(features)
    if msa.shape[1] != length:
        raise SnakefoldError(f"{features}: the MSA has {msa.shape[1]} columns; the sequence has {length} residues")
    plots.plot_coverage(out_dir / "coverage.png", target.name, msa, untrained, dpi)

    relaxed_scores = [(rank, path.with_suffix(".json")) for rank, path in relaxed_by_rank.items()
                      if path.with_suffix(".json").exists()]
    atomic_write_json(out_dir / "timings.json", collect_timings(
        target.name, target.seq_key, models, relaxed_scores, Path(benchmark_dir) if benchmark_dir else None))

    document = {
        "target": target.name, "record_id": target.record_id, "description": target.description,
        "sequence": target.sequence, "length": length, "seq_key": target.seq_key, "metric": ranking.metric,
        "msa_depth": int(msa.shape[0]), "order": list(ranking.order), "untrained": untrained,
        "warning": UNTRAINED_WARNING if untrained else None, "models": entries,
    }
    atomic_write_json(out_dir / "ranking.json", document)
    return document
