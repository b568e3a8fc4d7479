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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Batch, Target, sequence_key
from snakefold.common.hashing import file_sha256
from snakefold.common.snakemake_internals import job_functions
from snakefold.common.target_record import batch_document, record_json
from snakefold.install.databases import MULTIMER_TEMPLATE_DATABASES, fingerprint
from snakefold.msa.complex_inputs import ChainInputs, MsaFile, alphafold_msas_inputs, check_queries
from snakefold.msa.formats import query_of_msa_file
from snakefold.plan.batch import batch_from_config, intake_report, rejected_tsv, targets_tsv
from snakefold.plan.cache import content_key
from snakefold.plan.config import validate_config
from snakefold.plan.downloads import DownloadStage
from snakefold.plan.features import COMPLEX_FEATURES_FORMAT, FEATURES_FORMAT, PAIRING_SETTINGS, FeatureStage
from snakefold.plan.integrity import damaged_files, remove_damaged
from snakefold.plan.layout import TARGET_NAME, Layout
from snakefold.plan.model import model_section_problems
from snakefold.plan.msa import TOOL_VERSIONS, MsaPlan, database_problems, msa_plan, precomputed_msa_file
from snakefold.plan.predict import PredictStage
from snakefold.plan.regression import RegressionStage, plan_regression
from snakefold.plan.report import ReportStage
from snakefold.plan.templates import HHSEARCH, PDB_SEQRES, TemplateSearch, TemplateStage, plan_templates
from snakefold.templates.pdb_seqres import pdb_seqres_database_problems, pdb_seqres_settings
from snakefold.tools.kalign import kalign_version

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
