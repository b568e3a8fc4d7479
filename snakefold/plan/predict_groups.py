"""Grouped predictions: the model runs of one preset, seed and length bucket in one ``snakefold predict`` process.

A predict job pays, besides its model's compute, for starting Python and importing JAX, loading and checking
the parameters, and tracing the model and loading its compiled iteration from the persistent compilation
cache: tens of seconds on a CPU whatever the target (bench/predict/README.md), more than the compute of a
small protein on a GPU. A process that predicts several targets pays them once: the parameters stay on the
device and the compiled iteration in memory.

With ``resources.group_small_predictions.max_length`` > 0, the model runs of sequences and complexes (their
total length) no longer than it are grouped: for each model run (preset and seed; a complex's multimer
runs apart from the single chains') and length bucket (``model.length_buckets``, as
:func:`snakefold.model.length_buckets.bucket_length` pads), the sequences in batch order, in groups of
at most ``resources.group_small_predictions.max_members`` (a sequence left alone is not grouped). Each group
is two kinds of job:

    predict_group  one job: ``snakefold predict`` on every member (``--features`` and ``--out-dir`` of each),
                   each member's run written to {work}/_predict_groups/<group>/<seq>/; a member that fails
                   is reported and the others still run (the job succeeds; the failed member has no run)
    predict        one job per member, as without groups, with the group's directory as an input:
                   ``snakefold predict --from-run <member's run>`` links the member's files into its own
                   prediction directory, or, where the group has no run of it, runs it alone (and fails
                   alone, with its own error)

so one target's failure never fails the others, and every prediction stays an output of its own job. On a
cluster a group's jobs share the Snakemake group of small predictions (one submission). The cost: the group
job starts once the features of all its members exist, so it waits for its slowest MSA search.

Group names are ``<preset>_seed<seed>_L<bucket>_<index>``; members are distinct sequences (content keys).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from snakefold.common.snakemake_internals import job_functions
from snakefold.model.length_buckets import bucket_length
from snakefold.plan.model import complex_model_runs, model_runs


@dataclass(frozen=True)
class PredictionGroup:
    name: str
    preset: str
    seed: int
    #: distinct sequences (content keys), in batch order
    seqs: tuple[str, ...]


@job_functions
class PredictionGroups:
    """The groups of a plan (module docstring) and what the predict rules need of them.

    ``predict`` is the run's predict stage (:class:`snakefold.plan.predict.PredictStage`); the groups are made
    once, from its sequences, when the rules are read (their names constrain the group wildcard).
    """

    def __init__(self, settings: dict[str, Any], predict: Any):
        self.predict = predict
        self.max_length = settings["max_length"]
        self.max_members = settings["max_members"]

    @functools.cached_property
    def groups(self) -> dict[str, PredictionGroup]:
        if self.max_length == 0:
            return {}
        model = self.predict.model
        chains = {seq: len(sequence) for seq, sequence in self.predict.sequences.items()}
        complexes = {seq: target.length for seq, target in self.predict.complex_sequences.items()}
        return {**self._grouped(chains, model_runs(model)), **self._grouped(complexes, complex_model_runs(model))}

    def _grouped(self, lengths: dict[str, int], runs) -> dict[str, PredictionGroup]:
        """The groups of the model ``runs`` of the sequences (seq -> residues) up to ``max_length`` residues."""
        buckets = tuple(self.predict.model["length_buckets"])
        by_bucket: dict[int, list[str]] = {}
        for seq, length in lengths.items():
            if length <= self.max_length:
                by_bucket.setdefault(bucket_length(length, buckets), []).append(seq)
        groups = {}
        for run in runs:
            for bucket, seqs in sorted(by_bucket.items()):
                # fixed-size chunks in batch order: sequences added to a batch later join its last groups
                size = self.max_members
                chunks = [tuple(seqs[start:start + size]) for start in range(0, len(seqs), size)]
                for index, chunk in enumerate(chunk for chunk in chunks if len(chunk) > 1):
                    name = f"{run.name}_L{bucket}_{index}"
                    groups[name] = PredictionGroup(name, run.preset, run.seed, chunk)
        return groups

    @functools.cached_property
    def _membership(self) -> dict[tuple[str, str], PredictionGroup]:
        return {(seq, f"{group.preset}_seed{group.seed}"): group
                for group in self.groups.values() for seq in group.seqs}

    # ------------------------------------------------------------------------------------------- layout
    def directory(self, group: str) -> str:
        return f"{self.predict.layout.work}/_predict_groups/{group}"

    def member_run(self, group: str, seq: str) -> str:
        return f"{self.directory(group)}/{seq}"

    def group_of(self, seq: str, model: str) -> PredictionGroup | None:
        return self._membership.get((seq, model))

    # ------------------------------------------------------------------------------- the predict_group rule
    def group_wildcard(self) -> str:
        """Every group's name, as a regular expression (one that matches nothing without groups)."""
        return "|".join(self.groups) or "(?!)"

    def group_inputs(self, wildcards) -> dict[str, Any]:
        self.predict.ready()
        group = self.groups[wildcards.group]
        params = self.predict.inputs(_Wildcards(seq=group.seqs[0], preset=group.preset))["params"]
        return {"features": [self.predict.sequence_features(seq) for seq in group.seqs], "params": params}

    def group_preset(self, wildcards) -> str:
        return self.groups[wildcards.group].preset

    def group_seed(self, wildcards) -> int:
        return self.groups[wildcards.group].seed

    def member_runs(self, wildcards) -> list[str]:
        """The members' run directories, in the order of group_inputs' features."""
        group = self.groups[wildcards.group]
        return [self.member_run(group.name, seq) for seq in group.seqs]

    def group_options(self, wildcards) -> list[str]:
        """The model's options of `snakefold predict` (:meth:`PredictStage.options`), one setting for the group."""
        return self.predict.model_options(self._first_member(wildcards))

    def group_lengths(self, wildcards) -> list[int]:
        group = self.groups[wildcards.group]
        return [self.predict.sequence_length(_Wildcards(seq=seq, preset=group.preset)) for seq in group.seqs]

    def _first_member(self, wildcards) -> _Wildcards:
        # members are all single chains or all complexes: one recycling setting for the group
        group = self.groups[wildcards.group]
        return _Wildcards(seq=group.seqs[0], preset=group.preset)

    def longest(self, wildcards) -> int:
        return max(self.group_lengths(wildcards))

    # ------------------------------------------------------------------------------------ the predict rule
    def group_input(self, wildcards) -> list[str]:
        """The group's directory when the model run is grouped, else nothing.

        The predict rule flags it ``ancient``: a group runs again when its members change (a batch that grows
        by a sequence of its bucket), and its members that have their runs already must not run again then.
        """
        group = self.group_of(wildcards.seq, f"{wildcards.preset}_seed{wildcards.seed}")
        return [] if group is None else [self.directory(group.name)]

    def from_run(self, wildcards) -> list[str]:
        """``--from-run <the member's run>`` when the model run is grouped, else nothing."""
        group = self.group_of(wildcards.seq, f"{wildcards.preset}_seed{wildcards.seed}")
        return [] if group is None else ["--from-run", self.member_run(group.name, wildcards.seq)]


@dataclass(frozen=True)
class _Wildcards:
    seq: str
    preset: str
