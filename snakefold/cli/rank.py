"""``snakefold rank``: order the model runs of one sequence by confidence, best first.

Reads each run's scores.json and writes ``ranking.json`` (the predict-stage contract): ``order`` (model
names, best first), ``ranking_confidence`` (model -> score), ``metric`` and ``untrained`` (true when any
run used untrained parameters). The score is the mean pLDDT (``--metric plddt``, AlphaFold2's monomer
ranking) or 100 x pTM (``--metric ptm``), both on a 0-100 scale
(:func:`snakefold.model.confidence.ranking_confidence`); for complexes (``--metric iptm+ptm``) it is
AlphaFold-Multimer's 0.8 ipTM + 0.2 pTM (0-1), as the multimer runs' scores.json give it. Equal scores
keep the order the runs were given in.

    snakefold rank --metric plddt --out work/seq/ranking.json work/seq/predictions/*/scores.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import seal
from snakefold.model.confidence import ranking_confidence

SCORE_KEYS = ("model", "plddt", "ptm", "params")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scores", nargs="+", help="scores.json of every model run of the sequence")
    parser.add_argument("--metric", choices=("plddt", "ptm", "iptm+ptm"), default="plddt",
                        help="plddt: mean pLDDT (default, as AlphaFold2's monomer models); ptm: predicted TM-score; "
                             "iptm+ptm: 0.8 ipTM + 0.2 pTM (complexes, as AlphaFold-Multimer)")
    parser.add_argument("--out", required=True, help="ranking.json to write")


def read_scores(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            scores = json.load(handle)
    except FileNotFoundError:
        raise SnakefoldError(f"{path}: the scores of a model run are missing") from None
    except ValueError as error:
        raise SnakefoldError(f"{path}: the scores are not valid JSON ({error})") from None
    missing = [key for key in SCORE_KEYS if key not in scores] if isinstance(scores, dict) else list(SCORE_KEYS)
    if missing:
        raise SnakefoldError(f"{path}: the scores lack {', '.join(missing)}; predict the model again")
    return scores


def score(scores: dict, metric: str, path: str) -> float:
    if metric == "iptm+ptm":
        if "iptm" not in scores:
            raise SnakefoldError(f"{path}: model {scores['model']} has no ipTM: only the multimer presets, which "
                                 f"predict complexes, are ranked by 0.8 ipTM + 0.2 pTM")
        return float(scores["ranking_confidence"])
    if metric == "ptm" and scores["ptm"] is None:
        raise SnakefoldError(f"{path}: model {scores['model']} has no pTM (its preset has no predicted-aligned-error "
                             f"head); rank by plddt (config key 'model.rank_by') or use the _ptm presets")
    return float(ranking_confidence(np.asarray(scores["plddt"], np.float64), ptm_value=scores["ptm"],
                                    rank_by=metric))


def ranking(paths: list[str], metric: str) -> dict:
    """The ranking.json document of the runs whose scores are at ``paths``."""
    runs = [(path, read_scores(path)) for path in paths]
    names = [scores["model"] for _, scores in runs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SnakefoldError(f"model run(s) {', '.join(duplicates)} given twice: {', '.join(paths)}")
    confidence = {scores["model"]: score(scores, metric, path) for path, scores in runs}
    order = sorted(names, key=lambda name: -confidence[name])
    return {"order": order, "ranking_confidence": confidence, "metric": metric,
            "untrained": any(bool(scores["params"].get("untrained")) for _, scores in runs)}


def run(args: argparse.Namespace) -> int:
    document = ranking(args.scores, args.metric)
    atomic_write_json(args.out, document)
    seal(args.out)
    best = document["order"][0]
    print(f"best of {len(document['order'])}: {best} ({args.metric} {document['ranking_confidence'][best]:.2f})")
    return 0
