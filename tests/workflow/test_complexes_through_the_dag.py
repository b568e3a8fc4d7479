"""A heterodimer and a pulldown screen through the whole DAG with the real snakemake, in one batch: real
jackhmmer searches on a UniProt-style database built here, pairing and merging, the multimer model (miniature
architecture, random parameters; the predictions grouped, one process for the batch's bucket), ranking and the
report; every output file read back by its reader. (The
relaxation of a complex through the DAG is in the cluster tests' batch, tests/cluster/conftest.py.)"""

from __future__ import annotations

import csv
import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest
from Bio.PDB import MMCIFParser, PDBParser
from Bio.PDB.MMCIF2Dict import MMCIF2Dict
from matplotlib.image import imread

from snakefold.cli import main as snakefold_main
from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import from_structure_file, to_pdb
from snakefold.common.target_record import read_target_records, record_json
from snakefold.metrics.dockq import dockq_command
from snakefold.report.documents import problems as schema_problems
from snakefold.report.interfaces import COLUMNS as INTERFACE_COLUMNS
from snakefold.report.pulldown import COLUMNS as PULLDOWN_COLUMNS
from tests.conftest import REPO_ROOT
from tests.data.conftest import AMINO_ACIDS, PROTEIN_G, UBIQUITIN
from tests.data.test_complex_searches import complex_config, write_uniprot
from tests.predict.params import MULTIMER_FIXTURE_PRESET, write_small_multimer_params
from tests.workflow.conftest import job_counts, run_snakemake, write_config

pytestmark = pytest.mark.slow

PRESET = MULTIMER_FIXTURE_PRESET
MODEL = f"{PRESET}_seed0"


@pytest.fixture(scope="module")
def multimer_params(tmp_path_factory) -> Path:
    """Random parameters of the multimer miniature (those of the stored parity fixture), with their record."""
    return write_small_multimer_params(tmp_path_factory.mktemp("params"))


def screen_config(workdir: Path, params: Path, records: dict[str, str], **changes) -> Path:
    uniprot = workdir / "uniprot.fasta"
    if not uniprot.exists():
        write_uniprot(uniprot)
    settings = complex_config(workdir, uniprot, records, **changes)
    settings["model"] = {"multimer_presets": [PRESET], "params_dir": str(params), "multimer_num_recycle": 1,
                         **settings.get("model", {})}
    return write_config(workdir, settings)


#: A heterodimer whose chains have homologues in the UniProt-style database (their species pair MSA rows), cut to
#: the screen's chain length so that every complex of the module has one total length: one compilation.
HETERODIMER = {"ub_g": f"{UBIQUITIN[:40]}:{PROTEIN_G[:40]}"}


def _json(path: Path):
    return json.loads(path.read_text())


def assert_complex_outputs(results: Path, name: str, lengths: list[int], model: str, relaxed: bool) -> dict:
    """Every file of a heterodimer's results directory read by its reader and checked against the others;
    returns its ranking.json."""
    out, total = results / name, sum(lengths)
    ranking = _json(out / "ranking.json")
    assert schema_problems("ranking", ranking) == []
    assert ranking["metric"] == "iptm+ptm" and ranking["order"][0] == model
    assert [(chain["chain_id"], chain["length"]) for chain in ranking["chains"]] == [("A", lengths[0]),
                                                                                     ("B", lengths[1])]
    best = ranking["models"][0]
    assert 0 <= best["iptm"] <= 1 and best["relaxed"] is relaxed
    assert best["ranking_confidence"] == pytest.approx(0.8 * best["iptm"] + 0.2 * best["ptm"], abs=1e-6)
    assert np.array(best["chain_pair_iptm"]).shape == (2, 2)
    assert best["chain_pair_iptm"][0][1] == pytest.approx(best["iptm"], abs=1e-5)  # two chains: one interface
    confidence = _json(out / f"confidence_{model}.json")
    assert schema_problems("confidence", confidence) == []
    plddt = np.array(confidence["confidenceScore"])
    assert [chain["mean_plddt"] for chain in best["chains"]] == pytest.approx(
        [plddt[:lengths[0]].mean(), plddt[lengths[0]:].mean()], abs=0.01)

    pae = _json(out / f"pae_{model}.json")
    assert schema_problems("pae", pae) == [] and np.array(pae[0]["predicted_aligned_error"]).shape == (total, total)

    pdb_text = (out / "ranked_0.pdb").read_text()
    assert [line[21] for line in pdb_text.splitlines() if line.startswith("TER")] == ["A", "B"]
    for structure in (PDBParser(QUIET=True).get_structure("pdb", str(out / "ranked_0.pdb")),
                      MMCIFParser(QUIET=True).get_structure("cif", str(out / "ranked_0.cif"))):
        chains = list(structure[0])
        assert [chain.id for chain in chains] == ["A", "B"]
        assert [len(list(chain.get_residues())) for chain in chains] == lengths
        residues = [residue for chain in chains for residue in chain]
        assert all({round(atom.get_bfactor(), 2) for atom in residue} == {round(float(value), 2)}
                   for residue, value in zip(residues, plddt))
    cif = MMCIF2Dict(str(out / "ranked_0.cif"))
    assert cif["_entity_poly.pdbx_strand_id"] == ["A", "B"] and len(cif["_entity.id"]) == 2

    with open(out / "interfaces.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert tuple(rows[0]) == INTERFACE_COLUMNS and [(row["chain_a"], row["chain_b"]) for row in rows] == [("A", "B")]
    assert ranking["interface_contacts"] == int(rows[0]["contacts"])

    for figure in ("plddt", "pae", "coverage"):
        image = imread(out / f"{figure}.png")
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01, figure

    with open(results / "summary.tsv", newline="") as handle:
        row = next(row for row in csv.DictReader(handle, delimiter="\t") if row["target"] == name)
    assert (row["status"], row["best_model"]) == ("ok", model)
    assert float(row["iptm"]) == pytest.approx(best["iptm"], abs=1e-3)
    assert int(row["interface_contacts"]) == ranking["interface_contacts"]
    return ranking


def test_a_complex_gets_every_output_with_its_chains(screen):
    results = screen["workdir"] / "results"
    ranking = assert_complex_outputs(results, "ub_g", [40, 40], MODEL, relaxed=False)
    assert ranking["order"] == [MODEL] and ranking["paired_msa_rows"] > 1  # rows paired by species


def test_the_demo_complex_has_every_output():
    """The demo's heterodimer, as `scripts/demo` (README) leaves it in results/: every file read back. The demo
    is not part of the suite (it builds its own databases and parameters); run it first."""
    results = REPO_ROOT / "results"
    if not (results / "demo_dimer" / "SHA256SUMS").is_file():
        pytest.skip("run scripts/demo first: results/demo_dimer/ is not there")
    assert_complex_outputs(results, "demo_dimer", [36, 56], "model_1_multimer_v3_seed0", relaxed=True)


# ------------------------------------------------------------------------------------------ a pulldown screen
def _proteins(prefix: str, count: int, rng: random.Random) -> dict[str, str]:
    # one length for all: every pair has the same total length, so the model is compiled once for the screen
    return {f"{prefix}{index}": "M" + "".join(rng.choice(AMINO_ACIDS) for _ in range(39)) for index in range(count)}


def _write_fasta(path: Path, records: dict[str, str]) -> None:
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records.items()))


@pytest.fixture(scope="module")
def screen(tmp_path_factory, multimer_params):
    rng = random.Random(5)
    baits, preys = _proteins("bait", 3, rng), _proteins("prey", 5, rng)
    workdir = tmp_path_factory.mktemp("pulldown")
    _write_fasta(workdir / "baits.fasta", baits)
    _write_fasta(workdir / "preys.fasta", dict(list(preys.items())[:4]))
    # relaxation off: the relaxation of complexes through the DAG is in the cluster tests' batch. Predictions
    # grouped, as a screen on GPUs would run them: one process predicts every pair of the bucket.
    config = screen_config(workdir, multimer_params, HETERODIMER, relax={"mode": "none"},
                           pulldown={"baits": [str(workdir / "baits.fasta")], "preys": [str(workdir / "preys.fasta")]},
                           resources={"group_small_predictions": {"max_length": 100}})
    first = run_snakemake(workdir, "--cores", "2", "--configfile", str(config))
    assert first.returncode == 0, first.stdout + first.stderr
    pulldown_first = (workdir / "results" / "pulldown.tsv").read_text()
    _write_fasta(workdir / "preys.fasta", preys)
    second = run_snakemake(workdir, "--cores", "2", "--configfile", str(config))
    assert second.returncode == 0, second.stdout + second.stderr
    return {"workdir": workdir, "first": first, "second": second, "pulldown_first": pulldown_first,
            "baits": baits, "preys": preys}


def test_a_pulldown_searches_each_chain_once_and_ranks_every_pair(screen):
    counts = job_counts(screen["first"].stdout + screen["first"].stderr)
    # the screen's 7 proteins and the heterodimer's 2 chains; the screen's 12 pairs and the heterodimer, all 80
    # residues: one group
    assert {rule: counts.get(rule) for rule in ("query_fasta", "msa_tiny", "msa_uniprot", "complex_features",
                                                "predict_group", "predict", "report_complex", "pulldown")} == {
        "query_fasta": 9, "msa_tiny": 9, "msa_uniprot": 9, "complex_features": 13, "predict_group": 1,
        "predict": 13, "report_complex": 13, "pulldown": 1}, counts
    rows = list(csv.DictReader(screen["pulldown_first"].splitlines(), delimiter="\t"))
    assert len(rows) == 12 and tuple(rows[0]) == PULLDOWN_COLUMNS
    assert {(row["bait"], row["prey"]) for row in rows} == {(bait, prey) for bait in screen["baits"]
                                                            for prey in list(screen["preys"])[:4]}
    confidence = [float(row["ranking_confidence"]) for row in rows]
    assert confidence == sorted(confidence, reverse=True) and [row["rank"] for row in rows] == [
        str(rank) for rank in range(1, 13)]
    for row in rows:
        ranking = _json(screen["workdir"] / "results" / row["target"] / "ranking.json")
        assert row["status"] == "ok" and float(row["iptm"]) == pytest.approx(ranking["models"][0]["iptm"], abs=1e-4)
    heat_map = imread(screen["workdir"] / "results" / "pulldown.png")
    assert heat_map.ndim == 3 and heat_map.std() > 0.01


def test_one_more_prey_runs_only_its_pairs_and_its_search(screen):
    counts = job_counts(screen["second"].stdout + screen["second"].stderr)
    # the group runs again, now with 16 members, but only the new pairs' own jobs run
    assert {rule: counts.get(rule) for rule in ("query_fasta", "msa_tiny", "msa_uniprot", "complex_features",
                                                "predict_group", "predict", "report_complex")} == {
        "query_fasta": 1, "msa_tiny": 1, "msa_uniprot": 1, "complex_features": 3, "predict_group": 1, "predict": 3,
        "report_complex": 3}, counts
    rows = list(csv.DictReader((screen["workdir"] / "results" / "pulldown.tsv").read_text().splitlines(),
                               delimiter="\t"))
    assert len(rows) == 15 and all(row["status"] == "ok" for row in rows)


def test_regression_scores_a_complex_with_dockq_beside_lddt_and_tm(screen, tmp_path):
    try:
        dockq_command()
    except SnakefoldError as error:
        pytest.skip(f"DockQ is not installed here ({error})")
    results = screen["workdir"] / "results"
    best = results / "ub_g" / "ranked_0.pdb"
    model = from_structure_file(best)
    moved = model.atom_positions.copy()
    moved[model.chain_index == 1] += np.array([30.0, 0.0, 0.0])
    displaced = tmp_path / "displaced.pdb"
    displaced.write_text(to_pdb(dataclasses.replace(model, atom_positions=moved)))
    verdicts = {}
    for name, reference in (("itself", best), ("displaced", displaced)):
        output = tmp_path / f"{name}.json"
        record = tmp_path / "ub_g.json"
        record.write_text(record_json(read_target_records(results / "_work" / "batch.json", ["ub_g"])[0]))
        assert snakefold_main(["regression", "check", "--record", str(record),
                               "--best-model", str(best), "--work-dir", str(results / "_work"),
                               "--models", "model_1_multimer_v3_seed0",
                               "--reference", str(reference), "--min-dockq", "0.23", "--output", str(output)]) == 0
        verdicts[name] = {check["metric"]: check for check in _json(output)["checks"]}
    assert verdicts["itself"]["dockq"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert verdicts["itself"]["dockq"]["passed"] and verdicts["itself"]["tm_score"]["value"] > 0.99
    assert verdicts["displaced"]["dockq"]["value"] < 0.23 and not verdicts["displaced"]["dockq"]["passed"]
    assert "REGRESSION: target ub_g: dockq of best model" in verdicts["displaced"]["dockq"]["message"]


def test_the_snakemake_report_shows_the_screen_s_heat_map(screen):
    workdir = screen["workdir"]
    report = run_snakemake(workdir, "completed", "--report", "report.html", "--configfile",
                           str(workdir / "config.yaml"))
    assert report.returncode == 0, report.stdout + report.stderr
    html = (workdir / "report.html").read_text(errors="replace")
    assert "pulldown.png" in html and "pulldown.tsv" in html and "bait0__prey0" in html
