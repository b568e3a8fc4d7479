"""The report stage through the real Snakefile, and the figures' layout.

One pipeline run is shared by the module (``batch``): a batch of three targets with precomputed MSAs (no
database), small random parameters of model_1_ptm and model_3, no recycling, the best model relaxed by
OpenMM with a small iteration cap, run with ``--keep-going``. Two targets succeed; the third
(``broken_msa``) fails for a real reason: a row of its a3m file has fewer aligned columns than the query,
which the features job rejects (the DAG only checks an MSA file's first row before any job runs). The
tests check every per-target file of README's "Outputs" table against the schemas, the structure readers
and the raw predict-stage outputs, the batch summary with the failure, and the Snakemake report. The
regression mode then runs through the DAG (``regression``) on a copy of that run, with a CI config as
README's "Regression runs in CI" describes it: refresh the golden outputs, predict again and pass, then
fail on moved golden coordinates naming the target and the metric.

The figure tests at the end need no pipeline: they draw the PAE figure for 1, 2 and 5 pTM models and check
that every label, the colour bar and the untrained-parameters warning lie inside the figure.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import jsonschema
import mdtraj
import numpy as np
import pytest
import yaml
from Bio.PDB import MMCIFParser, PDBParser
from Bio.PDB.MMCIF2Dict import MMCIF2Dict
from matplotlib.image import imread
from matplotlib.text import Text

from snakefold.common.fasta import sequence_key
from snakefold.report import plots
from snakefold.report.predictions import load_model
from tests.predict.params import write_small_params
from tests.report.conftest import UBIQUITIN
from tests.report.synthetic import write_sequence_outputs
from tests.workflow.conftest import job_counts, run_snakemake, write_config

SCHEMAS = Path(plots.__file__).resolve().parent / "schemas"
UNTRAINED = "parameters are untrained (random); structures are meaningless"
PRESETS = ["model_1_ptm", "model_3"]
MODELS = ["model_1_ptm_seed0", "model_3_seed0"]
#: The targets that succeed, and the one whose MSA file is damaged (its first row is right).
GOOD = {"tiny": "MKTAYIAKQRQISFVK", "helix": "GSAEELLKRAEELLKRG"}
BROKEN, BROKEN_SEQUENCE = "broken_msa", "MKVLAWGDEWTRPLAQ"
BROKEN_ERROR = f"msas/{BROKEN}.a3m:3: record 'hit0' has 13 aligned columns (upper-case letters and '-'), " \
               "but the query has 16"
#: README's "Outputs" table for two models, one of them with a PAE head.
TARGET_FILES = {"ranking.json", "timings.json", "ranked_0.pdb", "ranked_0.cif", "ranked_1.pdb", "ranked_1.cif",
                "confidence_model_1_ptm_seed0.json", "confidence_model_3_seed0.json",
                "pae_model_1_ptm_seed0.json", "plddt.png", "pae.png", "coverage.png", "SHA256SUMS"}
#: Figure -> (height, width) in pixels at the default 100 dpi (pae.png: one panel, model_1_ptm's).
FIGURE_SHAPES = {"plddt.png": (480, 900), "pae.png": (440, 460), "coverage.png": (500, 900)}
REGRESSION_TARGET = "tiny"


def homologous_a3m(sequence: str) -> str:
    """The query and five distinct homologues: gaps at the ends and inside, substitutions, an insertion."""
    length = len(sequence)
    rows = [
        sequence,
        "--" + sequence[2:],
        sequence[:4] + "W" + sequence[5:9] + "P" + sequence[10:],
        sequence[:6] + "kg" + sequence[6:12] + "-" * (length - 12),
        "G" + sequence[1:7] + "--" + sequence[9:],
        "-" * 3 + sequence[3:8] + "lv" + sequence[8:].replace("K", "R"),
    ]
    return "".join(f">{'query' if index == 0 else f'hit{index}'}\n{row}\n" for index, row in enumerate(rows))


def _elapsed(function, *args, **kwargs):
    start = time.monotonic()
    return function(*args, **kwargs), time.monotonic() - start


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _schema_problems(kind: str, document) -> list[str]:
    validator = jsonschema.Draft202012Validator(_json(SCHEMAS / f"{kind}.schema.json"))
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def _summary_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _raw(workdir: Path, sequence: str, model: str) -> dict:
    directory = workdir / "results" / "_work" / sequence_key(sequence) / "predictions" / model
    with np.load(directory / "outputs.npz", allow_pickle=False) as outputs:
        arrays = {key: outputs[key] for key in outputs}
    return {"scores": _json(directory / "scores.json"), **arrays}


def _report_results(html: str) -> dict:
    """The files a Snakemake HTML report embeds: path -> {labels, mime_type, bytes}."""
    match = re.search(r'<script id="results">\s*var results = (\{.*?\});?\s*</script>', html, re.S)
    assert match, "the report embeds no results"
    embedded = {}
    for path, entry in json.loads(match.group(1)).items():
        header, data = entry["data_uri"].split(",", 1)
        assert header.endswith(";base64")
        embedded[path] = {"labels": entry["labels"], "mime_type": entry["mime_type"], "bytes": base64.b64decode(data)}
    return embedded


def _warning_pixels(image: np.ndarray) -> np.ndarray:
    """[rows, columns] of the pixels drawn in the warning's red (#b00020), which no other figure element uses."""
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    return np.argwhere((red > 0.5) & (green < 0.2) & (blue < 0.3))


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict:
    """The shared pipeline run (with --keep-going), then `snakemake --report report.html` on its results."""
    workdir = tmp_path_factory.mktemp("report_workflow")
    params = write_small_params(workdir / "params")
    records = {**GOOD, BROKEN: BROKEN_SEQUENCE}
    (workdir / "in.fasta").write_text("".join(f">{name} test target {name}\n{sequence}\n"
                                              for name, sequence in records.items()))
    (workdir / "msas").mkdir()
    for name, sequence in GOOD.items():
        (workdir / "msas" / f"{name}.a3m").write_text(homologous_a3m(sequence))
    (workdir / "msas" / f"{BROKEN}.a3m").write_text(
        f">query\n{BROKEN_SEQUENCE}\n>hit0\n{BROKEN_SEQUENCE[:13]}\n>hit1\n{BROKEN_SEQUENCE}\n")
    config = {
        "inputs": ["in.fasta"],
        "msa": {"mode": "precomputed", "precomputed_dir": "msas"},
        "templates": {"enabled": False},
        "model": {"presets": PRESETS, "params_dir": str(params), "num_recycle": 0, "length_buckets": [32]},
        "relax": {"mode": "best", "platform": "CPU", "max_iterations": 100, "max_outer_iterations": 1},
    }
    config_path = write_config(workdir, config)
    run, run_s = _elapsed(run_snakemake, workdir, "--cores", "2", "--keep-going", "--configfile", str(config_path))
    summary_text = (workdir / "results" / "summary.tsv").read_text(encoding="utf-8")
    report, report_s = _elapsed(run_snakemake, workdir, "completed", "--configfile", str(config_path),
                                  "--report", "report.html")
    print(f"\nreport workflow: pipeline run {run_s:.0f} s, snakemake --report {report_s:.0f} s")
    return {"workdir": workdir, "config": config, "run": run, "summary_text": summary_text, "report": report}


@pytest.mark.slow
def test_the_run_fails_but_builds_every_other_target(batch):
    run = batch["run"]
    output = run.stdout + run.stderr
    assert run.returncode != 0, "a failed job must fail the run"
    assert "Traceback" not in output, output
    results = batch["workdir"] / "results"
    for name in GOOD:
        assert {path.name for path in (results / name).iterdir()} == TARGET_FILES, name
    assert not (results / BROKEN / "ranking.json").exists()
    assert f"{BROKEN} failed" in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", GOOD)
def test_json_outputs_follow_their_schemas_and_the_raw_outputs(batch, name):
    workdir, sequence = batch["workdir"], GOOD[name]
    out_dir = workdir / "results" / name
    raw = {model: _raw(workdir, sequence, model) for model in MODELS}

    ranking = _json(out_dir / "ranking.json")
    assert _schema_problems("ranking", ranking) == []
    by_plddt = sorted(MODELS, key=lambda model: -raw[model]["scores"]["mean_plddt"])
    assert ranking["metric"] == "plddt" and ranking["order"] == by_plddt
    assert (ranking["sequence"], ranking["length"]) == (sequence, len(sequence))
    assert ranking["msa_depth"] == homologous_a3m(sequence).count(">")
    assert ranking["untrained"] is True and ranking["warning"] == UNTRAINED
    for entry in ranking["models"]:
        scores = raw[entry["model"]]["scores"]
        assert entry["mean_plddt"] == pytest.approx(scores["mean_plddt"])
        assert entry["mean_plddt"] == pytest.approx(float(np.mean(raw[entry["model"]]["plddt"])), abs=1e-4)
        assert entry["ptm"] == scores["ptm"] and entry["num_recycles"] == scores["num_recycles"] == 0
        assert entry["params"]["untrained"] is True and entry["relaxed"] == (entry["rank"] == 0)

    for model in MODELS:
        confidence = _json(out_dir / f"confidence_{model}.json")
        assert _schema_problems("confidence", confidence) == []
        assert confidence["residueNumber"] == list(range(1, len(sequence) + 1))
        assert confidence["confidenceScore"] == pytest.approx(raw[model]["plddt"], abs=0.005)
    pae = _json(out_dir / "pae_model_1_ptm_seed0.json")
    assert _schema_problems("pae", pae) == []
    assert np.array_equal(np.array(pae[0]["predicted_aligned_error"]),
                          np.rint(raw["model_1_ptm_seed0"]["predicted_aligned_error"]))
    assert pae[0]["max_predicted_aligned_error"] == pytest.approx(
        float(raw["model_1_ptm_seed0"]["max_predicted_aligned_error"]))

    timings = _json(out_dir / "timings.json")
    assert _schema_problems("timings", timings) == []
    for model in MODELS:
        assert timings["stages"]["predict"][model]["predict_s"] == raw[model]["scores"]["timings"]["predict_s"]
    assert timings["stages"]["relax"]["rank_0"]["wall_time_s"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", GOOD)
def test_ranked_structures_carry_the_models_and_their_plddt(batch, name):
    workdir, sequence = batch["workdir"], GOOD[name]
    out_dir = workdir / "results" / name
    order = _json(out_dir / "ranking.json")["order"]
    relaxed_path = workdir / "results" / "_work" / sequence_key(sequence) / "relaxed" / "rank_0.pdb"
    for rank, model in enumerate(order):
        raw = _raw(workdir, sequence, model)
        plddt = np.array(raw["scores"]["plddt"])
        assert plddt == pytest.approx(raw["plddt"], abs=1e-4)
        pdb_path, cif_path = out_dir / f"ranked_{rank}.pdb", out_dir / f"ranked_{rank}.cif"
        structures = [PDBParser(QUIET=True).get_structure(name, str(pdb_path)),
                      MMCIFParser(QUIET=True).get_structure(name, str(cif_path))]
        for structure in structures:
            residues = list(structure[0].get_residues())
            assert len(residues) == len(sequence)
            for residue, value in zip(residues, plddt):
                assert {round(atom.get_bfactor(), 2) for atom in residue} == {round(float(value), 2)}
        atoms = list(structures[0].get_atoms())
        coordinates = np.array([atom.coord for atom in atoms])
        assert np.allclose(coordinates, [atom.coord for atom in structures[1].get_atoms()], atol=1e-3)
        ca = np.array([residue["CA"].coord for residue in structures[0][0].get_residues()])
        predicted_ca = raw["structure_module/final_atom_positions"][:, 1]
        if rank == 0:  # the relax stage's model, moved by OpenMM away from the prediction
            relaxed = PDBParser(QUIET=True).get_structure("relaxed", str(relaxed_path))
            assert np.allclose(coordinates, [atom.coord for atom in relaxed.get_atoms()], atol=1e-3)
            assert np.abs(ca - predicted_ca).max() > 0.01
        else:  # unrelaxed: the predicted heavy atoms as they are
            assert len(atoms) == int(raw["structure_module/final_atom_mask"].sum())
            assert np.allclose(ca, predicted_ca, atol=1e-3)

        table = MMCIF2Dict(str(cif_path))
        assert table["_entity_poly.pdbx_seq_one_letter_code_can"][0].replace("\n", "") == sequence
        assert [float(value) for value in table["_ma_qa_metric_local.metric_value"]] == pytest.approx(
            plddt, abs=0.006)
        assert UNTRAINED in table["_struct.pdbx_model_details"][0] and model in table["_struct.pdbx_model_details"][0]
        for path in (pdb_path, cif_path):
            trajectory = mdtraj.load(str(path))
            assert trajectory.topology.to_fasta() == [sequence] and trajectory.n_atoms == len(atoms)


@pytest.mark.slow
@pytest.mark.parametrize("name", GOOD)
def test_figures_are_real_images_with_the_whole_warning(batch, name):
    out_dir = batch["workdir"] / "results" / name
    for figure, shape in FIGURE_SHAPES.items():
        path = out_dir / figure
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        image = imread(path)
        assert image.shape == (*shape, 4), figure
        assert image[..., :3].std() > 0.05, f"{figure} is blank"
    for figure in ("pae.png", "plddt.png"):
        image = imread(out_dir / figure)
        warning = _warning_pixels(image)
        assert len(warning) > 200, f"{figure} shows no untrained-parameters warning"
        height, width = image.shape[:2]
        assert warning[:, 1].min() >= 5 and warning[:, 1].max() <= width - 6, f"{figure}: the warning is cut off"
        assert warning[:, 0].min() > height * 0.75, f"{figure}: the warning is not under the axes"


@pytest.mark.slow
def test_summary_lists_every_target_and_the_failure_with_its_log(batch):
    workdir = batch["workdir"]
    rows = _summary_rows(workdir / "results" / "summary.tsv")
    assert (workdir / "results" / "summary.tsv").read_text(encoding="utf-8") == batch["summary_text"], \
        "snakemake --report must not rewrite the summary"
    assert [row["target"] for row in rows] == [*GOOD, BROKEN]
    for row in rows[:2]:
        ranking = _json(workdir / "results" / row["target"] / "ranking.json")
        best = ranking["models"][0]
        assert row["status"] == "ok" and row["error"] == "" and row["log"] == ""
        assert (row["length"], row["msa_depth"]) == (str(ranking["length"]), str(ranking["msa_depth"]))
        assert row["best_model"] == ranking["order"][0]
        assert row["mean_plddt"] == f"{best['mean_plddt']:.2f}"
        assert row["ptm"] == ("" if best["ptm"] is None else f"{best['ptm']:.3f}")
        assert row["relaxed"] == "yes" and row["note"] == UNTRAINED
    failed = rows[2]
    assert failed["status"] == "failed" and failed["length"] == str(len(BROKEN_SEQUENCE))
    assert re.fullmatch(r"results/_logs/features/[0-9a-f]{24}\.log", failed["log"]), failed
    assert (workdir / failed["log"]).is_file()
    assert "features" in failed["error"] and failed["best_model"] == ""


@pytest.mark.slow
def test_summary_shows_the_error_of_the_failed_job(batch):
    failed = _summary_rows(batch["workdir"] / "results" / "summary.tsv")[2]
    assert failed["error"] == f"snakefold features: {BROKEN_ERROR}"


@pytest.mark.slow
def test_snakemake_report_holds_the_summary_and_every_plot(batch):
    report = batch["report"]
    assert report.returncode == 0, report.stdout + report.stderr
    workdir = batch["workdir"]
    embedded = _report_results((workdir / "report.html").read_text(encoding="utf-8"))
    figures = {f"results/{name}/{figure}" for name in GOOD for figure in FIGURE_SHAPES}
    assert set(embedded) == figures | {"results/summary.html", "results/summary.tsv"}
    for path, entry in embedded.items():
        assert entry["bytes"] == (workdir / path).read_bytes(), path
    for path in figures:
        assert embedded[path]["mime_type"] == "image/png"
        assert embedded[path]["labels"] == {"target": path.split("/")[1], "figure": Path(path).stem}
    page = embedded["results/summary.html"]["bytes"].decode("utf-8")
    assert "3 record(s): 2 ok, 1 failed" in page
    assert f"<td>{BROKEN}</td>" in page and "<td>failed</td>" in page
    assert f"Note: {UNTRAINED}." in page


def _regression_config(workdir: Path, batch_config: dict) -> Path:
    """ci.yaml: the regression target alone, checked against golden outputs and, as its reference structure,
    the best model of the first run. Relaxation is left out: OpenMM places the added hydrogens a little
    differently in each run, which moves a relaxed model of random parameters by Angstroms; unrelaxed, the
    best model of a second prediction must be the first one exactly."""
    (workdir / "ci.fasta").write_text(f">{REGRESSION_TARGET} test target {REGRESSION_TARGET}\n"
                                      f"{GOOD[REGRESSION_TARGET]}\n")
    (workdir / "refs").mkdir()
    best = _json(workdir / "results" / REGRESSION_TARGET / "ranking.json")["order"][0]
    work_dir = workdir / "results" / "_work" / sequence_key(GOOD[REGRESSION_TARGET])
    shutil.copy(work_dir / "predictions" / best / "unrelaxed.pdb", workdir / "refs" / "tiny_first_run.pdb")
    entry = {"target": REGRESSION_TARGET, "reference": "refs/tiny_first_run.pdb",
             "golden": f"golden/{REGRESSION_TARGET}"}
    config = {**batch_config, "inputs": ["ci.fasta"], "relax": {"mode": "none"},
              "regression": {"targets": [entry]}}
    path = workdir / "ci.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_deleted_result_files_come_back_as_they_were(batch, tmp_path_factory):
    """Every file under results/ is a declared output: deleting any of a target's files and running again
    restores exactly that target's files, byte for byte (timings aside), and `snakefold verify` passes."""
    workdir = tmp_path_factory.mktemp("deleted_results") / "run"
    shutil.copytree(batch["workdir"], workdir, symlinks=True)
    out_dir = workdir / "results" / "tiny"
    before = {path.name: path.read_bytes() for path in out_dir.iterdir()}
    other = {path.name: path.stat().st_mtime_ns for path in (workdir / "results" / "helix").iterdir()}
    for name in ("pae.png", "ranked_0.pdb"):
        (out_dir / name).unlink()
    again = run_snakemake(workdir, "--cores", "2", "--keep-going", "--configfile", str(workdir / "config.yaml"))
    assert "Traceback" not in again.stdout + again.stderr
    # the report is asked for by its SHA256SUMS, which lists the deleted files: removed, so the report runs again
    assert ("results/tiny/SHA256SUMS was removed, of the files it lists, pae.png is gone, ranked_0.pdb is gone; the "
            "report runs again") in again.stderr, again.stderr
    # tiny's report runs again (and broken_msa's is still planned: its features fail as before)
    assert job_counts(again.stdout + again.stderr).get("report_target") == 2, again.stderr
    assert any(line.strip().startswith("reason: Missing output files") and "results/tiny/SHA256SUMS" in line
               for line in again.stderr.splitlines()), again.stderr
    after = {path.name: path.read_bytes() for path in out_dir.iterdir()}
    assert set(after) == set(before)
    changed = sorted(name for name in before if after[name] != before[name])
    assert changed in ([], ["SHA256SUMS", "timings.json"], ["timings.json"]), changed
    assert {path.name: path.stat().st_mtime_ns for path in (workdir / "results" / "helix").iterdir()} == other
    verify = subprocess.run([str(Path(sys.executable).parent / "snakefold"), "verify", "results"], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    assert "tiny: ok" in verify.stdout and "helix: ok" in verify.stdout, verify.stdout + verify.stderr


@pytest.mark.slow
def test_a_truncated_model_output_is_named_and_removed_and_the_earlier_results_are_kept(batch, tmp_path_factory):
    """A damaged intermediate (outputs.npz cut in half) is named and removed before any job runs, without a
    traceback; the target's results, made while it was sound, are kept as they are (no report job runs on
    it). When a result needs the model again (ranked_0.pdb deleted), that model is predicted again and the
    target's files are complete and verified."""
    workdir = tmp_path_factory.mktemp("truncated_outputs") / "run"
    shutil.copytree(batch["workdir"], workdir, symlinks=True)
    outputs = workdir / "results" / "_work" / sequence_key(GOOD["tiny"]) / "predictions" / MODELS[0] / "outputs.npz"
    outputs.write_bytes(outputs.read_bytes()[: outputs.stat().st_size // 2])
    results = {path.name: path.read_bytes() for path in (workdir / "results" / "tiny").iterdir()}
    config = str(workdir / "config.yaml")
    first = run_snakemake(workdir, "--cores", "2", "--keep-going", "--configfile", config)
    assert "Traceback" not in first.stdout + first.stderr
    assert f"snakefold: {outputs.relative_to(workdir)} was removed, its size is" in first.stderr, first.stderr
    assert not outputs.exists()
    assert {path.name: path.read_bytes() for path in (workdir / "results" / "tiny").iterdir()} == results
    rows = {row["target"]: row for row in _summary_rows(workdir / "results" / "summary.tsv")}
    assert rows["tiny"]["status"] == "ok", rows["tiny"]

    (workdir / "results" / "tiny" / "ranked_0.pdb").unlink()
    second = run_snakemake(workdir, "--cores", "2", "--keep-going", "--configfile", config)
    assert f"output: {outputs.parent.relative_to(workdir)}/unrelaxed.pdb" in second.stderr, second.stderr
    assert {path.name for path in (workdir / "results" / "tiny").iterdir()} == TARGET_FILES
    verify = subprocess.run([str(Path(sys.executable).parent / "snakefold"), "verify", "results"], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    assert "tiny: ok" in verify.stdout, verify.stdout + verify.stderr


def _files_under(*directories: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``directories``: its bytes and modification time (ns), by path."""
    return {str(path): (path.read_bytes(), path.stat().st_mtime_ns)
            for directory in directories for path in sorted(directory.rglob("*")) if path.is_file()}


@pytest.mark.slow
def test_a_dry_run_changes_nothing_on_disk_and_says_what_a_real_run_would_remove(batch, tmp_path_factory):
    """Files of each kind that a real run removes as damaged (a hand-edited result, a truncated model output, an
    edited cache entry, an edited batch file of target records): a dry run leaves every file under results/ and cache/ as it
    was, byte for byte and mtime for mtime, and names each file a real run would remove; the real run then
    removes them and writes them again, and the target's results verify."""
    workdir = tmp_path_factory.mktemp("dry_run") / "run"
    shutil.copytree(batch["workdir"], workdir, symlinks=True)
    results = workdir / "results"
    edited_result = results / "tiny" / f"confidence_{MODELS[1]}.json"
    original_result = edited_result.read_bytes()
    edited_result.write_text(edited_result.read_text().replace("[", "[ ", 1))
    model_output = results / "_work" / sequence_key(GOOD["helix"]) / "predictions" / MODELS[0] / "outputs.npz"
    model_output.write_bytes(model_output.read_bytes()[: model_output.stat().st_size // 2])
    cache_entry = sorted((workdir / "cache" / "features").glob("*.npz"))[0]
    cache_entry.write_bytes(cache_entry.read_bytes() + b"\0")
    record = results / "_work" / "batch.json"
    record.write_text(record.read_text().replace('"helix"', '"helices"'))
    damaged = [path.relative_to(workdir) for path in (edited_result, model_output, cache_entry, record)]
    before = _files_under(results, workdir / "cache")
    config = str(workdir / "config.yaml")

    dry = run_snakemake(workdir, "-n", "--configfile", config)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert _files_under(results, workdir / "cache") == before
    for path in damaged:
        assert re.search(rf"snakefold: (cache entry )?{re.escape(str(path))} would be removed by a real run, ",
                         dry.stderr), (path, dry.stderr)
    assert "was removed" not in dry.stderr

    real = run_snakemake(workdir, "--cores", "2", "--keep-going", "--configfile", config)
    assert "Traceback" not in real.stdout + real.stderr
    for path in damaged:
        assert re.search(rf"snakefold: (cache entry )?{re.escape(str(path))} was removed, ", real.stderr), (
            path, real.stderr)
    assert edited_result.read_bytes() == original_result
    verify = subprocess.run([str(Path(sys.executable).parent / "snakefold"), "verify", "results"], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    assert "tiny: ok" in verify.stdout and "helix: ok" in verify.stdout, verify.stdout + verify.stderr


@pytest.fixture(scope="module")
def regression(batch, tmp_path_factory) -> dict:
    """On a copy of the batch's run: refresh the golden outputs, predict again and check, move golden
    coordinates and check again, each with README's command."""
    workdir = tmp_path_factory.mktemp("regression_workflow") / "run"
    shutil.copytree(batch["workdir"], workdir, symlinks=True)
    config = _regression_config(workdir, batch["config"])
    refresh, refresh_s = _elapsed(run_snakemake, workdir, "regression_refresh", "--configfile", str(config),
                                  "--cores", "2")
    golden = workdir / "golden" / REGRESSION_TARGET
    first_golden = {path.name: path.read_bytes() for path in golden.iterdir()}
    second, second_s = _elapsed(run_snakemake, workdir, "all", "regression", "--configfile", str(config),
                                "--cores", "2", "--forcerun", "predict")
    passed = {name: (workdir / "regression" / name).read_text(encoding="utf-8")
              for name in ("report.md", "junit.xml", f"targets/{REGRESSION_TARGET}.json")}
    moved_model = _json(workdir / "results" / REGRESSION_TARGET / "ranking.json")["order"][-1]
    with np.load(golden / f"{moved_model}.npz", allow_pickle=False) as frozen:
        arrays = {key: frozen[key] for key in frozen}
    arrays["final_atom_positions"] = arrays["final_atom_positions"] + np.float32([0.4, 0.0, 0.3])
    np.savez(golden / f"{moved_model}.npz", **arrays)
    perturbed, perturbed_s = _elapsed(run_snakemake, workdir, "all", "regression", "--configfile", str(config),
                                      "--cores", "2")
    print(f"\nregression workflow: refresh {refresh_s:.0f} s, second run {second_s:.0f} s, "
          f"perturbed golden {perturbed_s:.0f} s")
    return {"workdir": workdir, "refresh": refresh, "first_golden": first_golden, "second": second,
            "passed": passed, "moved_model": moved_model, "perturbed": perturbed}


@pytest.mark.slow
def test_refresh_writes_golden_outputs_of_every_model_run(regression, batch):
    refresh = regression["refresh"]
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    assert f"{REGRESSION_TARGET}: golden outputs of 2 model run(s) written to golden/{REGRESSION_TARGET}" in (
        refresh.stdout + refresh.stderr)
    manifest = json.loads(regression["first_golden"]["manifest.json"])
    assert _schema_problems("golden_manifest", manifest) == []
    assert manifest["sequence"] == GOOD[REGRESSION_TARGET] and set(manifest["models"]) == set(MODELS)
    for model in MODELS:
        raw = _raw(batch["workdir"], GOOD[REGRESSION_TARGET], model)
        with np.load(io.BytesIO(regression["first_golden"][f"{model}.npz"]), allow_pickle=False) as frozen:
            assert np.array_equal(frozen["final_atom_positions"], raw["structure_module/final_atom_positions"])
            assert np.array_equal(frozen["plddt"], raw["plddt"])


@pytest.mark.slow
def test_a_second_prediction_passes_against_golden_outputs_and_reference(regression):
    second = regression["second"]
    assert second.returncode == 0, second.stdout + second.stderr
    counts = job_counts(second.stderr)
    assert counts["predict"] == 2 and counts["regression_check"] == 1, "the model must run again"
    verdict = json.loads(regression["passed"][f"targets/{REGRESSION_TARGET}.json"])
    assert _schema_problems("regression_target", verdict) == []
    assert verdict["passed"], verdict
    values = {(check["metric"], check["subject"]): check["value"] for check in verdict["checks"]}
    assert set(values) == {(metric, "best model") for metric in ("lddt_ca", "tm_score", "gdt_ts", "rmsd")} | {
        (metric, model) for metric in ("max_coordinate_deviation", "max_plddt_deviation") for model in MODELS}
    assert all(values[("max_coordinate_deviation", model)] < 0.01 for model in MODELS), values
    assert values[("lddt_ca", "best model")] > 0.99 and values[("rmsd", "best model")] < 0.01, values
    assert "**Result: passed.** All 8 checks of 1 target(s) passed." in regression["passed"]["report.md"]
    root = ElementTree.fromstring(regression["passed"]["junit.xml"])
    assert (root.get("tests"), root.get("failures")) == ("8", "0")


@pytest.mark.slow
def test_moved_golden_coordinates_fail_naming_target_and_metric(regression):
    perturbed, model = regression["perturbed"], regression["moved_model"]
    output = perturbed.stdout + perturbed.stderr
    assert perturbed.returncode != 0, "a regression must fail the run"
    expected = (f"REGRESSION: target {REGRESSION_TARGET}: max_coordinate_deviation of {model} = 0.500 Å, above "
                f"the maximum 0.250 Å (max_coordinate_deviation)")
    assert expected in output, output
    assert "snakefold regression: 1 of 8 checks failed" in output
    regression_dir = regression["workdir"] / "regression"
    assert expected in (regression_dir / "report.md").read_text(encoding="utf-8")
    root = ElementTree.parse(regression_dir / "junit.xml").getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "8", "1")
    failures = root.findall("./testsuite/testcase/failure")
    assert [failure.get("message") for failure in failures] == [expected]
    assert failures[0].get("type") == "regression.max_coordinate_deviation"


def _pae_models(tmp_path: Path, count: int):
    models = tuple(f"model_{index + 1}_ptm_seed0" for index in range(count))
    raw = write_sequence_outputs(tmp_path / "work", UBIQUITIN, models=models, relaxed_ranks=())
    return [load_model(raw["work_dir"] / "predictions" / name, len(UBIQUITIN)) for name in raw["order"]]


@pytest.mark.parametrize("count", [1, 2, 5])
@pytest.mark.parametrize("target", ["ubiquitin", "sp_P69905_HBA_HUMAN_with_a_long_filesystem_safe_name"])
def test_pae_figure_keeps_every_label_and_the_warning_inside(tmp_path, count, target):
    figure = plots.pae_figure(target, _pae_models(tmp_path, count), untrained=True)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    bounds = figure.bbox
    texts = [text for text in figure.findobj(Text) if text.get_visible() and text.get_text().strip()]
    for text in texts:
        box = text.get_window_extent(renderer)
        assert (box.x0 >= 0 and box.y0 >= 0 and box.x1 <= bounds.x1 and box.y1 <= bounds.y1), \
            f"{text.get_text()!r} lies outside the figure: {box} in {bounds}"

    warnings = [text for text in figure.texts if "untrained" in text.get_text()]
    assert len(warnings) == 1 and " ".join(warnings[0].get_text().split()) == f"Warning: {UNTRAINED}."
    warning_top = warnings[0].get_window_extent(renderer).y1
    heat_maps = [axes for axes in figure.axes if axes.get_images() and axes.get_xlabel()]
    assert len(heat_maps) == count
    for axes in heat_maps:
        assert (axes.get_xlabel(), axes.get_ylabel()) == ("Scored residue", "Aligned residue")
        assert warning_top < axes.get_tightbbox(renderer).y0, "the warning overlaps a panel's labels"
    colour_bars = [axes for axes in figure.axes if axes.get_ylabel() == "Expected position error (Å)"]
    assert len(colour_bars) == 1
    title = figure.get_suptitle()
    assert target in title.replace("\n", " ") and "predicted aligned error" in title
