"""The relax rule file with real Snakemake and the real `snakefold relax`, on two real NMR models.

A small Snakefile stands in for the rest of the workflow: it defines what the rule file expects from it
(the validated config, WORK, LOGS, SEQUENCES, the resource functions, the predict stage's MODEL_NAMES)
and asks for relaxed_paths(...) of each sequence it lists.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from snakefold.common import residue_constants as rc
from snakefold.common.protein import from_structure_file, to_pdb
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import job_counts, run_snakemake

_SNAKEFILE = """
from snakefold.plan.config import validate_config
from snakefold.plan.resources import sequence_length, stage_resources, stage_threads

SEQUENCE_NAMES = config.pop("sequences")
validate_config(config)
WORK = "work"
LOGS = "logs"
SEQUENCES = {{seq: "NLYIQWLKDGGPSSGRPPPS" for seq in SEQUENCE_NAMES}}
MODEL_NAMES = ["model_1_seed0", "model_2_seed1"]

include: "{rules}"

rule all:
    default_target: True
    input:
        [path for seq in SEQUENCE_NAMES for path in relaxed_paths(seq, len(MODEL_NAMES))],
"""


def _write_predictions(workdir, seq, proteins):
    for name, protein in zip(("model_1_seed0", "model_2_seed1"), proteins):
        (workdir / "work" / seq / "predictions" / name).mkdir(parents=True)
        (workdir / "work" / seq / "predictions" / name / "unrelaxed.pdb").write_text(to_pdb(protein))
    (workdir / "work" / seq / "ranking.json").write_text(json.dumps({"order": ["model_2_seed1", "model_1_seed0"]}))


@pytest.fixture
def workdir(shared_data, tmp_path):
    (tmp_path / "Snakefile").write_text(_SNAKEFILE.format(rules=REPO_ROOT / "workflow" / "rules" / "relax.smk"))
    path = shared_data / "structures" / "1L2Y.cif"
    _write_predictions(tmp_path, "seqA", [from_structure_file(path, model=0), from_structure_file(path, model=5)])
    return tmp_path


def _snakemake(workdir, mode, *args, sequences=("seqA",), **relax):
    settings = {"mode": mode, "platform": "CPU", "max_outer_iterations": 1, **relax}
    config = {"inputs": ["unused.fasta"], "relax": settings, "sequences": list(sequences)}
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
    metrics = json.loads((workdir / "work/seqA/relaxed/rank_0.json").read_text())
    assert metrics["model"] == "model_2_seed1"
    assert metrics["violations_after"]["violating_residues"] == 0
    assert metrics["settings"]["max_outer_iterations"] == 1 and metrics["platform"] == "CPU"
    relaxed = from_structure_file(workdir / "work/seqA/relaxed/rank_0.pdb")
    assert relaxed.sequence == "NLYIQWLKDGGPSSGRPPPS"
    log = (workdir / "logs/relax/seqA_rank_0.log").read_text()
    assert "platform CPU (as configured)" in log and "model model_2_seed1" in log
    assert not (workdir / "work/seqA/relaxed/rank_1.pdb").exists()


def test_a_failing_model_does_not_stop_the_other_sequences(shared_data, workdir):
    protein = from_structure_file(shared_data / "structures" / "1L2Y.cif", model=3)
    positions = protein.atom_positions.copy()
    positions[2, rc.atom_order["CB"]] = positions[10, rc.atom_order["CA"]]  # atoms on the same spot
    _write_predictions(workdir, "seqB", [protein, dataclasses.replace(protein, atom_positions=positions)])
    result = _snakemake(workdir, "best", "--keep-going", sequences=("seqA", "seqB"), max_attempts=1)
    assert result.returncode != 0
    assert (workdir / "work/seqA/relaxed/rank_0.json").exists()
    assert not (workdir / "work/seqB/relaxed/rank_0.pdb").exists()
    log = (workdir / "logs/relax/seqB_rank_0.log").read_text()
    assert "model model_2_seed1" in log and "failed in round 1 after 1 attempt(s)" in log
