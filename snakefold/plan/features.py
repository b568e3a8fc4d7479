"""The features stage's plan: raw features per distinct single-chain sequence, merged features per complex.

- ``features`` (one job per distinct sequence): AlphaFold2's feature dict of the sequence, its MSAs in merge
  order and its template features, in ``{cache}/features/<key>.npz``, keyed by the sequence, the MSAs' keys
  and the template entry (:data:`FEATURES_FORMAT` bumps the key when the features written change).
- ``complex_features`` (one job per complex): the complex's chains paired and merged as AlphaFold-Multimer
  v2.3.2 does, in ``{cache}/complex_features/<key>.npz`` with its pairing summary ``<key>.summary.json``,
  keyed by the chains' inputs' keys in chain order (copies included) and :data:`PAIRING_SETTINGS`.

:class:`FeatureStage` holds the planned jobs; its methods are the rules' input and parameter functions (a
features job's wildcard ``{fkey}``, a complex_features job's ``{xkey}``). The plan of the run
(:mod:`snakefold.plan.run`) fills it from the MSA and template stages' entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from snakefold.common.fasta import Target
from snakefold.common.snakemake_internals import job_functions
from snakefold.msa import multimer
from snakefold.plan.layout import Layout

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
