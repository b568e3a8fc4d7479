"""The plan of a run: everything the Snakefile's rules need, computed once from the validated config.

:func:`plan_run` reads the batch (every input record checked), plans each stage and collects every problem
found on the way (a database path that does not exist, a precomputed MSA of the wrong sequence, a parameter
file that is truncated), so that all are reported at once. The rule files are declarations over the
returned :class:`Plan`: their input functions are its methods, their values its attributes.

Problems stop the run when the DAG is built, before any job: every input function of a planned rule first
calls :meth:`Plan.ready`, which prints them all and exits. Parsing the Snakefile never stops, so
``snakemake --lint`` and ``--list-rules`` work before the databases exist, and a run for the download
targets alone never sees the problems of the files it is downloading. The parameter files are checked
only when a prediction is part of the DAG.

Stages, per distinct sequence ``seq`` (targets that share a sequence share its computations):

    query FASTA  -> msa_<search> (one cache entry per search)  -> templates (hhsearch from the first MSA)
                 -> features (sequence + merged MSAs + templates) -> predict (preset x seed) -> relax
    per target:  report (its record from the batch file that intake writes) -> summary

The model runs of a sequence are ranked where a ranking is used (relax, report: :mod:`snakefold.model.ranking`).

Complexes (:mod:`snakefold.plan.complexes`) are searched per distinct chain: every chain gets the MSA
searches (shared, by content, with single-chain targets of the same sequence and other complexes and
batches), and every chain of a heteromeric complex the UniProt pairing search (``Plan.pairing_entries``)
and, with templates on, AlphaFold-Multimer's template search (hmmbuild from its first MSA, hmmsearch
against pdb_seqres: :mod:`snakefold.templates.pdb_seqres`). Per complex, complex_features pairs and merges
its chains' cache entries (:mod:`snakefold.msa.multimer`) into one content-keyed entry, keyed by the
chains' entries' keys in chain order (copies included) and the pairing settings. In msa.mode precomputed
a complex's chains come from AlphaFold2's own ``msas/`` directory, ``<precomputed_dir>/<complex>/msas/``
(:mod:`snakefold.msa.complex_inputs`), checked when the plan is made. From there a complex takes the path of a
distinct sequence, its work directory ``{work}/<seq>`` keyed by the complex's sequence key (its chains in
order): predict (``model.multimer_presets``, AlphaFold2's multimer seeds:
:func:`snakefold.plan.model.complex_model_runs`; ``model.multimer_num_recycle`` recycles with early stop at
``model.multimer_recycle_early_stop_tolerance``) -> relax -> report, ranked by 0.8 ipTM + 0.2 pTM
(report_complex), and a pulldown screen's table and heat map (``pulldown.tsv``, ``pulldown.png``).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snakefold.common.checksums import SUMS_NAME
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Batch, Target, sequence_key
from snakefold.common.hashing import file_sha256
from snakefold.common.snakemake_internals import job_functions
from snakefold.common.target_record import batch_document, record_json
from snakefold.install.databases import MULTIMER_TEMPLATE_DATABASES, fingerprint
from snakefold.model.param_sets import configured_params_dir, has_ptm_head, params_path
from snakefold.msa.complex_inputs import ChainInputs, MsaFile, alphafold_msas_inputs, check_queries
from snakefold.msa.formats import query_of_msa_file
from snakefold.plan.batch import batch_from_config, intake_report, rejected_tsv, targets_tsv
from snakefold.plan.cache import content_key
from snakefold.plan.config import validate_config
from snakefold.plan.downloads import DownloadStage
from snakefold.plan.features import COMPLEX_FEATURES_FORMAT, FEATURES_FORMAT, PAIRING_SETTINGS, FeatureStage
from snakefold.plan.integrity import damaged_files, remove_damaged
from snakefold.plan.layout import PREDICTION_FILES, Layout
from snakefold.plan.model import complex_model_runs, model_runs, model_section_problems, params_problems
from snakefold.plan.msa import TOOL_VERSIONS, MsaPlan, database_problems, msa_plan, precomputed_msa_file
from snakefold.plan.predict_groups import PredictionGroups
from snakefold.plan.regression import RegressionStage, plan_regression
from snakefold.plan.report import TARGET_NAME, ReportKind, alternatives, kind_wildcards
from snakefold.plan.templates import HHSEARCH, PDB_SEQRES, TemplateSearch, TemplateStage, plan_templates
from snakefold.templates.pdb_seqres import pdb_seqres_database_problems, pdb_seqres_settings
from snakefold.tools.kalign import kalign_version

#: How many ranked models of a sequence each relax.mode relaxes, given the number of model runs.
RELAX_COUNTS: dict[str, Callable[[int], int]] = {"best": lambda n: min(1, n), "all": lambda n: n, "none": lambda n: 0}
#: What to run when the databases a config names are not there.
DATABASES_HINT = ("`snakemake download --configfile <your config>` installs the databases the config needs; the "
                  "demo's (config.yaml) are built by `scripts/demo` (`.venv/bin/python demo/make_databases.py`)")


@dataclass(frozen=True)
class MsaEntry:
    """One MSA of a sequence: the search's name, the file, its format and key (a precomputed file's SHA-256)."""

    name: str
    path: str
    format: str
    key: str


@dataclass(frozen=True)
class SearchJob:
    """One msa_<search> job: the sequence it searches and the search as JSON for ``snakefold msa --spec``."""

    seq: str
    spec: str


@job_functions
@dataclass(repr=False)
class Plan:
    config: dict
    layout: Layout
    batch: Batch
    problems: list[str] = field(default_factory=list)
    msa: MsaPlan | None = None
    #: seq -> its MSAs in merge order ([] for single_sequence); single-chain targets' and complexes' chains
    msa_entries: dict[str, list[MsaEntry]] = field(default_factory=dict)
    #: seq -> its UniProt search for pairing, for each chain of a heteromeric complex
    pairing_entries: dict[str, MsaEntry] = field(default_factory=dict)
    #: search cache key -> the job that makes it
    search_jobs: dict[str, SearchJob] = field(default_factory=dict)
    #: the template search of each distinct single-chain sequence (hhsearch) and of each distinct chain of the
    #: complexes (hmmsearch against pdb_seqres): :mod:`snakefold.plan.templates`
    templates: TemplateStage | None = None
    chain_templates: TemplateStage | None = None
    #: the features and complex_features jobs (:mod:`snakefold.plan.features`)
    features: FeatureStage | None = None
    #: the targets regression mode checks (:mod:`snakefold.plan.regression`)
    regression: RegressionStage | None = None
    #: every content-keyed cache entry the plan names (checked by :meth:`ready`)
    cache_entries: list[str] = field(default_factory=list)
    #: Snakemake's main process (not a job's): the only one that checks files and prints notices
    main_process: bool = True
    #: asked when the DAG is built (Snakemake knows it only then): is this a dry run?
    is_dry_run: Callable[[], bool] = lambda: False
    files_checked: bool = False

    # ---------------------------------------------------------------------------------------------- batch
    @functools.cached_property
    def targets(self) -> dict[str, Target]:
        return {target.name: target for target in self.batch.targets}

    @functools.cached_property
    def complexes(self) -> dict[str, Target]:
        return {target.name: target for target in self.batch.complexes}

    @functools.cached_property
    def complex_sequences(self) -> dict[str, Target]:
        """seq -> the (first) complex of that sequence key: complexes of the same chains share their work."""
        found: dict[str, Target] = {}
        for target in self.batch.complexes:
            found.setdefault(target.seq_key, target)
        return found

    def any_target(self, name: str) -> Target:
        """The single-chain target or complex called ``name``."""
        return self.targets[name] if name in self.targets else self.complexes[name]

    @functools.cached_property
    def sequences(self) -> dict[str, str]:
        """seq -> sequence, one entry per distinct sequence of a single-chain target."""
        return self.batch.sequences

    @functools.cached_property
    def search_sequences(self) -> dict[str, str]:
        """seq -> sequence of everything searched: single-chain targets' sequences and complexes' chains."""
        return {**self.batch.sequences, **self.batch.chain_sequences}

    @property
    def input_files(self) -> list[str]:
        return sorted({target.path for target in self.batch.targets + self.batch.complexes}
                      | set(self.batch.complex_inputs)
                      | {problem.path for problem in self.batch.errors if problem.line})

    @staticmethod
    def target_wildcard() -> str:
        """The {target} wildcard's regular expression: a target's name (the batch's names would make each job's
        cost grow with the batch: :mod:`snakefold.plan.report`)."""
        return TARGET_NAME

    def batch_document(self) -> dict:
        """The batch file's document: every accepted target's record and the screen's pairs."""
        return batch_document(self.batch.targets + self.batch.complexes, self.batch.pulldown)

    def record_json(self, wildcards) -> str:
        """The target's record: its jobs' parameter (:func:`snakefold.common.target_record.record_json`)."""
        return record_json(self.any_target(wildcards.target))

    def query_fasta_text(self, seq: str) -> str:
        """The query FASTA of a distinct sequence, named by its key."""
        return f">{seq}\n{self.search_sequences[seq]}\n"

    def query_fasta(self, wildcards) -> str:
        self.ready()
        return self.query_fasta_text(wildcards.seq)

    def targets_table(self) -> str:
        """targets.tsv: every accepted target (complexes last, with their chains) with its sequence key, file, line."""
        return targets_tsv(self.batch.targets + self.batch.complexes)

    def rejected_table(self) -> str:
        """rejected.tsv: every refused record with its file, line and reason."""
        return rejected_tsv(self.batch.errors)

    def intake_inputs(self, wildcards=None) -> list[str]:
        """The FASTA files the batch was read from (intake writes its tables from this plan)."""
        self.ready()
        return self.input_files

    # ------------------------------------------------------------------------------------------- problems
    def stop_with(self, problem: str) -> None:
        """Add ``problem`` and stop (with every other problem of the plan)."""
        self.problems.append(problem)
        self.stop_on_problems()

    def stop_on_problems(self) -> None:
        """Print every problem of the plan and exit, before any job runs."""
        if self.problems:
            print(f"snakefold: {chr(10).join(self.problems)}", file=sys.stderr)
            raise SystemExit(1)

    def ready(self) -> None:
        """What every input function of a planned rule calls first: stop on the plan's problems; then, once, in
        the main process, check the files the run builds on (:mod:`snakefold.plan.integrity`).

        This runs when Snakemake builds the DAG, before it looks at any file, and not when the Snakefile is
        parsed: only then is it known whether this is a dry run, which removes nothing and says what a real run
        would remove."""
        self.stop_on_problems()
        if not self.main_process or self.files_checked:
            return
        self.files_checked = True
        layout, targets = self.layout, self.batch.targets + self.batch.complexes
        damaged = damaged_files(
            cache_entries=self.cache_entries,
            queries={layout.query_fasta(seq): self.query_fasta_text(seq) for seq in self.search_sequences},
            sealed=self.sealed_files(), result_dirs=[layout.target_dir(target.name) for target in targets])
        dry_run = self.is_dry_run()
        if not dry_run:
            remove_damaged(damaged)
        for file in damaged:
            print(f"snakefold: {file.notice(dry_run)}", file=sys.stderr)

    # ----------------------------------------------------------------------------------------------- MSAs
    def msa_query(self, wildcards) -> str:
        self.ready()
        return self.layout.query_fasta(self.search_jobs[wildcards.key].seq)

    def msa_spec(self, wildcards) -> str:
        return self.search_jobs[wildcards.key].spec

    def search_length(self, wildcards) -> int:
        return len(self.search_sequences[self.search_jobs[wildcards.key].seq])

    def all_msas(self, wildcards=None) -> list[str]:
        """Every MSA search of the batch: each distinct sequence's and chain's, and the chains' pairing searches."""
        self.ready()
        return ([entry.path for entries in self.msa_entries.values() for entry in entries]
                + [entry.path for entry in self.pairing_entries.values()])

    # ------------------------------------------------------------------------------------------ templates
    @property
    def templates_enabled(self) -> bool:
        return bool(self.config["templates"]["enabled"])

    def template_features(self, seq: str) -> str | None:
        """The template features of ``seq``; None when the template stage is off (zero templates)."""
        return self.templates.features(seq) if self.templates_enabled else None

    def all_template_features(self, wildcards=None) -> list[str]:
        self.ready()
        return [*self.templates.all_features(), *self.chain_templates.all_features()]

    # ------------------------------------------------------------------------------------------- features
    def all_features(self, wildcards=None) -> list[str]:
        """Every single-chain sequence's raw features and every complex's merged features and summary."""
        self.ready()
        return self.features.all_features()

    # ---------------------------------------------------------------------------------------------- model
    @property
    def model_section(self) -> dict:
        return self.config["model"]

    @functools.cached_property
    def model_names(self) -> list[str]:
        """The '<preset>_seed<seed>' name of every model run, in config order."""
        return [run.name for run in model_runs(self.model_section)]

    @functools.cached_property
    def ptm_model_names(self) -> list[str]:
        return [run.name for run in model_runs(self.model_section) if has_ptm_head(run.preset)]

    @functools.cached_property
    def complex_model_names(self) -> list[str]:
        """The '<preset>_seed<seed>' name of every model run of a complex (every one has a PAE head)."""
        return [run.name for run in complex_model_runs(self.model_section)]

    def models_of(self, seq: str) -> list[str]:
        """The model runs of a distinct sequence or complex."""
        return self.complex_model_names if seq in self.complex_sequences else self.model_names

    @property
    def predicted_presets(self) -> list[str]:
        """The presets this batch predicts with: the monomer ones for single chains, the multimer ones for complexes."""
        return ((list(self.model_section["presets"]) if self.sequences else [])
                + (list(self.model_section["multimer_presets"]) if self.complexes else []))

    def preset_wildcard(self) -> str:
        return alternatives(self.predicted_presets)

    def num_recycle(self, wildcards) -> int:
        key = "multimer_num_recycle" if wildcards.seq in self.complex_sequences else "num_recycle"
        return self.model_section[key]

    def recycle_tolerance(self, wildcards) -> float:
        key = ("multimer_recycle_early_stop_tolerance" if wildcards.seq in self.complex_sequences
               else "recycle_early_stop_tolerance")
        return self.model_section[key]

    def rank_metric(self, wildcards) -> str:
        """What the model runs of ``seq`` (or of a ``target``'s sequence) are ranked by: model.rank_by, or
        0.8 ipTM + 0.2 pTM for a complex (:mod:`snakefold.model.ranking`)."""
        seq = getattr(wildcards, "seq", None) or self.any_target(wildcards.target).seq_key
        return "iptm+ptm" if seq in self.complex_sequences else self.model_section["rank_by"]

    @property
    def predict_environment(self) -> str:
        """The conda environment file of the predict stage: JAX for CUDA when jobs ask for GPUs."""
        return "predict-cuda.yaml" if self.config["resources"]["gpu"]["count"] > 0 else "predict.yaml"

    @property
    def compilation_cache(self) -> str:
        return self.model_section["compilation_cache_dir"] or f"{self.layout.cache}/jax"

    @property
    def length_buckets(self) -> str:
        """model.length_buckets as `snakefold predict --length-buckets` takes them."""
        return ",".join(str(length) for length in sorted(self.model_section["length_buckets"])) or "none"

    @functools.cached_property
    def params_dir(self) -> Path:
        """The parameter directory, once its files are checked: a run that predicts needs them all intact."""
        problems = params_problems(self.config, self.predicted_presets)
        if problems:
            self.problems.extend(problems)
            self.stop_on_problems()
        return configured_params_dir(self.config)

    @functools.cached_property
    def prediction_groups(self) -> PredictionGroups:
        """The batch's grouped predictions (:mod:`snakefold.plan.predict_groups`)."""
        return PredictionGroups(self.config, self)

    def sequence_features(self, seq: str) -> str:
        """What the model runs of ``seq`` read: its raw features, or a complex's merged features."""
        if seq in self.complex_sequences:
            return self.features.complex_features(self.complex_sequences[seq].name)
        return self.features.features(seq)

    def predict_inputs(self, wildcards) -> dict[str, str]:
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

    def sealed_files(self) -> Iterator[str]:
        """The batch file, and the predict and relax stages' files of each sequence and complex (existing or not)."""
        yield self.layout.batch_records()
        for seq in [*self.sequences, *self.complex_sequences]:
            for model in self.models_of(seq):
                yield from (f"{self.layout.prediction_dir(seq, model)}/{name}" for name in PREDICTION_FILES)
            for rank in range(self.relax_count(seq)):
                yield from (self.layout.relaxed(seq, rank), self.layout.relaxed(seq, rank, "json"))

    # ---------------------------------------------------------------------------------------------- relax
    def relax_count(self, seq: str) -> int:
        """How many ranked models of ``seq`` are relaxed (relax.mode)."""
        return RELAX_COUNTS[self.config["relax"]["mode"]](len(self.models_of(seq)))

    def relaxed_models(self, seq: str) -> list[str]:
        return [self.layout.relaxed(seq, rank) for rank in range(self.relax_count(seq))]

    def relax_inputs(self, wildcards) -> dict[str, Any]:
        self.ready()
        return {"unrelaxed": [f"{self.layout.prediction_dir(wildcards.seq, model)}/unrelaxed.pdb"
                              for model in self.models_of(wildcards.seq)],
                "scores": self.scores(wildcards.seq)}

    # --------------------------------------------------------------------------------------------- report
    @functools.cached_property
    def report_kinds(self) -> dict[str, ReportKind]:
        """The report rule of single-chain targets ("target") and of complexes ("complex")."""
        complex_models = tuple(self.complex_model_names)
        return {"target": ReportKind("report_target", "Targets", "target", tuple(self.model_names),
                                     tuple(self.ptm_model_names), interfaces=False),
                "complex": ReportKind("report_complex", "Complexes", "complex", complex_models, complex_models,
                                      interfaces=True)}

    def report_wildcard(self, kind: str) -> str:
        """The {target} constraint of the report rule of ``kind`` (:func:`snakefold.plan.report.kind_wildcards`)."""
        single, complexes = kind_wildcards(list(self.targets), list(self.complexes))
        return complexes if kind == "complex" else single

    def report_files(self, target: str) -> list[str]:
        """Every file the report writes for ``target`` (a target or complex of the batch), ranking.json first."""
        kind = self.report_kinds["complex" if target in self.complexes else "target"]
        return kind.files(self.layout.target_dir(target))

    def report_inputs(self, wildcards) -> dict[str, Any]:
        self.ready()
        target = self.any_target(wildcards.target)
        seq = target.seq_key
        inputs = {
            "scores": self.scores(seq),
            "predictions": [f"{self.layout.prediction_dir(seq, model)}/{name}" for model in self.models_of(seq)
                            for name in ("outputs.npz", "unrelaxed.pdb")],
            "relaxed": self.relaxed_models(seq),
            "features": self.sequence_features(seq),
        }
        if target.is_complex:
            inputs["pairing"] = self.features.complex_features(target.name, "summary.json")
        return inputs

    def work_dir(self, target: str) -> str:
        """The work directory of ``target``'s sequence (shared by every target with that sequence)."""
        return f"{self.layout.work}/{self.any_target(target).seq_key}"

    def target_models(self, wildcards) -> list[str]:
        """The model runs of the ``target``'s sequence or complex."""
        return self.models_of(self.any_target(wildcards.target).seq_key)

    def target_length(self, wildcards) -> int:
        return self.any_target(wildcards.target).length

    def batch_outputs(self, wildcards=None) -> list[str]:
        """What `snakemake` with no target builds: every target's and complex's report, a screen's table.

        A report is asked for by its SHA256SUMS, which it writes last and which lists every other file it wrote:
        one file per target for Snakemake to look up, not ten. A listed file that is missing or changed makes
        SHA256SUMS damaged (:mod:`snakefold.plan.integrity`), so the report runs again."""
        self.ready()
        return ([f"{self.layout.target_dir(name)}/{SUMS_NAME}" for name in [*self.targets, *self.complexes]]
                + self.pulldown_outputs())

    def completed_targets(self, wildcards=None) -> list[str]:
        """The outputs of every target whose outputs are all there, and a screen's table and heat map once every
        pair is (what `snakemake completed --report` shows)."""
        self.ready()
        names = [*self.targets, *self.complexes]
        complete = [name for name in names if all(Path(path).exists() for path in self.report_files(name))]
        screen = self.pulldown_outputs()
        screen_done = {target.name for target in self.pulldown_pairs} <= set(complete) and all(
            Path(path).exists() for path in screen)
        return [path for name in complete for path in self.report_files(name)] + (screen if screen_done else [])

    # ------------------------------------------------------------------------------------------- pulldown
    @property
    def pulldown_pairs(self) -> list[Target]:
        """The complexes of the pulldown screen (bait x prey), in the order they were planned."""
        return [target for target in self.batch.complexes if target.name in self.batch.pulldown]

    def pulldown_outputs(self, wildcards=None) -> list[str]:
        """pulldown.tsv and pulldown.png when the batch has a screen."""
        if not self.pulldown_pairs:
            return []
        return [self.layout.batch_file("pulldown.tsv"), self.layout.batch_file("pulldown.png")]

    def pulldown_inputs(self, wildcards=None) -> list[str]:
        """The ranking.json of every pair of the screen."""
        self.ready()
        return [f"{self.layout.target_dir(target.name)}/ranking.json" for target in self.pulldown_pairs]

    @functools.cached_property
    def downloads(self) -> DownloadStage:
        """The download rules' functions (:class:`snakefold.plan.downloads.DownloadStage`)."""
        return DownloadStage(self.config, self.batch, self.layout.download_receipt)


def plan_run(config: dict, *, main_process: bool = True, is_dry_run: Callable[[], bool] = lambda: False) -> Plan:
    """Validate ``config`` (filling its defaults), read the batch and plan every stage.

    Only the ``main_process`` (Snakemake's, not a job's) removes files that cannot be trusted (jobs read
    entries that other jobs are writing), when the DAG is built and unless ``is_dry_run()`` (see
    :meth:`Plan.ready`), and prints notices for the user on stderr (intake warnings, removed files). A config
    that does not validate raises :class:`SnakefoldError`.
    """
    validate_config(config, with_snakemake=main_process)

    def notify(message: str) -> None:
        if main_process:
            print(f"snakefold: {message}", file=sys.stderr)

    layout = Layout(config["results_dir"], config["cache_dir"])
    plan = Plan(config, layout, batch_from_config(config), main_process=main_process, is_dry_run=is_dry_run)
    _check_batch(plan, notify)

    def entry(path: str) -> str:
        plan.cache_entries.append(path)
        return path

    plan.features = FeatureStage(plan.sequences, plan.complexes, layout, plan.ready)
    plan.templates = TemplateStage(plan.sequences, layout.template_entry, layout.query_fasta, plan.ready)
    plan.chain_templates = TemplateStage(plan.batch.chain_sequences, layout.chain_template_entry, layout.query_fasta,
                                         plan.ready)
    _plan_msas(plan, entry)
    if plan.templates_enabled and plan.sequences:
        _plan_template_stage(plan, plan.templates, HHSEARCH, entry)
    if plan.templates_enabled and plan.batch.complexes and plan.msa.mode != "precomputed":
        _plan_template_stage(plan, plan.chain_templates, PDB_SEQRES, entry)
    _plan_features(plan, entry)
    _plan_complex_features(plan, entry)
    plan.problems.extend(model_section_problems(config))
    plan.regression, problems = plan_regression(config["regression"], plan.targets, plan.complexes, layout,
                                                plan.ready, plan.stop_with)
    plan.problems.extend(problems)
    return plan


def _check_batch(plan: Plan, notify: Callable[[str], None]) -> None:
    on_invalid = plan.config["on_invalid"]
    summary = intake_report(plan.batch, on_invalid)
    if plan.batch.errors and on_invalid == "fail":
        plan.problems.append(summary)
    elif summary:
        notify(summary)
    if not plan.batch.targets and not plan.batch.complexes and not plan.problems:
        notify("no valid target is left to predict: the run writes rejected.tsv and the summary only")


def _plan_msas(plan: Plan, entry: Callable[[str], str]) -> None:
    config, layout = plan.config, plan.layout
    paired_chains = plan.batch.paired_chain_keys
    plan.msa = msa = msa_plan(config, pairing=bool(paired_chains))
    plan.problems.extend(msa.problems)
    missing_databases = database_problems(msa, verified_dir=layout.verified_databases())
    plan.problems.extend(missing_databases)
    if missing_databases:
        plan.problems.append(DATABASES_HINT)
    if msa.mode == "precomputed":
        if not msa.problems:
            _plan_precomputed(plan)
        return
    versions = {}
    for tool in sorted({search.tool for search in msa.all_searches}):
        try:
            versions[tool] = TOOL_VERSIONS[tool]()
        except SnakefoldError as error:
            plan.problems.append(f"msa.mode '{msa.mode}' with databases.preset '{msa.preset}' needs {tool}: {error}")
    if plan.problems or msa.mode == "single_sequence":
        return
    fingerprints = {search.name: search.fingerprints() for search in msa.all_searches}

    def planned(search, seq: str) -> MsaEntry:
        sequence = plan.search_sequences[seq]
        key = content_key(search.key_parts(sequence, versions[search.tool], fingerprints[search.name]))
        path = entry(layout.msa_entry(search.name, key, search.output_format))
        plan.search_jobs[key] = SearchJob(seq, json.dumps(search.to_spec(), sort_keys=True))
        return MsaEntry(search.name, path, search.output_format, key)

    for seq in plan.search_sequences:
        plan.msa_entries[seq] = [planned(search, seq) for search in msa.searches]
    for seq in paired_chains:
        plan.pairing_entries[seq] = planned(msa.pairing, seq)


def _plan_precomputed(plan: Plan) -> None:
    """The first target's file of each sequence, keyed by its SHA-256."""
    for target in plan.targets.values():
        if target.seq_key in plan.msa_entries:
            continue
        try:
            path = precomputed_msa_file(plan.msa.precomputed_dir, target.name)
        except SnakefoldError as error:  # it names the target
            plan.problems.append(str(error))
            continue
        try:
            searched = query_of_msa_file(path)
        except SnakefoldError as error:
            plan.problems.append(f"target '{target.name}' ({target.path}, line {target.line}): {error}")
            continue
        if searched != target.sequence:
            plan.problems.append(
                f"target '{target.name}': the first row of {path} is not the target's sequence (it has "
                f"{len(searched)} residues starting {searched[:20]!r}; the target {len(target.sequence)} starting "
                f"{target.sequence[:20]!r}); config key 'msa.precomputed_dir'")
            continue
        fmt = "a3m" if path.suffix == ".a3m" else "sto"
        plan.msa_entries[target.seq_key] = [MsaEntry("precomputed", str(path), fmt, file_sha256(path))]


def _plan_template_stage(plan: Plan, stage: TemplateStage, search: TemplateSearch,
                         entry: Callable[[str], str]) -> None:
    """One template search of every sequence of ``stage``, from each sequence's first MSA."""
    first_msas = {seq: (msas[0].path, msas[0].key) for seq, msas in plan.msa_entries.items() if msas}
    plan.problems.extend(plan_templates(stage, search, plan.config, plan.layout.verified_databases(), first_msas,
                                        entry, stopped=bool(plan.problems)))


def _plan_features(plan: Plan, entry: Callable[[str], str]) -> None:
    """One content-keyed entry per sequence: the sequence, its MSAs' keys in merge order, its templates."""
    if plan.problems:
        return  # the run stops before any job; MSA or template entries may be unplanned
    for seq, sequence in plan.sequences.items():
        msas = plan.msa_entries.get(seq, [])
        templates = plan.template_features(seq)
        parts = {"kind": "features", "format": FEATURES_FORMAT, "sequence": sequence, "description": seq,
                 "msas": [[msa.name, msa.key] for msa in msas],
                 "templates": Path(templates).name if templates else None}
        key = content_key(parts)
        spec = {"sequence": sequence, "description": seq, "templates": templates, "parts": parts,
                "msas": [{"name": msa.name, "path": msa.path, "format": msa.format} for msa in msas]}
        entry(plan.features.add(seq, key, spec))


def _searched_chain_inputs(plan: Plan, target: Target) -> tuple[list[ChainInputs], list[dict[str, Any]]]:
    """A complex's chains' cache entries (MSAs, UniProt MSA, template features) and their keys, chain by chain."""
    heteromer = len({chain.sequence for chain in target.chains}) > 1
    inputs, keys = [], []
    for chain in target.chains:
        seq = chain.seq_key
        msas = plan.msa_entries.get(seq, [])
        uniprot = plan.pairing_entries.get(seq) if heteromer else None
        template_key = plan.chain_templates.keys.get(seq)
        templates = plan.chain_templates.features(seq) if template_key else None
        inputs.append(ChainInputs(chain.chain_id, chain.record_id, chain.sequence,
                                  tuple(MsaFile(msa.name, msa.path, msa.format) for msa in msas),
                                  MsaFile(uniprot.name, uniprot.path, uniprot.format) if uniprot else None,
                                  templates))
        keys.append({"chain_id": chain.chain_id, "record_id": chain.record_id, "seq": seq,
                     "msas": [[msa.name, msa.key] for msa in msas], "uniprot": uniprot.key if uniprot else None,
                     "templates": template_key})
    return inputs, keys


def _precomputed_template_settings(plan: Plan) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """How precomputed template hits are featurised (for the spec) and its key parts; None twice when off."""
    if not plan.templates_enabled:
        return None, None
    problems = pdb_seqres_database_problems(plan.config, plan.layout.verified_databases(),
                                            names=("pdb_mmcif", "obsolete_pdbs"))
    if problems:
        plan.problems.extend(problems)
        return None, None
    settings = pdb_seqres_settings(plan.config)
    filters = {name: plan.config["templates"][name] for name in
               ("max_template_date", "max_hits", "max_subsequence_ratio", "min_align_ratio", "min_template_length")}
    spec = {"mmcif_dir": settings.mmcif_dir, "obsolete": settings.obsolete, "filters": filters}
    identity = {**filters, "kalign": kalign_version(),
                "mmcif_dir": fingerprint(MULTIMER_TEMPLATE_DATABASES["pdb_mmcif"], settings.mmcif_dir),
                "obsolete": fingerprint(MULTIMER_TEMPLATE_DATABASES["obsolete_pdbs"], settings.obsolete)}
    return spec, identity


def _precomputed_chain_inputs(plan: Plan, target: Target) -> tuple[list[ChainInputs], list[dict[str, Any]]]:
    """A complex's chains' files in AlphaFold2's ``<precomputed_dir>/<complex>/msas/`` and their SHA-256s."""
    msas_dir = Path(plan.msa.precomputed_dir, target.name, "msas")
    chains = [(chain.chain_id, chain.record_id, chain.sequence) for chain in target.chains]
    inputs = alphafold_msas_inputs(msas_dir, chains, plan.config["msa"]["max_hits"], templates=plan.templates_enabled)
    problems = check_queries(inputs)
    if problems:
        raise SnakefoldError("; ".join(problems))
    keys = [{"chain_id": chain.chain_id, "record_id": chain.record_id, "seq": sequence_key(chain.sequence),
             "files": [[Path(path).name, file_sha256(path)] for path in chain.files()]} for chain in inputs]
    return inputs, keys


def _plan_complex_features(plan: Plan, entry: Callable[[str], str]) -> None:
    """One content-keyed entry per complex: its chains' inputs' keys in chain order and the pairing settings."""
    if plan.problems or not plan.batch.complexes:
        return  # the run stops before any job; MSA or template entries may be unplanned
    precomputed = plan.msa.mode == "precomputed"
    template_spec, template_identity = _precomputed_template_settings(plan) if precomputed else (None, None)
    for target in plan.batch.complexes:
        try:
            inputs, keys = (_precomputed_chain_inputs if precomputed else _searched_chain_inputs)(plan, target)
        except SnakefoldError as error:
            plan.problems.append(f"complex '{target.name}' ({target.path}, line {target.line}): {error}; config key "
                                 "'msa.precomputed_dir' (AlphaFold2's msas/ directory of each complex goes in "
                                 "<precomputed_dir>/<complex>/msas/)")
            continue
        parts = {"kind": "complex_features", "format": COMPLEX_FEATURES_FORMAT, "pairing": PAIRING_SETTINGS,
                 "chains": keys, "templates": template_identity}
        key = content_key(parts)
        spec = {"parts": parts, "chains": [chain.to_spec() for chain in inputs], "templates": template_spec}
        files = tuple(dict.fromkeys(path for chain in inputs for path in chain.files()))
        for path in plan.features.add_complex(target.name, key, files, spec):
            entry(path)
