"""Regression mode: golden outputs of one run pass a second run; perturbed or re-parameterised predictions
and structures far from the reference fail with messages that name the target and the metric."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from snakefold.cli import main
from snakefold.common.fasta import Target
from snakefold.common.protein import Protein, from_structure_file, to_pdb
from snakefold.common.target_record import batch_document, record_json, write_batch_document
from snakefold.report import documents
from tests.report.conftest import UBIQUITIN
from tests.report.synthetic import write_sequence_outputs

THRESHOLDS = ["--max-coordinate-deviation", "0.1", "--max-plddt-deviation", "0.5", "--min-lddt-ca", "0.8",
              "--min-tm-score", "0.6", "--min-gdt-ts", "60", "--max-rmsd", "2.0"]


def _cli(*args: str) -> int:
    return main(["regression", *args])


def _target(name):
    return Target(name, name, "", UBIQUITIN, "batch.fasta", 1)


def _batch(directory, name):
    """The batch file the workflow would hand the refresh job, holding the target ``name``."""
    path = directory / "batch.json"
    write_batch_document(path, batch_document([_target(name)], {}))
    return str(path)


def _record(directory, name):
    """The record the workflow would hand a regression check of the target ``name``."""
    path = directory / f"{name}.record.json"
    path.write_text(record_json(_target(name)))
    return str(path)


def _models(work_dir):
    return sorted(path.name for path in (work_dir / "predictions").iterdir())


def _check(tmp_path, name, work_dir, best_model, golden=None, reference=None, chain=None):
    output = tmp_path / "regression" / "targets" / f"{name}.json"
    args = ["check", "--record", _record(tmp_path, name), "--best-model", str(best_model),
            "--work-dir", str(work_dir), "--models", *_models(work_dir), "--output", str(output), *THRESHOLDS]
    if golden:
        args += ["--golden", str(golden)]
    if reference:
        args += ["--reference", str(reference), "--chain", chain or ""]
    assert _cli(*args) == 0, "a check that could measure succeeds whatever it finds"
    verdict = json.loads(output.read_text())
    assert documents.problems("regression_target", verdict) == []
    return output, verdict


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    root = tmp_path_factory.mktemp("golden")
    first = write_sequence_outputs(root / "first", UBIQUITIN)
    assert _cli("refresh", "--batch", _batch(root, "ubiquitin"), "--target", "ubiquitin", "--work-dir",
                str(first["work_dir"]), "--golden", str(root / "golden" / "ubiquitin"),
                "--models", *_models(first["work_dir"])) == 0
    manifest = json.loads((root / "golden" / "ubiquitin" / "manifest.json").read_text())
    assert documents.problems("golden_manifest", manifest) == []
    assert set(manifest["models"]) == set(first["scores"])
    return root / "golden" / "ubiquitin"


def test_a_second_run_with_the_same_parameters_passes(tmp_path, golden, capsys):
    second = write_sequence_outputs(tmp_path / "second", UBIQUITIN)
    path, verdict = _check(tmp_path, "ubiquitin", second["work_dir"], "unused.pdb", golden=golden)
    assert verdict["passed"]
    assert {check["metric"] for check in verdict["checks"]} == {"max_coordinate_deviation", "max_plddt_deviation"}
    assert all(check["value"] == 0.0 for check in verdict["checks"])
    markdown, junit = tmp_path / "report.md", tmp_path / "junit.xml"
    assert _cli("report", str(path), "--markdown", str(markdown), "--junit", str(junit)) == 0
    assert _cli("verdict", str(path), "--report", str(markdown)) == 0
    assert "all 4 checks of 1 target(s) passed" in capsys.readouterr().out
    assert "**Result: passed.**" in markdown.read_text()
    assert ElementTree.parse(junit).getroot().get("failures") == "0"


def test_moved_coordinates_fail_naming_target_and_metric(tmp_path, golden, capsys):
    moved = write_sequence_outputs(tmp_path / "moved", UBIQUITIN, coordinate_shift=0.2)
    path, verdict = _check(tmp_path, "ubiquitin", moved["work_dir"], "unused.pdb", golden=golden)
    assert not verdict["passed"]
    failed = [check for check in verdict["checks"] if not check["passed"]]
    assert {check["metric"] for check in failed} == {"max_coordinate_deviation"}
    assert all(check["value"] == pytest.approx(0.2 * 3 ** 0.5, abs=1e-4) for check in failed)

    markdown, junit = tmp_path / "report.md", tmp_path / "junit.xml"
    assert _cli("report", str(path), "--markdown", str(markdown), "--junit", str(junit)) == 0
    assert _cli("verdict", str(path), "--report", str(markdown)) == 1
    stderr = capsys.readouterr().err
    assert "snakefold regression: 2 of 4 checks failed (report: " in stderr
    assert ("target ubiquitin: max_coordinate_deviation of model_1_ptm_seed0 = 0.346 Å, above the maximum "
            "0.100 Å (max_coordinate_deviation)") in stderr
    text = markdown.read_text()
    assert "**Result: FAILED.** 2 of 4 checks failed, in 1 of 1 target(s): ubiquitin." in text
    assert "| max_coordinate_deviation | model_2_ptm_seed0 | 0.346 Å | ≤ 0.100 Å | **FAILED** |" in text

    root = ElementTree.parse(junit).getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "4", "2")
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == 2
    assert all("target ubiquitin: max_coordinate_deviation" in failure.get("message") for failure in failures)
    assert {case.get("name") for case in root.iter("testcase")} >= {
        "max_coordinate_deviation [model_1_ptm_seed0]", "max_plddt_deviation [model_2_ptm_seed0]"}


def test_a_model_with_changed_parameters_fails(tmp_path, golden, capsys):
    changed = write_sequence_outputs(tmp_path / "changed", UBIQUITIN, seed=3, params_set="retrained")
    path, verdict = _check(tmp_path, "ubiquitin", changed["work_dir"], "unused.pdb", golden=golden)
    failed = {(check["metric"], check["subject"]) for check in verdict["checks"] if not check["passed"]}
    assert failed == {(metric, model) for metric in ("parameters", "max_coordinate_deviation", "max_plddt_deviation")
                      for model in ("model_1_ptm_seed0", "model_2_ptm_seed0")}
    assert _cli("verdict", str(path)) == 1
    stderr = capsys.readouterr().err
    assert "target ubiquitin: parameters of model_1_ptm_seed0 differ from those of the golden outputs" in stderr
    assert "target ubiquitin: max_plddt_deviation of model_2_ptm_seed0 = " in stderr


def test_missing_golden_outputs_fail_and_say_how_to_make_them(tmp_path):
    run = write_sequence_outputs(tmp_path / "run", UBIQUITIN)
    _path, verdict = _check(tmp_path, "ubiquitin", run["work_dir"], "unused.pdb", golden=tmp_path / "none")
    assert not verdict["passed"]
    assert verdict["checks"][0]["metric"] == "golden_outputs"
    assert "no golden outputs at" in verdict["checks"][0]["message"]
    assert "snakemake regression_refresh" in verdict["checks"][0]["message"]


def _model_file(path, protein: Protein, noise: float, seed: int = 0):
    moved = protein.atom_positions + np.random.default_rng(seed).normal(scale=noise, size=protein.atom_positions.shape)
    path.write_text(to_pdb(Protein(moved * protein.atom_mask[..., None], protein.aatype, protein.atom_mask,
                                   protein.residue_index, protein.chain_index, protein.b_factors)))
    return path


def test_best_model_against_a_reference_structure(tmp_path, shared_data, capsys):
    reference = shared_data / "structures" / "1UBQ.pdb"
    protein = from_structure_file(reference, chain_id="A")
    run = write_sequence_outputs(tmp_path / "run", UBIQUITIN)
    close = _model_file(tmp_path / "close.pdb", protein, noise=0.3)
    _path, verdict = _check(tmp_path, "ubiquitin", run["work_dir"], close, reference=reference, chain="A")
    scores = {check["metric"]: check["value"] for check in verdict["checks"]}
    assert verdict["passed"], verdict
    assert set(scores) == {"lddt_ca", "tm_score", "gdt_ts", "rmsd"}
    assert scores["rmsd"] == pytest.approx(0.3 * 3 ** 0.5, rel=0.25)
    assert scores["lddt_ca"] > 0.9 and scores["tm_score"] > 0.9 and scores["gdt_ts"] > 90

    far = _model_file(tmp_path / "far.pdb", protein, noise=4.0)
    path, verdict = _check(tmp_path, "ubiquitin", run["work_dir"], far, reference=reference, chain="A")
    failed = {check["metric"] for check in verdict["checks"] if not check["passed"]}
    assert failed == {"lddt_ca", "tm_score", "gdt_ts", "rmsd"}
    assert _cli("verdict", str(path)) == 1
    stderr = capsys.readouterr().err
    assert "target ubiquitin: lddt_ca of best model = " in stderr and "below the minimum 0.800 (min_lddt_ca)" in stderr
    assert "target ubiquitin: rmsd of best model = " in stderr and "above the maximum 2.000 Å (max_rmsd)" in stderr


def test_no_regression_targets_is_an_error_that_says_where_to_list_them(capsys):
    assert _cli("verdict") == 1
    assert "config key 'regression.targets'" in capsys.readouterr().err
