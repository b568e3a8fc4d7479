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

The model runs of a sequence are ranked where a ranking is used (relax, report: :mod:`snakefold.common.ranking`).

Complexes (:mod:`snakefold.plan.complexes`) are searched per distinct chain: every chain gets the MSA
searches (shared, by content, with single-chain targets of the same sequence and other complexes and
batches), and every chain of a heteromeric complex the UniProt pairing search (:mod:`snakefold.plan.searches`)
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
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from snakefold.common.fasta import Batch, Target
from snakefold.common.snakemake_internals import job_functions
from snakefold.common.target_record import batch_document
from snakefold.plan.batch import batch_from_config, intake_report, rejected_tsv, targets_tsv
from snakefold.plan.config import validate_config
from snakefold.plan.downloads import DownloadStage
from snakefold.plan.features import FeatureStage, plan_complex_features, plan_features
from snakefold.plan.integrity import damaged_files, remove_damaged
from snakefold.plan.layout import TARGET_NAME, Layout
from snakefold.plan.model import model_section_problems
from snakefold.plan.predict import PredictStage
from snakefold.plan.regression import RegressionStage, plan_regression
from snakefold.plan.report import ReportStage
from snakefold.plan.searches import SearchStage, plan_searches
from snakefold.plan.templates import HHSEARCH, PDB_SEQRES, TemplateSearch, TemplateStage, plan_templates


@job_functions
@dataclass(repr=False)
class Plan:
    config: dict
    layout: Layout
    batch: Batch
    problems: list[str] = field(default_factory=list)
    #: the MSA searches of every distinct sequence and chain (:mod:`snakefold.plan.searches`)
    searches: SearchStage | None = None
    #: the template search of each distinct single-chain sequence (hhsearch) and of each distinct chain of the
    #: complexes (hmmsearch against pdb_seqres): :mod:`snakefold.plan.templates`
    templates: TemplateStage | None = None
    chain_templates: TemplateStage | None = None
    #: the features and complex_features jobs (:mod:`snakefold.plan.features`)
    features: FeatureStage | None = None
    #: the predict and relax jobs (:mod:`snakefold.plan.predict`)
    predict: PredictStage | None = None
    #: the report, pulldown and default rules (:mod:`snakefold.plan.report`)
    report: ReportStage | None = None
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
    def stop_with(self, problems: str | list[str]) -> None:
        """Add ``problems`` (one or several) and stop (with every other problem of the plan)."""
        self.problems.extend([problems] if isinstance(problems, str) else problems)
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
            sealed=[layout.batch_records(), *self.predict.sealed_files()], result_dirs=[layout.target_dir(target.name) for target in targets])
        dry_run = self.is_dry_run()
        if not dry_run:
            remove_damaged(damaged)
        for file in damaged:
            print(f"snakefold: {file.notice(dry_run)}", file=sys.stderr)

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
    plan.predict = PredictStage(config, layout, plan.sequences, plan.complex_sequences, plan.features, plan.ready,
                                plan.stop_with)
    plan.report = ReportStage(layout, plan.targets, plan.complexes,
                              [target for target in plan.batch.complexes if target.name in plan.batch.pulldown],
                              plan.predict, plan.features, plan.ready)
    plan.templates = TemplateStage(plan.sequences, layout.template_entry, layout.query_fasta, plan.ready)
    plan.chain_templates = TemplateStage(plan.batch.chain_sequences, layout.chain_template_entry, layout.query_fasta,
                                         plan.ready)
    plan.searches, problems = plan_searches(config, layout, plan.search_sequences, plan.batch.paired_chain_keys,
                                            plan.targets, plan.ready, entry, stopped=bool(plan.problems))
    plan.problems.extend(problems)
    if plan.templates_enabled and plan.sequences:
        _plan_template_stage(plan, plan.templates, HHSEARCH, entry)
    if plan.templates_enabled and plan.batch.complexes and plan.searches.msa.mode != "precomputed":
        _plan_template_stage(plan, plan.chain_templates, PDB_SEQRES, entry)
    if not plan.problems:  # else the run stops before any job; MSA or template entries may be unplanned
        plan_features(plan.features, plan.searches, plan.template_features, entry)
        if plan.complexes:
            plan.problems.extend(plan_complex_features(plan.features, plan.searches, plan.chain_templates, config,
                                                       layout, entry))
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


def _plan_template_stage(plan: Plan, stage: TemplateStage, search: TemplateSearch,
                         entry: Callable[[str], str]) -> None:
    """One template search of every sequence of ``stage``, from each sequence's first MSA."""
    plan.problems.extend(plan_templates(stage, search, plan.config, plan.layout.verified_databases(),
                                        plan.searches.first_msas(), entry, stopped=bool(plan.problems)))


