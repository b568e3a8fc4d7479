"""The report stage's plan: what the report job of a single-chain target and of a complex reads and writes.

One report rule is declared per kind of target (``workflow/rules/report.smk``: ``report_target`` for single
chains, ``report_complex`` for complexes), both from :class:`ReportKind`, which also lists a given target's
files for the rules that ask for them (``all``, ``completed``). The two kinds write into the same place,
``{results}/<name>/``, so their rules are told apart by the ``{target}`` wildcard's constraint:
:func:`kind_wildcards` names the targets of the smaller kind and has the other rule take every name but
those. Snakemake copies a constraint into every file pattern of its rule and rewrites those patterns for
every job, so a constraint naming all the targets of a batch would cost each job time in proportion to the
batch: planning a batch of N would take N^2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakefold.common.checksums import SUMS_NAME
from snakefold.common.fasta import Target
from snakefold.common.snakemake_internals import job_functions
from snakefold.common.target_record import record_json
from snakefold.plan.features import FeatureStage
from snakefold.plan.layout import TARGET_NAME, Layout, alternatives
from snakefold.plan.predict import PredictStage

#: The report stage's figures, in the order they are listed; pae.png only where some model has a PAE head.
FIGURES = ("plddt", "coverage", "pae")


@dataclass(frozen=True)
class ReportKind:
    """What the report job of one kind of target writes into the target's directory, and its rule's name."""

    rule: str
    #: the Snakemake report's category of its figures and the label naming the target there
    category: str
    label: str
    #: the model runs ('<preset>_seed<seed>') ranked, and those of them with a PAE head
    models: tuple[str, ...]
    pae_models: tuple[str, ...]
    interfaces: bool

    @property
    def figures(self) -> tuple[str, ...]:
        return tuple(figure for figure in FIGURES if figure != "pae" or self.pae_models)

    def outputs(self, directory: str) -> dict[str, str | list[str]]:
        """The rule's named outputs in ``directory`` (figures apart: :meth:`figure_files`)."""
        outputs: dict[str, str | list[str]] = {
            "ranking": f"{directory}/ranking.json", "timings": f"{directory}/timings.json",
            "checksums": f"{directory}/SHA256SUMS",
            "structures": [f"{directory}/ranked_{rank}.{ext}" for rank in range(len(self.models))
                           for ext in ("pdb", "cif")],
            "confidence": [f"{directory}/confidence_{model}.json" for model in self.models],
            "pae_json": [f"{directory}/pae_{model}.json" for model in self.pae_models],
        }
        if self.interfaces:
            outputs["interfaces"] = f"{directory}/interfaces.tsv"
        return outputs

    def figure_files(self, directory: str) -> list[tuple[str, str]]:
        """(figure, path) of each figure in ``directory``."""
        return [(figure, f"{directory}/{figure}.png") for figure in self.figures]

    def files(self, directory: str) -> list[str]:
        """Every file the report writes in ``directory``, ranking.json first."""
        outputs = self.outputs(directory)
        interfaces = outputs.pop("interfaces", None)
        paths = [path for value in outputs.values() for path in ([value] if isinstance(value, str) else value)]
        return paths + [path for _, path in self.figure_files(directory)] + ([interfaces] if interfaces else [])


def kind_wildcards(singles: list[str], complexes: list[str]) -> tuple[str, str]:
    """The ``{target}`` constraints of the two report rules, each as long as the smaller kind's names.

    The smaller kind's rule takes exactly its names; the other's takes any target name that is not one of them
    (a name followed by a character a name cannot hold, such as the '/' of ``<name>/ranking.json``)."""
    if len(singles) <= len(complexes):
        return alternatives(singles), _all_but(singles)
    return _all_but(complexes), alternatives(complexes)


def _all_but(names: list[str]) -> str:
    if not names:
        return TARGET_NAME
    return f"(?!(?:{alternatives(names)})(?![A-Za-z0-9._-])){TARGET_NAME}"


@job_functions
@dataclass(repr=False)
class ReportStage:
    """The report, pulldown and default rules' functions (rules read ``PLAN.report.<name>``)."""

    layout: Layout
    targets: dict[str, Target]
    complexes: dict[str, Target]
    #: the complexes of the pulldown screen (bait x prey), in the order they were planned
    pulldown_pairs: list[Target]
    predict: PredictStage
    features: FeatureStage
    #: what each input function calls first (the plan's problems stop the run)
    ready: Callable[[], None]

    def target(self, name: str) -> Target:
        """The single-chain target or complex called ``name``."""
        return self.targets[name] if name in self.targets else self.complexes[name]

    @functools.cached_property
    def kinds(self) -> dict[str, ReportKind]:
        """The report rule of single-chain targets ("target") and of complexes ("complex")."""
        complex_models = tuple(self.predict.complex_model_names)
        return {"target": ReportKind("report_target", "Targets", "target", tuple(self.predict.model_names),
                                     tuple(self.predict.ptm_model_names), interfaces=False),
                "complex": ReportKind("report_complex", "Complexes", "complex", complex_models, complex_models,
                                      interfaces=True)}

    def wildcard(self, kind: str) -> str:
        """The {target} constraint of the report rule of ``kind`` (:func:`kind_wildcards`)."""
        single, complexes = kind_wildcards(list(self.targets), list(self.complexes))
        return complexes if kind == "complex" else single

    def files(self, target: str) -> list[str]:
        """Every file the report writes for ``target`` (a target or complex of the batch), ranking.json first."""
        kind = self.kinds["complex" if target in self.complexes else "target"]
        return kind.files(self.layout.target_dir(target))

    def inputs(self, wildcards) -> dict[str, Any]:
        self.ready()
        target = self.target(wildcards.target)
        seq = target.seq_key
        inputs = {"scores": self.predict.scores(seq),
                  "predictions": self.predict.predictions(seq, ("outputs.npz", "unrelaxed.pdb")),
                  "relaxed": self.predict.relaxed_models(seq), "features": self.predict.sequence_features(seq)}
        if target.is_complex:
            inputs["pairing"] = self.features.complex_features(target.name, "summary.json")
        return inputs

    def record(self, wildcards) -> str:
        """The target's record: its jobs' parameter (:func:`snakefold.common.target_record.record_json`)."""
        return record_json(self.target(wildcards.target))

    def metric(self, wildcards) -> str:
        """What the target's model runs are ranked by."""
        return self.predict.rank_metric(self.target(wildcards.target).seq_key)

    def length(self, wildcards) -> int:
        return self.target(wildcards.target).length

    def target_work_dir(self, name: str) -> str:
        """The work directory of the sequence of the target ``name`` (shared by every target with that sequence)."""
        return f"{self.layout.work}/{self.target(name).seq_key}"

    def work_dir(self, wildcards) -> str:
        return self.target_work_dir(wildcards.target)

    def models(self, wildcards) -> list[str]:
        """The model runs of the target's sequence or complex."""
        return self.predict.models_of(self.target(wildcards.target).seq_key)

    def batch_outputs(self, wildcards=None) -> list[str]:
        """What `snakemake` with no target builds: every target's and complex's report, a screen's table.

        A report is asked for by its SHA256SUMS, which it writes last and which lists every other file it wrote:
        one file per target for Snakemake to look up, not ten. A listed file that is missing or changed makes
        SHA256SUMS damaged (:mod:`snakefold.plan.integrity`), so the report runs again."""
        self.ready()
        return ([f"{self.layout.target_dir(name)}/{SUMS_NAME}" for name in [*self.targets, *self.complexes]]
                + self.pulldown_outputs())

    def completed(self, wildcards=None) -> list[str]:
        """The outputs of every target whose outputs are all there, and a screen's table and heat map once every
        pair is (what `snakemake completed --report` shows)."""
        self.ready()
        complete = [name for name in [*self.targets, *self.complexes]
                    if all(Path(path).exists() for path in self.files(name))]
        screen = self.pulldown_outputs()
        screen_done = {target.name for target in self.pulldown_pairs} <= set(complete) and all(
            Path(path).exists() for path in screen)
        return [path for name in complete for path in self.files(name)] + (screen if screen_done else [])

    def pulldown_outputs(self, wildcards=None) -> list[str]:
        """pulldown.tsv and pulldown.png when the batch has a screen."""
        if not self.pulldown_pairs:
            return []
        return [self.layout.batch_file("pulldown.tsv"), self.layout.batch_file("pulldown.png")]

    def pulldown_inputs(self, wildcards=None) -> list[str]:
        """The ranking.json of every pair of the screen."""
        self.ready()
        return [f"{self.layout.target_dir(target.name)}/ranking.json" for target in self.pulldown_pairs]
