"""Relaxation with real OpenMM on real structures, through `snakefold relax` and the library.

Acceptance: real structures (all-alpha, all-beta, alpha/beta, NMR, mmCIF), their coordinates displaced by
a seeded random 0.3 A rms and three atoms pushed into clashes, relax to zero violations with a heavy-atom
RMSD below 0.5 A to that input, and the metrics JSON says so.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from snakefold.cli import main
from snakefold.common import residue_constants as rc
from snakefold.common import stereochemistry as stereo
from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import Protein, from_structure_file, to_pdb
from snakefold.plan.config import schema_defaults, validate_config
from snakefold.relax.platforms import choose_platform
from snakefold.relax.relax import RelaxSettings, relax_protein
from snakefold.relax.violations import Violations, find_violations

_BACKBONE = {rc.atom_order[name] for name in ("N", "CA", "C", "O")}


def _settings(**changes) -> RelaxSettings:
    return dataclasses.replace(RelaxSettings.from_config(schema_defaults("relax"), threads=2), platform="CPU", **changes)


def perturbed_model(protein: Protein, seed: int, clashes: int = 3) -> Protein:
    """``protein`` as a flawed prediction: 0.3 A rms random displacement, ``clashes`` side-chain atoms pushed
    into clashes with atoms of residues at least three apart, and pLDDT-like B-factors per residue."""
    rng = np.random.default_rng(seed)
    mask = protein.atom_mask > 0.5
    positions = protein.atom_positions.astype(np.float64)
    positions += rng.normal(scale=0.3 / np.sqrt(3.0), size=positions.shape) * mask[..., None]
    residue_of, slot_of = np.nonzero(mask)
    coordinates = positions[residue_of, slot_of]
    pairs = cKDTree(coordinates).query_pairs(4.0, output_type="ndarray")
    distance = np.linalg.norm(coordinates[pairs[:, 0]] - coordinates[pairs[:, 1]], axis=-1)
    usable = [(a, b) for (a, b), d in zip(pairs, distance)
              if d > 3.0 and abs(int(residue_of[a]) - int(residue_of[b])) >= 3 and slot_of[a] not in _BACKBONE]
    moved_residues: set[int] = set()
    pushed = 0
    for index in rng.permutation(len(usable)):
        a, b = usable[index]
        if pushed == clashes:
            break
        if residue_of[a] in moved_residues or residue_of[b] in moved_residues:
            continue
        radii = [stereo.VAN_DER_WAALS_RADIUS[rc.atom_types[slot_of[atom]][0]] for atom in (a, b)]
        target = sum(radii) - stereo.CLASH_OVERLAP_TOLERANCE - 0.3
        direction = coordinates[a] - coordinates[b]
        positions[residue_of[a], slot_of[a]] = coordinates[b] + target * direction / np.linalg.norm(direction)
        moved_residues |= {int(residue_of[a]), int(residue_of[b])}
        pushed += 1
    assert pushed == clashes, "not enough atom pairs to push into clashes"
    plddt = rng.uniform(30.0, 95.0, size=protein.num_residues).round(2)
    return dataclasses.replace(protein, atom_positions=positions, b_factors=mask * plddt[:, None])


# (file, chain, fold class): all-alpha NMR, all-beta, alpha/beta, NMR mmCIF, mmCIF crystal with disulfides
ACCEPTANCE_SET = [
    ("1VII.pdb", "A", "all-alpha, NMR"),
    ("3EBX.pdb", "A", "all-beta"),
    ("1PGA.pdb", "A", "alpha/beta"),
    ("1L2Y.cif", "A", "NMR, mmCIF"),
    ("1EJG.cif", "A", "mmCIF, disulfides"),
]


def relax_perturbed(protein: Protein, seed: int, tmp_path: Path) -> tuple[Protein, Violations, dict]:
    """``protein`` made a flawed prediction (:func:`perturbed_model`), checked to violate, and relaxed by
    ``snakefold relax`` into tmp_path/relaxed.pdb: the unrelaxed model, its violations and the relax metrics."""
    unrelaxed = perturbed_model(protein, seed=seed)
    before = find_violations(unrelaxed)
    assert before.num_clash >= 3 and before.num_bond_length > 0, "the flawed input must violate"
    model_path = tmp_path / "unrelaxed.pdb"
    model_path.write_text(to_pdb(unrelaxed))
    status = main(["relax", str(model_path), "--output", str(tmp_path / "relaxed.pdb"),
                   "--metrics", str(tmp_path / "relaxed.json"), "--platform", "CPU", "--threads", "2"])
    assert status == 0
    return unrelaxed, before, json.loads((tmp_path / "relaxed.json").read_text())


@pytest.mark.parametrize("name,chain,kind", ACCEPTANCE_SET, ids=[entry[0] for entry in ACCEPTANCE_SET])
def test_perturbed_structures_relax_to_zero_violations(shared_data, tmp_path, name, chain, kind):
    unrelaxed, before, metrics = relax_perturbed(
        from_structure_file(shared_data / "structures" / name, chain_id=chain), 7, tmp_path)
    relaxed = from_structure_file(tmp_path / "relaxed.pdb")

    # what the JSON says
    assert metrics["violations_before"]["clashes"] >= 3
    assert metrics["violations_before"]["violating_residues"] == before.num_violating_residues
    assert metrics["violations_after"]["violating_residues"] == 0
    assert metrics["violations_after"]["per_residue"] == [0] * unrelaxed.num_residues
    assert metrics["heavy_atom_rmsd_to_unrelaxed_angstrom"] < 0.5
    assert metrics["final_energy_kcal_per_mol"] < metrics["initial_energy_kcal_per_mol"]
    assert metrics["attempts"] >= 1 and metrics["platform"] == "CPU" and metrics["wall_time_s"] > 0
    assert metrics["model"] == "unrelaxed" and len(metrics["rounds"]) <= 1 + metrics["settings"]["max_outer_iterations"]

    # and what the relaxed file shows, checked independently
    assert find_violations(relaxed).num_violating_residues == 0
    shared = (unrelaxed.atom_mask > 0.5) & (relaxed.atom_mask > 0.5)
    deviation = relaxed.atom_positions[shared] - unrelaxed.atom_positions[shared]
    rmsd = float(np.sqrt(np.mean(np.sum(deviation.astype(np.float64) ** 2, axis=-1))))
    assert rmsd == pytest.approx(metrics["heavy_atom_rmsd_to_unrelaxed_angstrom"], abs=2e-3)
    assert shared.sum() == (unrelaxed.atom_mask > 0.5).sum()  # every input atom is still there
    # residue numbers, chain IDs and pLDDT B-factors survive
    np.testing.assert_array_equal(relaxed.residue_index, unrelaxed.residue_index)
    np.testing.assert_array_equal(relaxed.aatype, unrelaxed.aatype)
    assert relaxed.chain_ids == unrelaxed.chain_ids
    np.testing.assert_allclose(relaxed.b_factors[shared], unrelaxed.b_factors[shared], atol=5e-3)
    # the C-terminal OXT is there (added if missing), with its residue's pLDDT
    last = unrelaxed.num_residues - 1
    assert relaxed.atom_mask[last, rc.atom_order["OXT"]] == 1.0
    assert relaxed.b_factors[last, rc.atom_order["OXT"]] == pytest.approx(unrelaxed.b_factors[last, 1], abs=5e-3)
    print(f"{name} ({kind}): {unrelaxed.num_residues} residues, energy {metrics['initial_energy_kcal_per_mol']:.0f}"
          f" -> {metrics['final_energy_kcal_per_mol']:.0f} kcal/mol, RMSD {rmsd:.3f} A, violating residues "
          f"{metrics['violations_before']['violating_residues']} -> 0, rounds {len(metrics['rounds'])}, "
          f"{metrics['wall_time_s']:.1f} s")


def test_chain_breaks_get_their_own_termini(shared_data):
    protein = from_structure_file(shared_data / "structures" / "1L2Y.cif")
    gapped = dataclasses.replace(protein, residue_index=np.where(np.arange(20) >= 10, protein.residue_index + 5,
                                                                   protein.residue_index))
    result = relax_protein(gapped, _settings())
    oxt = rc.atom_order["OXT"]
    assert result.relaxed.atom_mask[[9, 19], oxt].tolist() == [1.0, 1.0]
    assert "A:10 OXT" in result.metrics["added_heavy_atoms"]
    assert result.metrics["violations_after"]["violating_residues"] == 0
    np.testing.assert_array_equal(result.relaxed.residue_index, gapped.residue_index)


def test_failed_minimisation_is_retried_then_reported(shared_data, tmp_path):
    protein = from_structure_file(shared_data / "structures" / "1L2Y.cif")
    positions = protein.atom_positions.copy()
    positions[2, rc.atom_order["CB"]] = positions[10, rc.atom_order["CA"]]  # two atoms on the same spot
    overlapping = dataclasses.replace(protein, atom_positions=positions)

    result = relax_protein(overlapping, _settings(max_outer_iterations=0))
    assert result.metrics["rounds"][0]["attempts"] == 2  # attempt 1: infinite energy; attempt 2 from displaced atoms
    assert np.isfinite(result.metrics["final_energy_kcal_per_mol"])

    with pytest.raises(SnakefoldError, match=r"failed in round 1 after 1 attempt\(s\) on CPU"):
        relax_protein(overlapping, _settings(max_attempts=1))

    model_path = tmp_path / "overlapping.pdb"
    model_path.write_text(to_pdb(overlapping))
    status = main(["relax", str(model_path), "--output", str(tmp_path / "r.pdb"), "--metrics", str(tmp_path / "r.json"),
                   "--platform", "CPU", "--max-attempts", "1"])
    assert status == 0, "a failed minimisation keeps the unrelaxed model; it does not fail the job"
    metrics = json.loads((tmp_path / "r.json").read_text())
    assert metrics["relaxed"] is False and "failed in round 1 after 1 attempt(s) on CPU" in metrics["failure"]
    kept = from_structure_file(tmp_path / "r.pdb")
    assert np.allclose(kept.atom_positions[kept.atom_mask > 0], overlapping.atom_positions[overlapping.atom_mask > 0],
                       atol=1e-3)


def test_rank_picks_the_model_of_that_rank_from_the_runs_scores(shared_data, tmp_path, capsys):
    predictions, scores = tmp_path / "predictions", []
    for model_number, name, plddt in ((0, "model_1_seed0", 60.0), (5, "model_2_seed1", 80.0)):
        protein = from_structure_file(shared_data / "structures" / "1L2Y.cif", model=model_number)
        (predictions / name).mkdir(parents=True)
        (predictions / name / "unrelaxed.pdb").write_text(to_pdb(protein))
        scores.append(predictions / name / "scores.json")
        scores[-1].write_text(json.dumps({"model": name, "plddt": [plddt] * 20, "ptm": None,
                                          "params": {"untrained": True}}))
    common = ["--scores", *map(str, scores), "--metric", "plddt", "--platform", "CPU",
              "--max-outer-iterations", "0", "--tolerance", "10"]

    assert main(["relax", *common, "--rank", "0", "--output", str(tmp_path / "rank_0.pdb"),
                 "--metrics", str(tmp_path / "rank_0.json")]) == 0
    metrics = json.loads((tmp_path / "rank_0.json").read_text())
    assert metrics["model"] == "model_2_seed1"
    assert metrics["unrelaxed"].endswith("model_2_seed1/unrelaxed.pdb")
    assert metrics["settings"]["tolerance_kcal_per_mol_per_nm"] == 10.0
    assert metrics["settings"]["max_outer_iterations"] == 0
    assert "REMARK 250 relaxed by snakefold" in (tmp_path / "rank_0.pdb").read_text()

    assert main(["relax", *common, "--rank", "2", "--output", str(tmp_path / "x.pdb"),
                 "--metrics", str(tmp_path / "x.json")]) == 1
    assert "rank 2 requested, but 2 model run(s) were given" in capsys.readouterr().err


def test_unknown_residues_are_refused_with_their_labels(shared_data):
    protein = from_structure_file(shared_data / "structures" / "1L2Y.cif")
    aatype = protein.aatype.copy()
    aatype[4] = rc.unknown_restype_index
    with pytest.raises(SnakefoldError, match=r"residue\(s\) A:5 are of unknown type"):
        relax_protein(dataclasses.replace(protein, aatype=aatype), _settings())


def test_platform_choice():
    cpu = choose_platform("CPU", threads=2)
    assert cpu.name == "CPU" and cpu.properties == {"Threads": "2"}
    automatic = choose_platform("auto")
    assert automatic.name in ("CUDA", "OpenCL", "CPU")
    assert automatic.describe().startswith(f"platform {automatic.name} (auto")
    if automatic.name == "CPU":
        assert "CUDA:" in automatic.describe() and "OpenCL:" in automatic.describe()
        with pytest.raises(SnakefoldError, match="relax.platform.*'CUDA' cannot be used.*installed platforms"):
            choose_platform("CUDA")
    with pytest.raises(SnakefoldError, match="unknown platform 'TPU'"):
        choose_platform("TPU")


def test_settings_come_from_the_schema():
    section = schema_defaults("relax")
    assert section == {"mode": "best", "platform": "auto", "stiffness": 10.0, "tolerance": 2.39,
                       "max_iterations": 2000, "max_outer_iterations": 3, "max_attempts": 3}
    assert validate_config({"inputs": ["x.fasta"], "relax": {"mode": "all"}})["relax"]["mode"] == "all"
    settings = RelaxSettings.from_config(section)
    assert settings.stiffness == 10.0 and settings.max_iterations == 2000 and settings.threads is None
