"""A target's user-facing outputs in ``{RESULTS}/<target>/``, derived from its sequence's work directory.

Several targets may share one distinct sequence (one ``{WORK}/<seq>/``); each gets its own files, with its
own name in the titles and metadata. Written here, every file atomically:

- ``ranked_<i>.pdb`` and ``ranked_<i>.cif`` for every model, best first (i = 0): the relaxed model where
  the relax stage relaxed rank i, the unrelaxed one otherwise; pLDDT in the B-factor column;
- ``pae_<model>.json`` (pTM models) and ``confidence_<model>.json``, AlphaFold DB formats;
- ``plddt.png``, ``pae.png`` (when a pTM model ran), ``coverage.png``;
- ``timings.json``;
- for a complex, ``interfaces.tsv``: the residue contacts across each pair of chains of the best model with
  their mean PAE and pLDDT (:mod:`snakefold.report.interfaces`);
- ``ranking.json``: the order, every model's scores, parameters and files, and the warning when the
  parameters were untrained. Its presence means the target's outputs are complete;
- ``SHA256SUMS`` after every other file: the SHA-256 of each file above, in the ``sha256sum -c`` format
  (:mod:`snakefold.common.checksums`; ``snakefold verify`` checks it). An old one is removed before anything
  else is written, so a directory without it is one whose report did not finish.

A complex (a target with ``chains``) gets the same files: its structures hold the chains A, B, ... (TER after
each; in mmCIF one entity per distinct sequence); the figures mark the chain boundaries (and the coverage
plot the rows paired across chains); ranking.json gives per model its ``iptm``, ``ptm``,
``ranking_confidence`` (0.8 ipTM + 0.2 pTM, AlphaFold-Multimer's ranking), ``chain_pair_iptm`` [C][C] and
each chain's mean pLDDT, and the complex's ``chains`` and ``interface_contacts`` (of the best model).

Files of an earlier run that this run did not write (a model set that shrank, a ``pae.png`` when no pTM
model runs any more, temporary files of a killed job) are removed; other files are left alone and
``snakefold verify`` names them as unexpected.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np

from snakefold.common.atomic import atomic_write_json, atomic_write_text
from snakefold.common.checksums import SUMS_NAME, write_checksums
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Target
from snakefold.common.intermediates import read_intermediate_json
from snakefold.common.mmcif_writer import ChainRecord, GlobalScore, ModelRecord
from snakefold.report import afdb, plots
from snakefold.report.interfaces import interfaces, interfaces_tsv
from snakefold.report.predictions import (
    ModelPrediction,
    SequenceRanking,
    atom_arrays,
    load_model,
    load_msa,
    load_pairing_summary,
    relaxed_rank,
)
from snakefold.report.structures import write_ranked_model
from snakefold.report.timings import collect_timings

UNTRAINED_WARNING = plots.UNTRAINED_WARNING
#: A complex's model scores that its ranking.json repeats per model (scores.json of ``snakefold predict``).
COMPLEX_SCORE_KEYS = ("iptm", "chain_pair_iptm", "chains")
#: Files of earlier runs that this run did not write (a model set that shrank) are removed: they match these.
PER_MODEL_PATTERNS = ("ranked_*.pdb", "ranked_*.cif", "pae_*.json", "confidence_*.json", "interfaces.tsv")
#: Other files of earlier runs removed when this run did not write them: the PAE figure (no pTM model any more)
#: and the temporary files of atomic writes that a killed job left (``.<name>.tmp-*``).
STALE_PATTERNS = ("pae.png", ".*.tmp-*")
#: What each ranking metric is called in the files people read.
METRIC_NAMES = {"plddt": "mean pLDDT", "ptm": "pTM", "iptm+ptm": "0.8 ipTM + 0.2 pTM"}


def snakefold_version() -> str:
    try:
        return metadata.version("snakefold")
    except metadata.PackageNotFoundError:
        return "unknown"


def _compact_json(path: Path, document: object) -> None:
    atomic_write_text(path, json.dumps(document, separators=(",", ":"), allow_nan=False) + "\n")


def _model_record(target: Target, model: ModelPrediction, rank: int, count: int, metric: str,
                  relaxed: bool, relax_failure: str | None = None) -> ModelRecord:
    params = model.params
    details = [
        f"Target {target.name} (FASTA record {target.record_id}): {target.description or 'no description'}.",
        f"Model run {model.name} (preset {model.scores['preset']}, seed {model.scores['seed']}), rank {rank + 1} "
        f"of {count} by {METRIC_NAMES.get(metric, metric)}; mean pLDDT {model.mean_plddt:.2f}"
        + (f", pTM {model.ptm:.3f}" if model.ptm is not None else "")
        + (f", ipTM {model.scores['iptm']:.3f}" if "iptm" in model.scores else "") + ".",
        "Relaxed with OpenMM." if relaxed else
        f"Unrelaxed (as predicted): {relax_failure}." if relax_failure else "Unrelaxed (as predicted).",
        f"Parameters: set '{params['set']}' from {params['path']}.",
        "pLDDT (0-100) per residue is in the B-factor column.",
    ]
    if model.untrained:
        details.append(f"WARNING: {UNTRAINED_WARNING}.")
    scores = [GlobalScore("pLDDT", "pLDDT", "Mean predicted lDDT-Ca over all residues (0-100)", model.mean_plddt)]
    if model.ptm is not None:
        scores.append(GlobalScore("pTM", "pTM", "Predicted TM-score (0-1)", model.ptm))
    if "iptm" in model.scores:
        scores.append(GlobalScore("ipTM", "ipTM", "Interface predicted TM-score over pairs of chains (0-1)",
                                  float(model.scores["iptm"])))
    chains = tuple(ChainRecord(chain.chain_id, chain.sequence, chain.record_id) for chain in target.chains)
    return ModelRecord(
        entry_id=target.name,
        title=f"{target.name}: snakefold model {model.name}, rank {rank + 1} of {count}"
              + (" (untrained parameters)" if model.untrained else ""),
        sequence="".join(chain.sequence for chain in chains) if chains else target.sequence,
        description=target.description or target.record_id, chains=chains,
        details="\n".join(details), plddt=tuple(float(v) for v in model.plddt), global_scores=tuple(scores),
        software=(("snakefold", snakefold_version(), "AlphaFold2-compatible structure prediction pipeline"),),
    )


def _remove_stale(out_dir: Path, written: set[str]) -> None:
    for pattern in PER_MODEL_PATTERNS + STALE_PATTERNS:
        for path in out_dir.glob(pattern):
            if path.name not in written and (path.is_file() or path.is_symlink()):
                path.unlink()


def relaxation_failure(metrics_path: Path) -> str | None:
    """Why the relax stage kept a model unrelaxed (its metrics say ``"relaxed": false``), or None."""
    if not metrics_path.exists():
        return None
    metrics = read_intermediate_json(metrics_path, "the relax metrics")
    if not isinstance(metrics, dict) or metrics.get("relaxed", True) is not False:
        return None
    return str(metrics.get("failure") or "relaxation failed")


def write_interfaces(path: Path, target: Target, model: ModelPrediction) -> int:
    """``interfaces.tsv`` of ``model`` (:mod:`snakefold.report.interfaces`); the residue contacts in all."""
    positions, mask = atom_arrays(model)
    chain_index = np.repeat(np.arange(len(target.chains)), [len(chain.sequence) for chain in target.chains])
    found = interfaces(positions, mask, chain_index, [chain.chain_id for chain in target.chains], model.plddt,
                       model.predicted_aligned_error)
    atomic_write_text(path, interfaces_tsv(found, chain_index))
    return sum(len(interface.pairs) for interface in found)


def write_target_report(target: Target, ranking: SequenceRanking, features: str | Path, out_dir: str | Path,
                        relaxed: Sequence[str | Path] = (), benchmark_dir: str | Path | None = None,
                        dpi: int = 100) -> dict:
    """Write every per-target output from its ranked model runs; return the ranking.json document."""
    out_dir = Path(out_dir)
    length = target.length
    chains = [(chain.chain_id, len(chain.sequence)) for chain in target.chains]
    models = [load_model(ranking.directories[name], length) for name in ranking.order]
    relaxed_by_rank = {relaxed_rank(path): Path(path) for path in relaxed}
    beyond = sorted(rank for rank in relaxed_by_rank if rank >= len(models))
    if beyond:
        raise SnakefoldError(f"{relaxed_by_rank[beyond[0]]}: rank {beyond[0]} was relaxed, but only "
                             f"{len(models)} model(s) were ranked")
    untrained = ranking.untrained or any(model.untrained for model in models)
    relax_failures = {rank: failure for rank, path in relaxed_by_rank.items()
                      if (failure := relaxation_failure(path.with_suffix(".json"))) is not None}
    for rank in relax_failures:
        del relaxed_by_rank[rank]

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / SUMS_NAME).unlink(missing_ok=True)
    entries, written = [], set()
    for rank, model in enumerate(models):
        is_relaxed = rank in relaxed_by_rank
        files = {"pdb": f"ranked_{rank}.pdb", "cif": f"ranked_{rank}.cif",
                 "pae": None, "confidence": f"confidence_{model.name}.json"}
        record = _model_record(target, model, rank, len(models), ranking.metric, is_relaxed,
                               relax_failures.get(rank))
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
            **({"relaxation_failure": relax_failures[rank]} if rank in relax_failures else {}),
            **({key: model.scores[key] for key in COMPLEX_SCORE_KEYS} if target.chains else {}),
        })

    plots.plot_plddt(out_dir / "plddt.png", target.name, models, untrained, dpi, chains)
    written.add("plddt.png")
    if any(model.predicted_aligned_error is not None for model in models):
        plots.plot_pae(out_dir / "pae.png", target.name, models, untrained, dpi, chains)
        written.add("pae.png")
    msa = load_msa(features)
    paired_rows = 0
    if target.chains:
        pairing = load_pairing_summary(features)
        msa, paired_rows = msa[:pairing["msa_rows"]], pairing.get("paired_rows", -1) + 1
    if msa.shape[1] != length:
        raise SnakefoldError(f"{features}: the MSA has {msa.shape[1]} columns; the sequence has {length} residues")
    plots.plot_coverage(out_dir / "coverage.png", target.name, msa, untrained, dpi, chains, paired_rows)
    written.add("coverage.png")
    contacts = None
    if target.chains:
        contacts = write_interfaces(out_dir / "interfaces.tsv", target, models[0])
        written.add("interfaces.tsv")
    _remove_stale(out_dir, written)

    relaxed_scores = [(relaxed_rank(path), Path(path).with_suffix(".json")) for path in relaxed
                      if Path(path).with_suffix(".json").exists()]
    atomic_write_json(out_dir / "timings.json", collect_timings(
        target.name, target.seq_key, models, relaxed_scores, Path(benchmark_dir) if benchmark_dir else None))
    written.add("timings.json")

    document = {
        "target": target.name, "record_id": target.record_id, "description": target.description,
        "sequence": target.sequence, "length": length, "seq_key": target.seq_key, "metric": ranking.metric,
        "msa_depth": int(msa.shape[0]), "order": list(ranking.order), "untrained": untrained,
        "warning": UNTRAINED_WARNING if untrained else None, "models": entries,
        **({"chains": [dict(chain_id=chain.chain_id, record_id=chain.record_id, length=len(chain.sequence))
                       for chain in target.chains], "paired_msa_rows": paired_rows,
            "interface_contacts": contacts} if target.chains else {}),
    }
    atomic_write_json(out_dir / "ranking.json", document)
    written.add("ranking.json")
    write_checksums(out_dir, written)
    return document
