"""The predict and relax stages' plan: the model runs of each distinct sequence and complex, and their settings.

Per distinct sequence ``seq`` (a single chain's sequence key, or a complex's key: its chains in order):

    predict  one job per model run ``<preset>_seed<seed>`` (:mod:`snakefold.plan.model`): the monomer presets
             for a single chain, the multimer presets for a complex, from the sequence's raw or merged
             features; ``{work}/<seq>/predictions/<model>/`` (:data:`snakefold.plan.layout.PREDICTION_FILES`)
    relax    one job per relaxed rank (relax.mode: the best, all or none of the ranked runs), ranking the
             runs from their scores (:mod:`snakefold.common.ranking`): ``{work}/<seq>/relaxed/rank_<i>.pdb``

Small model runs may be predicted in groups (:mod:`snakefold.plan.predict_groups`). The parameter files are
checked the first time the DAG needs a prediction (:attr:`PredictStage.params_dir`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakefold.common.fasta import Target
from snakefold.common.snakemake_internals import job_functions
from snakefold.model.param_sets import has_ptm_head, params_path
from snakefold.plan.features import FeatureStage
from snakefold.plan.layout import PREDICTION_FILES, Layout, alternatives
from snakefold.plan.model import complex_model_runs, configured_params_dir, model_runs, params_problems
from snakefold.plan.predict_groups import PredictionGroups

#: How many ranked models of a sequence each relax.mode relaxes, given the number of model runs.
RELAX_COUNTS: dict[str, Callable[[int], int]] = {"best": lambda n: min(1, n), "all": lambda n: n, "none": lambda n: 0}


@job_functions
@dataclass(repr=False)
class PredictStage:
    """The predict and relax rules' functions and values (rules read ``PLAN.predict.<name>``)."""

    config: dict
    layout: Layout
    #: seq -> sequence of every single-chain target; seq -> the (first) complex of that key
    sequences: dict[str, str]
    complex_sequences: dict[str, Target]
    features: FeatureStage
    #: what each input function calls first (the plan's problems stop the run)
    ready: Callable[[], None]
    #: stops the run with these problems (and the plan's others)
    stop: Callable[[list[str]], None]

    @property
    def model(self) -> dict:
        return self.config["model"]

    # ------------------------------------------------------------------------------------------ model runs
    @functools.cached_property
    def model_names(self) -> list[str]:
        """The '<preset>_seed<seed>' name of every model run of a single chain, in config order."""
        return [run.name for run in model_runs(self.model)]

    @functools.cached_property
    def ptm_model_names(self) -> list[str]:
        return [run.name for run in model_runs(self.model) if has_ptm_head(run.preset)]

    @functools.cached_property
    def complex_model_names(self) -> list[str]:
        """The '<preset>_seed<seed>' name of every model run of a complex (every one has a PAE head)."""
        return [run.name for run in complex_model_runs(self.model)]

    def models_of(self, seq: str) -> list[str]:
        """The model runs of a distinct sequence or complex."""
        return self.complex_model_names if seq in self.complex_sequences else self.model_names

    @property
    def presets(self) -> list[str]:
        """The presets this batch predicts with: the monomer ones for single chains, the multimer ones for complexes."""
        return ((list(self.model["presets"]) if self.sequences else [])
                + (list(self.model["multimer_presets"]) if self.complex_sequences else []))

    def preset_wildcard(self) -> str:
        return alternatives(self.presets)

    def rank_metric(self, seq: str) -> str:
        """What the model runs of ``seq`` are ranked by: model.rank_by, or 0.8 ipTM + 0.2 pTM for a complex."""
        return "iptm+ptm" if seq in self.complex_sequences else self.model["rank_by"]

    def metric(self, wildcards) -> str:
        return self.rank_metric(wildcards.seq)

    # ------------------------------------------------------------------------------------ the predict rule
    def model_options(self, wildcards) -> list[str]:
        """`snakefold predict`'s options for the model runs of ``seq``: recycles (model.num_recycle, or
        model.multimer_num_recycle for a complex) and their early stop, length buckets, compilation cache and
        precision."""
        prefix = "multimer_" if wildcards.seq in self.complex_sequences else ""
        return ["--num-recycle", str(self.model[f"{prefix}num_recycle"]),
                "--recycle-early-stop-tolerance", str(self.model[f"{prefix}recycle_early_stop_tolerance"]),
                "--length-buckets", self.length_buckets, "--compilation-cache-dir", self.compilation_cache,
                *(["--bfloat16"] if self.model["bfloat16"] else [])]

    def options(self, wildcards) -> list[str]:
        """The predict job's options: the model's, and ``--from-run`` when a group predicted the run."""
        return [*self.model_options(wildcards), *self.groups.from_run(wildcards)]

    @property
    def environment(self) -> str:
        """The conda environment file of the predict stage: JAX for CUDA when jobs ask for GPUs."""
        return "predict-cuda.yaml" if self.config["resources"]["gpu"]["count"] > 0 else "predict.yaml"

    @property
    def compilation_cache(self) -> str:
        return self.model["compilation_cache_dir"] or f"{self.layout.cache}/jax"

    @property
    def length_buckets(self) -> str:
        """model.length_buckets as `snakefold predict --length-buckets` takes them."""
        return ",".join(str(length) for length in sorted(self.model["length_buckets"])) or "none"

    @functools.cached_property
    def params_dir(self) -> Path:
        """The parameter directory, once its files are checked: a run that predicts needs them all intact."""
        problems = params_problems(self.config, self.presets)
        if problems:
            self.stop(problems)
        return configured_params_dir(self.config)

    @functools.cached_property
    def groups(self) -> PredictionGroups:
        """The batch's grouped predictions (:mod:`snakefold.plan.predict_groups`)."""
        return PredictionGroups(self.config["resources"]["group_small_predictions"], self)

    def sequence_features(self, seq: str) -> str:
        """What the model runs of ``seq`` read: its raw features, or a complex's merged features."""
        if seq in self.complex_sequences:
            return self.features.complex_features(self.complex_sequences[seq].name)
        return self.features.features(seq)

    def inputs(self, wildcards) -> dict[str, str]:
        self.ready()
        return {"features": self.sequence_features(wildcards.seq),
                "params": str(params_path(self.params_dir, wildcards.preset))}

    def sequence_length(self, wildcards) -> int:
        """Residues of ``seq``: all chains' of a complex."""
        if wildcards.seq in self.complex_sequences:
            return self.complex_sequences[wildcards.seq].length
        return len(self.sequences[wildcards.seq])

    def scores(self, seq: str) -> list[str]:
        """The scores.json of every model run of ``seq``, in the config's order (what its runs are ranked from)."""
        return [f"{self.layout.prediction_dir(seq, model)}/scores.json" for model in self.models_of(seq)]

    def predictions(self, seq: str, names: tuple[str, ...] = PREDICTION_FILES) -> list[str]:
        """The files ``names`` of every model run of ``seq``."""
        return [f"{self.layout.prediction_dir(seq, model)}/{name}" for model in self.models_of(seq) for name in names]

    # -------------------------------------------------------------------------------------- the relax rule
    def relax_count(self, seq: str) -> int:
        """How many ranked models of ``seq`` are relaxed (relax.mode)."""
        return RELAX_COUNTS[self.config["relax"]["mode"]](len(self.models_of(seq)))

    def relaxed_models(self, seq: str) -> list[str]:
        return [self.layout.relaxed(seq, rank) for rank in range(self.relax_count(seq))]

    def relax_inputs(self, wildcards) -> dict[str, Any]:
        self.ready()
        return {"unrelaxed": self.predictions(wildcards.seq, ("unrelaxed.pdb",)), "scores": self.scores(wildcards.seq)}

    def sealed_files(self) -> Iterator[str]:
        """The predict and relax stages' files of each sequence and complex (existing or not)."""
        for seq in [*self.sequences, *self.complex_sequences]:
            yield from self.predictions(seq)
            for rank in range(self.relax_count(seq)):
                yield from (self.layout.relaxed(seq, rank), self.layout.relaxed(seq, rank, "json"))
