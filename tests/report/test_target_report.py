"""A target's user-facing files: each exists, parses, follows its schema and agrees with the raw outputs."""

from __future__ import annotations

import json

import mdtraj
import numpy as np
import pytest
from Bio.PDB import MMCIFParser, PDBParser
from Bio.PDB.MMCIF2Dict import MMCIF2Dict
from matplotlib.image import imread

from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import Target
from snakefold.common.intermediates import seal
from snakefold.report import documents
from snakefold.report.afdb import plddt_category
from snakefold.report.summary import BatchTarget, summarise_batch
from snakefold.report.target_report import write_target_report
from tests.report.conftest import MODELS, UBIQUITIN, VILLIN
from tests.report.synthetic import write_sequence_outputs


def _raw_outputs(run, model):
    with np.load(run["work_dir"] / "predictions" / model / "outputs.npz") as outputs:
        return {key: outputs[key] for key in outputs}


def _json(path):
    return json.loads(path.read_text())


def test_ranking_json_orders_models_and_flags_untrained_parameters(ubiquitin_run):
    ranking = _json(ubiquitin_run["out_dir"] / "ranking.json")
    assert documents.problems("ranking", ranking) == []
    assert ranking == ubiquitin_run["document"]
    assert ranking["order"] == ubiquitin_run["order"]
    assert [entry["model"] for entry in ranking["models"]] == ubiquitin_run["order"]
    confidences = [entry["ranking_confidence"] for entry in ranking["models"]]
    assert confidences == sorted(confidences, reverse=True)
    for entry in ranking["models"]:
        raw = ubiquitin_run["scores"][entry["model"]]
        assert entry["mean_plddt"] == pytest.approx(raw["mean_plddt"])
        assert entry["ptm"] == pytest.approx(raw["ptm"])
        assert entry["params"] == raw["params"]
        assert entry["relaxed"] == (entry["rank"] == 0)
    assert ranking["untrained"] is True
    assert ranking["warning"] == "parameters are untrained (random); structures are meaningless"
    assert ranking["msa_depth"] == 60 and ranking["length"] == len(UBIQUITIN)
    assert ranking["record_id"] == "sp|P0CG48|UBC_HUMAN"


@pytest.mark.parametrize("rank", range(len(MODELS)))
def test_ranked_structures_carry_plddt_sequence_and_metadata(ubiquitin_run, rank):
    out_dir = ubiquitin_run["out_dir"]
    model = ubiquitin_run["order"][rank]
    plddt = np.array(ubiquitin_run["scores"][model]["plddt"])
    pdb_path, cif_path = out_dir / f"ranked_{rank}.pdb", out_dir / f"ranked_{rank}.cif"

    for structure in (PDBParser(QUIET=True).get_structure("m", str(pdb_path)),
                      MMCIFParser(QUIET=True).get_structure("m", str(cif_path))):
        residues = list(structure[0]["A"])
        assert [residue.id[1] for residue in residues] == list(range(1, len(UBIQUITIN) + 1))
        for residue, value in zip(residues, plddt):
            assert {round(atom.get_bfactor(), 2) for atom in residue} == {round(float(value), 2)}
        hydrogens = [atom for atom in structure.get_atoms() if atom.element == "H"]
        assert bool(hydrogens) == (rank == 0), "only the relaxed best model has the hydrogens relax added"

    raw = _raw_outputs(ubiquitin_run, model)
    heavy = PDBParser(QUIET=True).get_structure("m", str(pdb_path))
    ca = np.array([residue["CA"].coord for residue in heavy[0]["A"]])
    shift = 0.05 if rank == 0 else 0.0  # the synthetic relaxation moves atoms by (+0.05, -0.05, 0)
    assert np.allclose(ca, raw["structure_module/final_atom_positions"][:, 1] + [shift, -shift, 0], atol=2e-3)

    table = MMCIF2Dict(str(cif_path))
    assert table["_entity_poly.pdbx_seq_one_letter_code_can"][0].replace("\n", "") == UBIQUITIN
    assert table["_entity.pdbx_description"] == ["Human ubiquitin (PDB 1UBQ)"]
    assert table["data_"] == "ubiquitin" and "ubiquitin" in table["_struct.title"][0]
    details = table["_struct.pdbx_model_details"][0]
    assert model in details and f"rank {rank + 1} of {len(MODELS)}" in details
    assert "parameters are untrained (random); structures are meaningless" in details
    assert ("Relaxed with OpenMM" in details) == (rank == 0)
    header = pdb_path.read_text().splitlines()
    assert header[0].startswith("TITLE     ubiquitin: snakefold model")
    assert any("structures are" in line and line.startswith("REMARK   1") for line in header)
    assert sum(line.startswith("SEQRES") for line in header) == -(-len(UBIQUITIN) // 13)

    for path in (pdb_path, cif_path):
        trajectory = mdtraj.load(str(path))
        assert trajectory.topology.to_fasta() == [UBIQUITIN]
        assert trajectory.n_atoms == len(list(heavy.get_atoms()))


def test_afdb_confidence_and_pae_agree_with_raw_outputs(ubiquitin_run):
    out_dir = ubiquitin_run["out_dir"]
    for model in MODELS:
        raw = _raw_outputs(ubiquitin_run, model)
        confidence = _json(out_dir / f"confidence_{model}.json")
        assert documents.problems("confidence", confidence) == []
        assert confidence["residueNumber"] == list(range(1, len(UBIQUITIN) + 1))
        assert confidence["confidenceScore"] == pytest.approx(raw["plddt"], abs=0.005)
        assert confidence["confidenceCategory"] == [plddt_category(float(value)) for value in raw["plddt"]]

        pae = _json(out_dir / f"pae_{model}.json")
        assert documents.problems("pae", pae) == []
        assert len(pae) == 1
        assert pae[0]["max_predicted_aligned_error"] == pytest.approx(float(raw["max_predicted_aligned_error"]))
        matrix = np.array(pae[0]["predicted_aligned_error"])
        assert matrix.dtype.kind == "i" and matrix.shape == (len(UBIQUITIN),) * 2
        assert np.array_equal(matrix, np.rint(raw["predicted_aligned_error"]))


def test_plddt_categories_follow_the_afdb_bounds():
    assert [plddt_category(score) for score in (0, 49.99, 50, 69.99, 70, 89.99, 90, 100)] == list("DDLLMMHH")
    with pytest.raises(ValueError):
        plddt_category(100.5)


def test_timings_list_every_stage_that_recorded_one(ubiquitin_run):
    timings = _json(ubiquitin_run["out_dir"] / "timings.json")
    assert documents.problems("timings", timings) == []
    assert set(timings["stages"]["predict"]) == set(MODELS)
    for model in MODELS:
        assert timings["stages"]["predict"][model] == ubiquitin_run["scores"][model]["timings"]
    assert timings["stages"]["relax"] == {"rank_0": {"wall_time_s": 2.5}}


@pytest.mark.parametrize("name, size", [("plddt.png", (900, 480)), ("pae.png", (1140, 440)),
                                        ("coverage.png", (900, 500))])
def test_figures_are_real_images_of_a_sensible_size(ubiquitin_run, name, size):
    path = ubiquitin_run["out_dir"] / name
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    height, width = image.shape[:2]
    assert (width, height) == size
    assert image[..., :3].std() > 0.05, "the figure is not blank"


def test_targets_sharing_a_sequence_get_files_under_their_own_names(tmp_path, ubiquitin_run):
    other = Target("ubiquitin_again", "ubiquitin_again", "The same sequence", UBIQUITIN, "batch.fasta", 1)
    out_dir = tmp_path / "ubiquitin_again"
    document = write_target_report(other, ubiquitin_run["ranking"], ubiquitin_run["features"], out_dir,
                                   ubiquitin_run["relaxed"])
    assert document["target"] == "ubiquitin_again"
    assert MMCIF2Dict(str(out_dir / "ranked_0.cif"))["data_"] == "ubiquitin_again"
    assert "ubiquitin_again" in (out_dir / "ranked_0.pdb").read_text().splitlines()[0]
    assert (out_dir / "ranked_0.cif").read_text().count("ubiquitin_again") >= 2
    first = (ubiquitin_run["out_dir"] / "confidence_model_1_ptm_seed0.json").read_text()
    assert (out_dir / "confidence_model_1_ptm_seed0.json").read_text() == first


def test_models_without_ptm_have_no_pae_and_trained_parameters_no_warning(tmp_path):
    raw = write_sequence_outputs(tmp_path / "work", VILLIN, models=("model_1_seed0", "model_2_seed0"),
                                 untrained=False, params_set="alphafold_2022-12-06", relaxed_ranks=())
    out_dir = tmp_path / "villin"
    document = write_target_report(Target("villin", "villin", "", VILLIN, "batch.fasta", 1), raw["ranking"], raw["features"],
                                   out_dir)
    assert documents.problems("ranking", document) == []
    assert document["metric"] == "plddt" and document["untrained"] is False and document["warning"] is None
    assert [entry["files"]["pae"] for entry in document["models"]] == [None, None]
    assert not list(out_dir.glob("pae*"))
    assert sorted(path.name for path in out_dir.glob("*.png")) == ["coverage.png", "plddt.png"]
    assert not any(entry["relaxed"] for entry in document["models"])
    assert "untrained" not in (out_dir / "ranked_0.cif").read_text()


def test_files_of_models_no_longer_predicted_are_removed(tmp_path):
    raw = write_sequence_outputs(tmp_path / "work", VILLIN, models=MODELS)
    target = Target("villin", "villin", "", VILLIN, "batch.fasta", 1)
    out_dir = tmp_path / "villin"
    write_target_report(target, raw["ranking"], raw["features"], out_dir, raw["relaxed"])
    assert (out_dir / "ranked_2.pdb").exists()
    fewer = write_sequence_outputs(tmp_path / "work2", VILLIN, models=MODELS[:2])
    write_target_report(target, fewer["ranking"], fewer["features"], out_dir, fewer["relaxed"])
    assert not (out_dir / "ranked_2.pdb").exists() and not (out_dir / f"pae_{MODELS[2]}.json").exists()
    assert (out_dir / "ranked_1.cif").exists()


def test_a_malformed_score_file_is_named_with_its_key(tmp_path):
    raw = write_sequence_outputs(tmp_path / "work", VILLIN, models=MODELS[:1], relaxed_ranks=())
    scores_path = raw["work_dir"] / "predictions" / MODELS[0] / "scores.json"
    scores = _json(scores_path)
    del scores["num_recycles"]
    scores["plddt"] = scores["plddt"][:-1]
    scores_path.write_text(json.dumps(scores))
    seal(scores_path)  # written and sealed so by a faulty predict job
    with pytest.raises(SnakefoldError, match=r"scores.json: scores.json lacks the key\(s\) num_recycles"):
        write_target_report(Target("villin", "villin", "", VILLIN, "batch.fasta", 1), raw["ranking"], raw["features"],
                            tmp_path / "out")
    scores["num_recycles"] = 3
    scores_path.write_text(json.dumps(scores))
    seal(scores_path)
    with pytest.raises(SnakefoldError, match="'plddt' has 35 values; the sequence has 36 residues"):
        write_target_report(Target("villin", "villin", "", VILLIN, "batch.fasta", 1), raw["ranking"], raw["features"],
                            tmp_path / "out")


def test_timings_read_snakemake_benchmarks_that_name_the_sequence_or_target(tmp_path):
    raw = write_sequence_outputs(tmp_path / "work", VILLIN, models=MODELS[:1], relaxed_ranks=())
    seq = raw["work_dir"].name
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    benchmarks = tmp_path / "benchmarks"
    (benchmarks / "predict" / seq).mkdir(parents=True)  # predict.smk's layout: predict/<seq>/<model>.tsv
    (benchmarks / "predict" / seq / f"{MODELS[0]}.tsv").write_text(
        header + "10.0\t0:00:10\t512.5\t900\t-\t-\t1\t2\t95.0\t9.5\n"
        + "20.0\t0:00:20\t600.5\t900\t-\t-\t1\t2\t95.0\t19.5\n")
    (benchmarks / "report").mkdir()
    (benchmarks / "report" / "villin.tsv").write_text(header + "1.5\t0:00:01\t80\t90\t-\t-\t0\t0\t50\t1.2\n")
    (benchmarks / "report" / "other_target.tsv").write_text(header + "99\t0:01:39\t80\t90\t-\t-\t0\t0\t50\t1\n")
    out_dir = tmp_path / "villin"
    write_target_report(Target("villin", "villin", "", VILLIN, "batch.fasta", 1), raw["ranking"], raw["features"], out_dir,
                        benchmark_dir=benchmarks)
    timings = _json(out_dir / "timings.json")
    assert documents.problems("timings", timings) == []
    # The job's measures join the model run's own timings; the target's report job is the stage's "job".
    assert timings["stages"]["predict"][MODELS[0]] == {**raw["scores"][MODELS[0]]["timings"], "wall_s": 15.0,
                                                       "cpu_s": 14.5, "max_rss_mb": 556.5}
    assert timings["stages"]["report"] == {"job": {"wall_s": 1.5, "cpu_s": 1.2, "max_rss_mb": 80.0}}


def test_a_failed_relaxation_ranks_the_unrelaxed_model_and_says_why(tmp_path):
    """What the relax stage writes when minimisation fails: the model stays as predicted, the target is ok."""
    raw = write_sequence_outputs(tmp_path / "work", VILLIN, models=MODELS)
    failure = "relaxation failed: energy minimisation failed in round 1 after 100 attempt(s)"
    rank_0 = raw["relaxed"][0]
    unrelaxed = raw["work_dir"] / "predictions" / raw["order"][0] / "unrelaxed.pdb"
    rank_0.write_text(unrelaxed.read_text())
    rank_0.with_suffix(".json").write_text(json.dumps({"model": raw["order"][0], "relaxed": False,
                                                       "failure": failure, "wall_time_s": 1.5}))
    seal(rank_0, rank_0.with_suffix(".json"))  # as the relax job does
    out_dir = tmp_path / "results" / "villin"
    document = write_target_report(Target("villin", "villin", "", VILLIN, "batch.fasta", 1), raw["ranking"],
                                   raw["features"], out_dir, raw["relaxed"])
    assert documents.problems("ranking", document) == []
    best = document["models"][0]
    assert best["relaxed"] is False and best["relaxation_failure"] == failure
    assert failure in (out_dir / "ranked_0.cif").read_text()
    rows = summarise_batch([BatchTarget("villin", raw["work_dir"].name, len(VILLIN))], [], tmp_path / "results")
    assert (rows[0]["status"], rows[0]["relaxed"]) == ("ok", "no") and failure in rows[0]["note"]
