"""The regression stage's plan: which targets are checked, against what, and the rules' input functions.

``regression.targets`` names targets of the batch, each with a reference structure, a directory of golden
outputs, or both, and thresholds over the section's defaults. :func:`plan_regression` checks the entries
(every problem named by its config key) and gives the :class:`RegressionStage` that workflow/rules/regression.smk
reads: ``regression_check`` per target (``{target}``: one of these targets alone), ``regression_report`` over
the verdicts, ``regression_refresh`` over the targets with golden outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakefold.common.hashing import file_sha256
from snakefold.common.snakemake_internals import job_functions
from snakefold.plan.cache import content_key
from snakefold.plan.layout import Layout, alternatives


@job_functions
@dataclass(repr=False)
class RegressionStage:
    """The regression targets (name -> their ``regression.targets`` entry) and the rules' functions."""

    section: Mapping[str, Any]
    targets: dict[str, dict]
    layout: Layout
    #: what each input function calls first (the plan's problems stop the run)
    ready: Callable[[], None]
    #: stops the run with one more problem
    stop: Callable[[str], None]

    def thresholds(self, target: str) -> dict:
        return {**self.section["thresholds"], **self.targets[target].get("thresholds", {})}

    def wildcard(self) -> str:
        return alternatives(self.targets)

    def reference(self, wildcards) -> list[str] | str:
        self.ready()
        return self.targets[wildcards.target].get("reference", [])

    def options(self, wildcards) -> list[str]:
        """--reference, --chain and --golden of `snakefold regression check`, as a list of words."""
        entry = self.targets[wildcards.target]
        return [word for key in ("reference", "chain", "golden") if key in entry for word in (f"--{key}", entry[key])]

    def threshold_options(self, wildcards) -> list[str]:
        """Every threshold of the target (the schema fills them all) as `snakefold regression check` options."""
        return [word for key, value in sorted(self.thresholds(wildcards.target).items()) for word in
                (f"--{key.replace('_', '-')}", "none" if value is None else str(float(value)))]

    def golden_stamp(self, wildcards) -> str:
        """A key of the golden directory's files: a refreshed or changed golden directory re-runs the check."""
        golden = self.targets[wildcards.target].get("golden")
        manifest = Path(golden, "manifest.json") if golden else None
        if not (manifest and manifest.is_file()):
            return "absent"
        return content_key({path.name: file_sha256(path) for path in manifest.parent.iterdir() if path.is_file()})

    def verdicts(self, wildcards=None) -> list[str]:
        self.ready()
        return [f"{self.section['output_dir']}/targets/{name}.json" for name in self.targets]

    def golden_targets(self) -> list[str]:
        return [name for name, entry in self.targets.items() if "golden" in entry]

    def refresh_inputs(self, wildcards=None) -> list[str]:
        """The ranking.json of every regression target with golden outputs (none: a clear error)."""
        self.ready()
        names = self.golden_targets()
        if not names:
            self.stop("regression_refresh: no entry of the config key 'regression.targets' has a 'golden' directory "
                      "to write")
        return [f"{self.layout.target_dir(name)}/ranking.json" for name in names]


def plan_regression(section: Mapping[str, Any], singles: Collection[str], complexes: Collection[str],
                    layout: Layout, ready: Callable[[], None],
                    stop: Callable[[str], None]) -> tuple[RegressionStage, list[str]]:
    """The regression stage of a batch of ``singles`` and ``complexes`` (target names), and its problems."""
    stage, problems = RegressionStage(section, {}, layout, ready, stop), []
    for index, target in enumerate(section["targets"]):
        key, name = f"regression.targets[{index}]", target["target"]
        if name not in singles and name not in complexes:
            problems.append(f"config key '{key}.target': '{name}' is not a target of this batch "
                            f"(targets: {', '.join([*singles, *complexes]) or 'none'})")
        elif name in complexes and "golden" in target:
            problems.append(f"config key '{key}.golden': golden outputs are kept for single-chain targets; "
                            f"check the complex '{name}' against a reference structure (lDDT, TM-score, DockQ)")
        elif name in stage.targets:
            problems.append(f"config key '{key}.target': '{name}' is listed twice in regression.targets")
        if "reference" not in target and "golden" not in target:
            problems.append(f"config key '{key}': give 'reference' (a structure), 'golden' (a directory of "
                            "golden outputs) or both")
        if "reference" in target and not Path(target["reference"]).exists():
            problems.append(f"config key '{key}.reference': reference structure '{target['reference']}' "
                            "does not exist")
        stage.targets[name] = target
    return stage, problems
