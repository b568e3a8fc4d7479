"""Regression mode: `snakemake regression` checks config regression.targets; `snakemake regression_refresh`
rewrites their golden outputs on purpose.

    regression_check   one target: its best model against the reference structure and every model run
                       against the golden outputs -> {REGRESSION_DIR}/targets/<target>.json (a verdict; the
                       job succeeds whatever the verdict, so the verdict is kept)
    regression_report  every verdict -> {REGRESSION_DIR}/report.md and junit.xml
    regression         fails (exit 1) naming each target and metric that regressed; it has no output files,
                       so Snakemake has nothing to delete: the report and JUnit XML stay for CI to read
    regression_refresh writes each target's golden outputs from its predictions (snakefold regression refresh)

A golden directory is not a job input (it may not exist yet, and then regression_check says how to make
it); a parameter holding its files' checksums makes a refreshed or changed golden directory re-run the check.
"""

from snakefold.plan.cache import content_key, file_sha256
from snakefold.report.checks import THRESHOLD_KEYS

REGRESSION = config["regression"]
REGRESSION_DIR = REGRESSION["output_dir"]
#: target name -> its regression.targets entry
REGRESSION_TARGETS = {}

for _index, _entry in enumerate(REGRESSION["targets"]):
    _key = f"regression.targets[{_index}]"
    _name = _entry["target"]
    if _name not in TARGETS:
        CONFIG_PROBLEMS.append(f"config key '{_key}.target': '{_name}' is not a target of this batch "
                               f"(targets: {', '.join(TARGETS) or 'none'})")
    elif _name in REGRESSION_TARGETS:
        CONFIG_PROBLEMS.append(f"config key '{_key}.target': '{_name}' is listed twice in regression.targets")
    if "reference" not in _entry and "golden" not in _entry:
        CONFIG_PROBLEMS.append(f"config key '{_key}': give 'reference' (a structure), 'golden' (a directory of "
                               "golden outputs) or both")
    if "reference" in _entry:
        require_path(f"{_key}.reference", _entry["reference"], "reference structure")
    REGRESSION_TARGETS[_name] = _entry


def regression_thresholds(name):
    """The thresholds of regression target ``name``: regression.thresholds, then the target's own keys."""
    return {**REGRESSION["thresholds"], **REGRESSION_TARGETS[name].get("thresholds", {})}


def _threshold_arguments(wildcards):
    thresholds = regression_thresholds(wildcards.target)
    return " ".join(f"--{key.replace('_', '-')} {'none' if thresholds[key] is None else float(thresholds[key])}"
                    for key in THRESHOLD_KEYS)


def _optional_arguments(wildcards):
    """--reference, --chain and --golden as a list of words (each quoted by the shell command's :q)."""
    entry = REGRESSION_TARGETS[wildcards.target]
    return [word for key in ("reference", "chain", "golden") if key in entry for word in (f"--{key}", entry[key])]


def _golden_stamp(wildcards):
    golden = REGRESSION_TARGETS[wildcards.target].get("golden")
    manifest = Path(golden or "") / "manifest.json"
    return ("absent" if not (golden and manifest.is_file()) else
            content_key({path.name: file_sha256(path) for path in manifest.parent.iterdir() if path.is_file()}))


_VERDICTS = [f"{REGRESSION_DIR}/targets/{name}.json" for name in REGRESSION_TARGETS]


rule regression_check:
    input:
        best_model=f"{RESULTS}/{{target}}/ranked_0.pdb",
        ranking=f"{RESULTS}/{{target}}/ranking.json",
        reference=lambda wildcards: REGRESSION_TARGETS[wildcards.target].get("reference", []),
        record=target_record_path("{target}"),
    output:
        f"{REGRESSION_DIR}/targets/{{target}}.json",
    wildcard_constraints:
        target="|".join(re.escape(name) for name in REGRESSION_TARGETS) or "(?!)",
    params:
        work_dir=lambda wildcards: f"{WORK}/{TARGETS[wildcards.target].seq_key}",
        optional=_optional_arguments,
        golden_stamp=_golden_stamp,
        thresholds=_threshold_arguments,
    log:
        f"{LOGS}/regression/check_{{target}}.log",
    threads: stage_threads(config, "regression")
    resources:
        **stage_resources(config, "regression"),
    shell:
        "snakefold regression check --record {input.record:q}"
        " --best-model {input.best_model:q} --work-dir {params.work_dir:q} {params.optional:q}"
        " {params.thresholds} --output {output:q}"
        " > {log:q} 2>&1"


rule regression_report:
    input:
        _VERDICTS,
    output:
        markdown=f"{REGRESSION_DIR}/report.md",
        junit=f"{REGRESSION_DIR}/junit.xml",
    log:
        f"{LOGS}/regression/report.log",
    localrule: True
    threads: stage_threads(config, "regression")
    resources:
        **stage_resources(config, "regression"),
    shell:
        "snakefold regression report {input:q} --markdown {output.markdown:q} --junit {output.junit:q} 2> {log:q}"


rule regression:
    input:
        verdicts=_VERDICTS,
        markdown=rules.regression_report.output.markdown,
        junit=rules.regression_report.output.junit,
    log:
        f"{LOGS}/regression/verdict.log",
    localrule: True
    threads: stage_threads(config, "regression")
    resources:
        **stage_resources(config, "regression"),
    shell:
        "snakefold regression verdict {input.verdicts:q} --report {input.markdown:q} 2>&1 | tee {log:q}"


rule regression_refresh:
    input:
        rankings=[f"{RESULTS}/{name}/ranking.json" for name, entry in REGRESSION_TARGETS.items() if "golden" in entry],
        records=[target_record_path(name) for name, entry in REGRESSION_TARGETS.items() if "golden" in entry],
    log:
        f"{LOGS}/regression/refresh.log",
    localrule: True
    threads: stage_threads(config, "regression")
    resources:
        **stage_resources(config, "regression"),
    run:
        for name, entry in REGRESSION_TARGETS.items():
            if "golden" not in entry:
                continue
            record, golden = target_record_path(name), entry["golden"]
            work_dir = f"{WORK}/{TARGETS[name].seq_key}"
            shell("snakefold regression refresh --record {record:q}"
                  " --work-dir {work_dir:q} --golden {golden:q} 2>&1 | tee -a {log:q}")
