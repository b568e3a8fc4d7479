"""The relax rule file with real Snakemake and the real `snakefold relax`, on two real NMR models.

A small Snakefile stands in for the rest of the workflow: it makes the plan of a batch of trp-cage targets
(no MSA search, no templates; presets model_1 and model_2, so the model runs model_1_seed0 and
model_2_seed0), includes the relax rule file, and asks for the relaxed models of each sequence. The
predict stage's outputs it would relax are written by the test.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from snakefold.common import residue_constants as rc
from snakefold.common.fasta import sequence_key
from snakefold.common.intermediates import seal
from snakefold.common.protein import from_structure_file, to_pdb
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import NO_DATABASES, job_counts, run_snakemake

_SNAKEFILE = """
from snakefold.plan.run import plan_run

PLAN = plan_run(config)


include: "{rules}"


rule all:
    default_target: True
    input:
        [path for seq in PLAN.sequences for path in PLAN.predict.relaxed_models(seq)],
"""
#: target -> sequence (seqB's models are trp-cage too: relaxation reads the models, not the sequence)
SEQUENCES = {"seqA": "NLYIQWLKDGGPSSGRPPPS", "seqB": "NLYIQWLKDGGPSSGRPPPA"}


def _work(workdir, target):
    return workdir / "results" / "_work" / sequence_key(SEQUENCES[target])


def _write_predictions(workdir, target, proteins):
    """model_2's run ranks first (mean pLDDT 80 against 60)."""
    for name, protein, plddt in zip(("model_1_seed0", "model_2_seed0"), proteins, (60.0, 80.0)):
        run = _work(workdir, target) / "predictions" / name
        run.mkdir(parents=True)
        (run / "unrelaxed.pdb").write_text(to_pdb(protein))
        (run / "scores.json").write_text(json.dumps({"model": name, "plddt": [plddt] * len(SEQUENCES[target]),
                                                     "ptm": None, "params": {"untrained": True}}))
        seal(run / "unrelaxed.pdb", run / "scores.json")  # as the predict jobs seal what they write


@pytest.fixture
def workdir(shared_data, tmp_path):
    (tmp_path / "Snakefile").write_text(_SNAKEFILE.format(rules=REPO_ROOT / "workflow" / "rules" / "relax.smk"))
    path = shared_data / "structures" / "1L2Y.cif"
    _write_predictions(tmp_path, "seqA", [from_structure_file(path, model=0), from_structure_file(path, model=5)])
    return tmp_path


def _snakemake(workdir, mode, *args, targets=("seqA",), **relax):
    (workdir / "targets.fasta").write_text("".join(f">{name}\n{SEQUENCES[name]}\n" for name in targets))
    settings = {"mode": mode, "platform": "CPU", "max_outer_iterations": 1, **relax}
    config = {**NO_DATABASES, "inputs": ["targets.fasta"], "relax": settings,
              "model": {"presets": ["model_1", "model_2"]}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return run_snakemake(workdir, "--snakefile", str(workdir / "Snakefile"), "--configfile",
                         str(workdir / "config.yaml"), "--cores", "2", *args)


def test_relax_mode_sets_the_number_of_jobs(workdir):
    counts = {}
    for mode in ("best", "all", "none"):
        result = _snakemake(workdir, mode, "-n")
        assert result.returncode == 0, result.stderr
        counts[mode] = job_counts(result.stdout).get("relax", 0) if "Job stats" in result.stdout else 0
    assert counts == {"best": 1, "all": 2, "none": 0}


def test_relax_rule_relaxes_the_best_ranked_model(workdir):
    result = _snakemake(workdir, "best")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((_work(workdir, "seqA") / "relaxed/rank_0.json").read_text())
    assert metrics["model"] == "model_2_seed0"
    assert metrics["violations_after"]["violating_residues"] == 0
    assert metrics["settings"]["max_outer_iterations"] == 1 and metrics["platform"] == "CPU"
    relaxed = from_structure_file(_work(workdir, "seqA") / "relaxed/rank_0.pdb")
    assert relaxed.sequence == "NLYIQWLKDGGPSSGRPPPS"
    log = (workdir / f"results/_logs/relax/{sequence_key(SEQUENCES['seqA'])}_rank_0.log").read_text()
    assert "platform CPU (as configured)" in log and "model model_2_seed0" in log
    assert not (_work(workdir, "seqA") / "relaxed/rank_1.pdb").exists()


def test_a_failed_minimisation_keeps_the_unrelaxed_model_and_the_run_goes_on(shared_data, workdir):
    """AlphaFold2's best-known failure ("Minimization failed after 100 attempts") degrades, it does not fail:
    the job writes the unrelaxed model with a REMARK and metrics saying why; the other sequence is relaxed."""
    protein = from_structure_file(shared_data / "structures" / "1L2Y.cif", model=3)
    positions = protein.atom_positions.copy()
    positions[2, rc.atom_order["CB"]] = positions[10, rc.atom_order["CA"]]  # atoms on the same spot
    _write_predictions(workdir, "seqB", [protein, dataclasses.replace(protein, atom_positions=positions)])
    result = _snakemake(workdir, "best", targets=("seqA", "seqB"), max_attempts=1)
    assert result.returncode == 0, result.stderr
    assert json.loads((_work(workdir, "seqA") / "relaxed/rank_0.json").read_text())["relaxed"] is True
    metrics = json.loads((_work(workdir, "seqB") / "relaxed/rank_0.json").read_text())
    assert metrics["relaxed"] is False and "failed in round 1 after 1 attempt(s)" in metrics["failure"]
    kept = (_work(workdir, "seqB") / "relaxed/rank_0.pdb").read_text()
    assert "NOT relaxed" in kept
    assert from_structure_file(_work(workdir, "seqB") / "relaxed/rank_0.pdb").atom_positions == pytest.approx(
        from_structure_file(_work(workdir, "seqB") / "predictions/model_2_seed0/unrelaxed.pdb").atom_positions,
        abs=1e-3)
    log = (workdir / f"results/_logs/relax/{sequence_key(SEQUENCES['seqB'])}_rank_0.log").read_text()
    assert "model model_2_seed0" in log and "the unrelaxed model is kept" in log
