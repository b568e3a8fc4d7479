"""The features stage's plan: raw features per distinct single-chain sequence, merged features per complex.

- ``features`` (one job per distinct sequence): AlphaFold2's feature dict of the sequence, its MSAs in merge
  order and its template features, in ``{cache}/features/<key>.npz``, keyed by the sequence, the MSAs' keys
  and the template entry (:data:`FEATURES_FORMAT` bumps the key when the features written change).
- ``complex_features`` (one job per complex): the complex's chains paired and merged as AlphaFold-Multimer
  v2.3.2 does, in ``{cache}/complex_features/<key>.npz`` with its pairing summary ``<key>.summary.json``,
  keyed by the chains' inputs' keys in chain order (copies included) and :data:`PAIRING_SETTINGS`.

:class:`FeatureStage` holds the planned jobs; its methods are the rules' input and parameter functions (a
features job's wildcard ``{fkey}``, a complex_features job's ``{xkey}``). :func:`plan_features` and
:func:`plan_complex_features` fill it from the MSA and template stages' entries (in msa.mode precomputed, a
complex's chains from AlphaFold2's own ``<precomputed_dir>/<complex>/msas/``: :mod:`snakefold.msa.complex_inputs`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Target, sequence_key
from snakefold.common.hashing import file_sha256
from snakefold.common.snakemake_internals import job_functions
from snakefold.install.databases import MULTIMER_TEMPLATE_DATABASES, fingerprint
from snakefold.msa import multimer
from snakefold.msa.complex_inputs import ChainInputs, MsaFile, alphafold_msas_inputs, check_queries
from snakefold.plan.cache import content_key
from snakefold.plan.layout import Layout
from snakefold.plan.searches import SearchStage
from snakefold.plan.templates import TemplateStage, pdb_seqres_database_problems, pdb_seqres_settings
from snakefold.tools.kalign import kalign_version

#: Bumped when the features written for the same inputs change, so old cache entries are not reused.
FEATURES_FORMAT = 1
#: Likewise for a complex's merged features and pairing summary.
COMPLEX_FEATURES_FORMAT = 1
#: What the merged features of a complex depend on besides its chains' files (AlphaFold-Multimer v2.3.2's).
PAIRING_SETTINGS = {"method": "alphafold-multimer-v2.3.2", "msa_crop_size": multimer.MSA_CROP_SIZE,
                    "max_templates": multimer.MAX_TEMPLATES, "min_msa_rows": multimer.MIN_MSA_ROWS}
#: A complex_features job's two entries.
COMPLEX_SUFFIXES = ("npz", "summary.json")


@dataclass(frozen=True)
class FeatureJob:
    """One features job: the sequence and its spec for ``snakefold features --spec``."""

    seq: str
    spec: str


@dataclass(frozen=True)
class ComplexFeatureJob:
    """One complex_features job: the complex, the files it reads, its spec for ``snakefold complex-features``."""

    target: str
    inputs: tuple[str, ...]
    spec: str


@job_functions
@dataclass(repr=False)
class FeatureStage:
    """The planned features and complex_features jobs of a batch."""

    #: seq -> sequence of every distinct single-chain sequence; name -> complex
    sequences: Mapping[str, str]
    complexes: Mapping[str, Target]
    layout: Layout
    #: what each input function calls first (the plan's problems stop the run)
    ready: Callable[[], None]
    #: seq -> key; key -> job
    keys: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, FeatureJob] = field(default_factory=dict)
    #: complex name -> key; key -> job
    complex_keys: dict[str, str] = field(default_factory=dict)
    complex_jobs: dict[str, ComplexFeatureJob] = field(default_factory=dict)

    def features(self, seq: str) -> str:
        """The raw features of the single-chain sequence ``seq``."""
        return self.layout.features_entry(self.keys[seq])

    def complex_features(self, name: str, suffix: str = "npz") -> str:
        """The merged features (or, by ``suffix``, the pairing summary) of the complex ``name``."""
        return self.layout.complex_features_entry(self.complex_keys[name], suffix)

    def all_features(self) -> list[str]:
        """Every single-chain sequence's raw features and every complex's merged features and summary."""
        return ([self.features(seq) for seq in self.keys]
                + [self.layout.complex_features_entry(key, suffix) for key in self.complex_keys.values()
                   for suffix in COMPLEX_SUFFIXES])

    def add(self, seq: str, key: str, spec: dict) -> str:
        """Plan the features job of ``seq``; returns its entry."""
        self.keys[seq] = key
        self.jobs[key] = FeatureJob(seq, json.dumps(spec, sort_keys=True))
        return self.layout.features_entry(key)

    def add_complex(self, name: str, key: str, inputs: tuple[str, ...], spec: dict) -> list[str]:
        """Plan the complex_features job of the complex ``name``; returns its entries."""
        self.complex_keys[name] = key
        self.complex_jobs[key] = ComplexFeatureJob(name, inputs, json.dumps(spec, sort_keys=True))
        return [self.layout.complex_features_entry(key, suffix) for suffix in COMPLEX_SUFFIXES]

    # the features rule
    def inputs(self, wildcards) -> list[str]:
        self.ready()
        spec = json.loads(self.jobs[wildcards.fkey].spec)
        return [entry["path"] for entry in spec["msas"]] + ([spec["templates"]] if spec["templates"] else [])

    def spec(self, wildcards) -> str:
        return self.jobs[wildcards.fkey].spec

    def length(self, wildcards) -> int:
        return len(self.sequences[self.jobs[wildcards.fkey].seq])

    # the complex_features rule
    def complex_inputs(self, wildcards) -> list[str]:
        self.ready()
        return list(self.complex_jobs[wildcards.xkey].inputs)

    def complex_spec(self, wildcards) -> str:
        return self.complex_jobs[wildcards.xkey].spec

    def complex_length(self, wildcards) -> int:
        return self.complexes[self.complex_jobs[wildcards.xkey].target].length


def plan_features(stage: FeatureStage, searches: SearchStage, template_features: Callable[[str], str | None],
                  entry: Callable[[str], str]) -> None:
    """One content-keyed entry per sequence: the sequence, its MSAs' keys in merge order, its templates."""
    for seq, sequence in stage.sequences.items():
        msas = searches.entries.get(seq, [])
        templates = template_features(seq)
        parts = {"kind": "features", "format": FEATURES_FORMAT, "sequence": sequence, "description": seq,
                 "msas": [[msa.name, msa.key] for msa in msas],
                 "templates": Path(templates).name if templates else None}
        key = content_key(parts)
        spec = {"sequence": sequence, "description": seq, "templates": templates, "parts": parts,
                "msas": [{"name": msa.name, "path": msa.path, "format": msa.format} for msa in msas]}
        entry(stage.add(seq, key, spec))


def plan_complex_features(stage: FeatureStage, searches: SearchStage, chain_templates: TemplateStage, config: dict,
                          layout: Layout, entry: Callable[[str], str]) -> list[str]:
    """One content-keyed entry per complex: its chains' inputs' keys in chain order and the pairing settings; the
    problems found (a complex's precomputed files)."""
    precomputed = searches.msa.mode == "precomputed"
    problems: list[str] = []
    template_spec, template_identity = None, None
    if precomputed and config["templates"]["enabled"]:
        problems = pdb_seqres_database_problems(config, layout.verified_databases(),
                                                names=("pdb_mmcif", "obsolete_pdbs"))
        if problems:
            return problems
        template_spec, template_identity = _precomputed_template_settings(config)
    for target in stage.complexes.values():
        try:
            inputs, keys = (_precomputed_chain_inputs(target, searches.msa.precomputed_dir, config) if precomputed
                            else _searched_chain_inputs(target, searches, chain_templates))
        except SnakefoldError as error:
            problems.append(f"complex '{target.name}' ({target.path}, line {target.line}): {error}; config key "
                            "'msa.precomputed_dir' (AlphaFold2's msas/ directory of each complex goes in "
                            "<precomputed_dir>/<complex>/msas/)")
            continue
        parts = {"kind": "complex_features", "format": COMPLEX_FEATURES_FORMAT, "pairing": PAIRING_SETTINGS,
                 "chains": keys, "templates": template_identity}
        key = content_key(parts)
        spec = {"parts": parts, "chains": [chain.to_spec() for chain in inputs], "templates": template_spec}
        files = tuple(dict.fromkeys(path for chain in inputs for path in chain.files()))
        for path in stage.add_complex(target.name, key, files, spec):
            entry(path)
    return problems


def _searched_chain_inputs(target: Target, searches: SearchStage,
                           chain_templates: TemplateStage) -> tuple[list[ChainInputs], list[dict[str, Any]]]:
    """A complex's chains' cache entries (MSAs, UniProt MSA, template features) and their keys, chain by chain."""
    heteromer = len({chain.sequence for chain in target.chains}) > 1
    inputs, keys = [], []
    for chain in target.chains:
        seq = chain.seq_key
        msas = searches.entries.get(seq, [])
        uniprot = searches.pairing.get(seq) if heteromer else None
        template_key = chain_templates.keys.get(seq)
        templates = chain_templates.features(seq) if template_key else None
        inputs.append(ChainInputs(chain.chain_id, chain.record_id, chain.sequence,
                                  tuple(MsaFile(msa.name, msa.path, msa.format) for msa in msas),
                                  MsaFile(uniprot.name, uniprot.path, uniprot.format) if uniprot else None,
                                  templates))
        keys.append({"chain_id": chain.chain_id, "record_id": chain.record_id, "seq": seq,
                     "msas": [[msa.name, msa.key] for msa in msas], "uniprot": uniprot.key if uniprot else None,
                     "templates": template_key})
    return inputs, keys


def _precomputed_template_settings(config: dict) -> tuple[dict[str, Any], dict[str, Any]]:
    """How precomputed template hits are featurised (for the spec) and its key parts."""
    settings = pdb_seqres_settings(config)
    filters = {name: config["templates"][name] for name in
               ("max_template_date", "max_hits", "max_subsequence_ratio", "min_align_ratio", "min_template_length")}
    spec = {"mmcif_dir": settings.mmcif_dir, "obsolete": settings.obsolete, "filters": filters}
    identity = {**filters, "kalign": kalign_version(),
                "mmcif_dir": fingerprint(MULTIMER_TEMPLATE_DATABASES["pdb_mmcif"], settings.mmcif_dir),
                "obsolete": fingerprint(MULTIMER_TEMPLATE_DATABASES["obsolete_pdbs"], settings.obsolete)}
    return spec, identity


def _precomputed_chain_inputs(target: Target, precomputed_dir: str,
                              config: dict) -> tuple[list[ChainInputs], list[dict[str, Any]]]:
    """A complex's chains' files in AlphaFold2's ``<precomputed_dir>/<complex>/msas/`` and their SHA-256s."""
    chains = [(chain.chain_id, chain.record_id, chain.sequence) for chain in target.chains]
    inputs = alphafold_msas_inputs(Path(precomputed_dir, target.name, "msas"), chains, config["msa"]["max_hits"],
                                   templates=config["templates"]["enabled"])
    problems = check_queries(inputs)
    if problems:
        raise SnakefoldError("; ".join(problems))
    keys = [{"chain_id": chain.chain_id, "record_id": chain.record_id, "seq": sequence_key(chain.sequence),
             "files": [[Path(path).name, file_sha256(path)] for path in chain.files()]} for chain in inputs]
    return inputs, keys
