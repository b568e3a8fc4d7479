"""``snakefold features``: the raw AlphaFold2 feature dict of one sequence, as a sealed ``.npz`` cache entry.

The workflow passes ``--spec`` JSON: the query sequence and its description, the MSA files in merge order
(each ``{name, path, format}``; none for a single-sequence MSA), the template features file or null
(zero templates), and the parts of the entry's cache key. The job parses the MSAs, checks each was searched
with this sequence, merges them (:mod:`snakefold.msa.features`), adds sequence and template features
(:mod:`snakefold.features.raw`), writes the ``.npz`` atomically and seals it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.features.raw import (
    TEMPLATE_FEATURES,
    check_raw_features,
    empty_template_features,
    load_features,
    save_features,
    sequence_features,
)
from snakefold.msa.features import make_msa_features
from snakefold.msa.formats import read_msa, single_sequence_msa
from snakefold.plan.cache import content_key, seal


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", required=True, help="what to assemble, as JSON (written by the workflow)")
    parser.add_argument("--output", required=True, help="the feature file to write (<key>.npz)")
    parser.add_argument("--log", help="append a summary (rows of each MSA, rows kept, templates) here")


def template_features(path: str | None, num_res: int) -> dict[str, np.ndarray]:
    if path is None:
        return empty_template_features(num_res)
    loaded = load_features(path)
    missing = [key for key in TEMPLATE_FEATURES if key not in loaded]
    if missing:
        raise SnakefoldError(f"{path}: the template features lack {', '.join(missing)}")
    return {key: loaded[key] for key in TEMPLATE_FEATURES}


def raw_features(spec: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], list[str]]:
    """The raw feature dict the spec describes, and a summary of what went into it (one line per MSA)."""
    sequence, description = spec["sequence"], spec["description"]
    msas, names, summary = [], [], []
    for entry in spec["msas"]:
        msa = read_msa(entry["path"], entry["format"])
        if msa.query.replace("-", "") != sequence:
            raise SnakefoldError(f"{entry['path']} (MSA '{entry['name']}'): its first row is not this target's "
                                 f"sequence ({len(sequence)} residues, starting {sequence[:20]!r})")
        msas.append(msa)
        names.append(f"{entry['name']} ({entry['path']})")
        summary.append(f"MSA {entry['name']}: {len(msa)} rows from {entry['path']}")
    if not msas:
        msas, names = [single_sequence_msa(sequence, description)], ["single sequence"]
        summary.append("MSA: the query alone (single_sequence)")
    features = {**sequence_features(sequence, description), **make_msa_features(msas, names),
                **template_features(spec["templates"], len(sequence))}
    check_raw_features(features, "the assembled features")
    summary.append(f"merged MSA: {features['msa'].shape[0]} distinct rows over {len(sequence)} residues; "
                   f"templates: {features['template_aatype'].shape[0]}")
    return features, summary


def run(args: argparse.Namespace) -> int:
    spec = json.loads(args.spec)
    output = Path(args.output)
    if content_key(spec["parts"]) != output.name.split(".")[0]:
        raise SnakefoldError(f"{output.name}: the spec's key parts do not give this file's key; run snakemake again")
    features, summary = raw_features(spec)
    save_features(output, features)
    seal(output, spec["parts"])
    if args.log:
        with open(args.log, "a", encoding="utf-8") as log:
            log.write("".join(f"{line}\n" for line in summary))
    return 0
