"""The report stage's files: what the report job of a single-chain target and of a complex writes.

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

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: A target's name as :func:`snakefold.common.fasta.target_name` makes it: never empty, never starting with
#: '.', '_' or '-' (so never the results directory's ``_work``), never holding '/'.
TARGET_NAME = "[A-Za-z0-9][A-Za-z0-9._-]*"
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


def alternatives(names: Iterable[str]) -> str:
    """A regular expression matching exactly ``names`` (one that matches nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


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
