"""``snakefold complex-features``: a complex's merged AlphaFold-Multimer features, from AlphaFold2's ``msas/``
directory or from the workflow's cache entries.

With ``--fasta`` and ``--msas``, the FASTA holds the complex's chains in order: one record per chain (a
chain repeated for each copy), or one record whose sequence holds the chains separated by ``:`` (ColabFold's
convention); the chains are named ``A``, ``B``, ... as AlphaFold2 names them (:mod:`snakefold.common.chains`).
Letters other than the 20 amino acids and X are rejected (AlphaFold2 would read them as X in the sequence,
but as other residues in the MSAs). ``--msas`` is AlphaFold2's ``msas/`` directory of that input, read as
:mod:`snakefold.msa.complex_inputs` describes; template hits are featurised from ``--mmcif-dir`` (an empty
``pdb_hits.sto`` gives AlphaFold2's all-zero no-hit template).

With ``--spec`` (the workflow's ``complex_features`` rule), the JSON lists each chain's files
(:class:`snakefold.msa.complex_inputs.ChainInputs`: cache entries of its MSAs, UniProt MSA and template
features, or the files of an ``msas/`` directory), the template featurisation settings (``templates``:
``mmcif_dir``, ``obsolete``, ``filters``; for hits files) and the key ``parts`` of the outputs, which are
then sealed as cache entries.

The chains are paired and merged as AlphaFold-Multimer v2.3.2 does (:mod:`snakefold.msa.multimer`) and
written as ``.npz`` (AlphaFold2's key names, no pickle), atomically; ``--summary`` writes as JSON the inputs
(``fasta`` and ``msas``, or each chain's ``files``), the chains (with their records), the rows paired per chain
and the species that paired them, and ``template_hits``: for
each chain whose hits were featurised here, every template hit tried, whether it was kept and why not.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakefold.common.atomic import atomic_save_npz, atomic_write_json
from snakefold.common.chains import chain_ids
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import read_records
from snakefold.features.raw import TEMPLATE_FEATURES, empty_template_features, load_features
from snakefold.msa.complex_inputs import ChainInputs, alphafold_msas_inputs, complex_chains
from snakefold.msa.multimer import merge_complex
from snakefold.plan.cache import content_key, seal
from snakefold.plan.config import schema_defaults
from snakefold.templates.featurise import HitOutcome, TemplateFeaturizer, parse_obsolete
from snakefold.templates.hhr import read_hhr
from snakefold.templates.hmmsearch import HmmsearchHitFeaturizer, no_hit_template_features, read_hmmsearch_hits
from snakefold.templates.search import template_filters


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = schema_defaults("templates")
    parser.add_argument("--fasta", help="the complex's chains: one FASTA record each, in order, or one record "
                                        "with ':' between chains")
    parser.add_argument("--msas", help="AlphaFold2's msas/ directory (<chain>/uniref90_hits.sto, ...)")
    parser.add_argument("--spec", help="the chains' files as JSON (written by the workflow); replaces --fasta, "
                                       "--msas and the template options")
    parser.add_argument("--out", required=True, help="merged features (.npz)")
    parser.add_argument("--summary", help="JSON summary: chains, paired rows per chain and their species")
    parser.add_argument("--mmcif-dir", help="directory of <pdb id>.cif files the template hits refer to")
    parser.add_argument("--obsolete", help="the PDB's obsolete.dat (none: no obsolete entries)")
    parser.add_argument("--max-template-date", default=defaults["max_template_date"], help="YYYY-MM-DD")
    parser.add_argument("--max-hits", type=int, default=defaults["max_hits"])
    parser.add_argument("--log", help="kalign's messages from realigning template hits (default: discarded)")


class _ChainTemplates:
    """A chain's template features from its ``templates`` file, and what became of the hits featurised here."""

    def __init__(self, featurizers: dict[str, TemplateFeaturizer] | None):
        self.featurizers = featurizers
        self.outcomes: dict[str, list[HitOutcome]] = {}

    def __call__(self, chain: ChainInputs) -> dict[str, np.ndarray]:
        length = len(chain.sequence)
        if chain.templates is None:
            return empty_template_features(length)
        path = Path(chain.templates)
        if path.suffix == ".npz":
            loaded = load_features(path)
            missing = [key for key in TEMPLATE_FEATURES if key not in loaded]
            if missing:
                raise SnakefoldError(f"{path}: the template features of chain {chain.chain_id} lack "
                                     f"{', '.join(missing)}")
            return {key: loaded[key] for key in TEMPLATE_FEATURES}
        kind = "hhr" if path.suffix == ".hhr" else "sto"
        hits = read_hhr(path) if kind == "hhr" else read_hmmsearch_hits(path, chain.sequence)
        self.outcomes[chain.chain_id] = []
        if not hits:
            return (empty_template_features if kind == "hhr" else no_hit_template_features)(length)
        if self.featurizers is None:
            raise SnakefoldError(f"{path}: chain {chain.chain_id} has {len(hits)} template hit(s); give the mmCIF "
                                 "directory they refer to (--mmcif-dir)")
        features, self.outcomes[chain.chain_id] = self.featurizers[kind].featurize(chain.sequence, hits)
        return features


def _featurizers(settings: Mapping[str, Any] | None, kalign_log: Path) -> dict[str, TemplateFeaturizer] | None:
    """The hmmsearch and hhsearch hit featurisers of ``settings`` (mmcif_dir, obsolete, filters); None: none."""
    if settings is None or settings.get("mmcif_dir") is None:
        return None
    filters = template_filters({**schema_defaults("templates"), **settings["filters"]})
    obsolete = parse_obsolete(settings["obsolete"]) if settings.get("obsolete") else {}
    return {"sto": HmmsearchHitFeaturizer(settings["mmcif_dir"], filters, obsolete, kalign_log),
            "hhr": TemplateFeaturizer(settings["mmcif_dir"], filters, obsolete, kalign_log)}


def fasta_chains(path: str | Path) -> list[tuple[str, str, str]]:
    """(chain ID, record ID, sequence) of a complex's FASTA: one record per chain, or one ':' record."""
    records, problems = read_records(Path(path), nonstandard="reject")
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors:
        raise SnakefoldError("; ".join(str(problem) for problem in errors))
    if not records:
        raise SnakefoldError(f"{path}: no chain; the complex's FASTA holds one record per chain, or one record with "
                             "':' between its chains")
    if len(records) == 1 and records[0].chains:
        return [(chain.chain_id, chain.record_id, chain.sequence) for chain in records[0].chains]
    joined = next((record for record in records if record.chains), None)
    if joined is not None:
        raise SnakefoldError(f"{path}:{joined.line}:{joined.record_id} holds chains separated by ':', but the file has "
                             f"{len(records)} records; give one record per chain, or one record with all chains")
    ids = chain_ids(len(records))
    return [(chain_id, record.record_id, record.sequence) for chain_id, record in zip(ids, records)]


def _inputs_and_settings(args: argparse.Namespace) -> tuple[list[ChainInputs], dict[str, Any] | None, dict]:
    """The chains' inputs, the template settings and the spec's key parts ({} without --spec)."""
    if args.spec:
        if args.fasta or args.msas:
            raise SnakefoldError("give either --spec or --fasta with --msas, not both")
        spec = json.loads(args.spec)
        return [ChainInputs.from_spec(chain) for chain in spec["chains"]], spec["templates"], spec["parts"]
    if not (args.fasta and args.msas):
        raise SnakefoldError("give --fasta and --msas (AlphaFold2's msas/ directory), or --spec")
    max_hits = schema_defaults("msa")["max_hits"]
    inputs = alphafold_msas_inputs(args.msas, fasta_chains(args.fasta), max_hits)
    settings = None
    if args.mmcif_dir is not None:
        settings = {"mmcif_dir": args.mmcif_dir, "obsolete": args.obsolete,
                    "filters": {"max_template_date": args.max_template_date, "max_hits": args.max_hits}}
    return inputs, settings, {}


def run(args: argparse.Namespace) -> int:
    inputs, settings, parts = _inputs_and_settings(args)
    if parts and content_key(parts) != Path(args.out).name.split(".")[0]:
        raise SnakefoldError(f"{args.out}: the spec's key parts do not give this file's key; run snakemake again")
    with tempfile.TemporaryDirectory(prefix="complex-features-") as scratch:
        kalign_log = Path(args.log) if args.log else Path(scratch) / "kalign.log"
        templates = _ChainTemplates(_featurizers(settings, kalign_log))
        chains = complex_chains(inputs, templates)
    features, summary = merge_complex(chains)
    source = ({"files": {chain.chain_id: chain.files() for chain in inputs}} if args.spec
              else {"fasta": str(args.fasta), "msas": str(args.msas)})
    summary = {**source, "records": {chain.chain_id: chain.record_id for chain in inputs}, **summary,
               "template_hits": {chain_id: [{"hit": outcome.name, "kept": outcome.kept, "reason": outcome.reason}
                                            for outcome in outcomes]
                                 for chain_id, outcomes in templates.outcomes.items()}}
    atomic_save_npz(args.out, features)
    if args.summary:
        atomic_write_json(args.summary, summary)
    if parts:
        seal(args.out, parts)
        if args.summary:
            seal(args.summary, parts)
    return 0
