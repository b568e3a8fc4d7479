"""Structure metrics on real structures: identity, rigid motion, renumbering, TM-align, GDT, lDDT."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import tmtools
from scipy.spatial.transform import Rotation

from snakefold.cli import main
from snakefold.common import residue_constants as rc
from snakefold.common.protein import Protein, from_structure_file
from snakefold.metrics.compare import compare_structures
from snakefold.metrics.gdt import gdt
from snakefold.metrics.lddt import lddt
from snakefold.metrics.pairing import ResiduePairs, pair_residues, paired_atoms
from snakefold.metrics.rmsd import rmsd
from snakefold.metrics.superposition import apply, kabsch
from snakefold.metrics.tm_score import tm_align, tm_score

CA = rc.atom_order["CA"]


def _load(shared_data, name, **kwargs) -> Protein:
    return from_structure_file(shared_data / "structures" / name, **kwargs)


def _rigidly_moved(protein: Protein, seed: int) -> Protein:
    rotation = Rotation.random(random_state=seed).as_matrix()
    translation = np.random.default_rng(seed).uniform(-50, 50, size=3)
    positions = protein.atom_positions.astype(np.float64) @ rotation.T + translation
    return dataclasses.replace(protein, atom_positions=positions * protein.atom_mask[..., None])


def _renumbered_fragment(protein: Protein) -> Protein:
    """Residues 6.. of ``protein``, numbered from 101, in chain Z: numbering and length both differ."""
    keep = np.arange(5, protein.num_residues)
    return Protein(atom_positions=protein.atom_positions[keep], aatype=protein.aatype[keep],
                   atom_mask=protein.atom_mask[keep], residue_index=np.arange(101, 101 + len(keep)),
                   chain_index=np.zeros(len(keep)), b_factors=protein.b_factors[keep], chain_ids=("Z",))


def _assert_perfect(metrics):
    assert metrics["rmsd_ca"] == pytest.approx(0.0, abs=1e-3)
    assert metrics["rmsd_heavy"] == pytest.approx(0.0, abs=1e-3)
    assert metrics["tm_score"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["tm_align_score"] == pytest.approx(1.0, abs=1e-4)
    assert metrics["gdt_ts"] == pytest.approx(100.0) and metrics["gdt_ha"] == pytest.approx(100.0)
    assert metrics["lddt_ca"] == pytest.approx(1.0) and metrics["lddt_all_atom"] == pytest.approx(1.0)
    assert metrics["dssp_agreement"] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["1UBQ.pdb", "1L2Y.cif", "7GSA.cif"])
def test_identity_and_rigid_motion_are_perfect(shared_data, name):
    protein = _load(shared_data, name)
    _assert_perfect(compare_structures(protein, protein))
    moved = _rigidly_moved(protein, seed=3)
    assert rmsd(moved, protein, "ca", ResiduePairs(np.arange(protein.num_residues),
                                                   np.arange(protein.num_residues))) < 1e-3
    _assert_perfect(compare_structures(moved, protein))


def test_numbering_and_missing_residues_do_not_matter(shared_data):
    reference = _load(shared_data, "1PGA.pdb")
    model = _rigidly_moved(_renumbered_fragment(reference), seed=5)
    pairs = pair_residues(model, reference)
    assert len(pairs) == reference.num_residues - 5
    np.testing.assert_array_equal(pairs.reference, np.arange(5, reference.num_residues))
    metrics = compare_structures(model, reference)
    assert metrics["rmsd_ca"] == pytest.approx(0.0, abs=1e-3)
    # normalised by the reference: the five missing residues cost 5/56
    expected = (reference.num_residues - 5) / reference.num_residues
    assert metrics["tm_score"] == pytest.approx(expected, abs=1e-6)
    assert metrics["gdt_ts"] == pytest.approx(100.0 * expected)
    assert metrics["lddt_ca"] < 1.0 and lddt(model, model, "ca").score == pytest.approx(1.0)


def test_rmsd_agrees_with_a_double_precision_kabsch(shared_data):
    model, reference = _load(shared_data, "2GB1.pdb"), _load(shared_data, "1PGA.pdb")  # NMR vs crystal, same protein
    pairs = pair_residues(model, reference)
    for atoms in ("ca", "heavy"):
        x, y, _ = paired_atoms(model, reference, pairs, atoms)
        rotation, translation = kabsch(x, y)
        direct = np.sqrt(np.mean(np.sum((apply(rotation, translation, x) - y) ** 2, axis=-1)))
        assert rmsd(model, reference, atoms, pairs) == pytest.approx(direct, abs=1e-4)
        assert 0.5 < direct < 2.5


# Pairs of different proteins; TM-align's TM-scores, normalised by the second, as computed by tmtools.
KNOWN_PAIRS = [("1PGA.pdb", "1UBQ.pdb"), ("3EBX.pdb", "1FNA.pdb"), ("4ICB.pdb", "1HRC.pdb"), ("1POH.pdb", "2LZM.pdb")]


@pytest.mark.parametrize("first,second", KNOWN_PAIRS)
def test_tm_score_matches_tm_align_on_known_pairs(shared_data, first, second):
    model, reference = _load(shared_data, first), _load(shared_data, second)
    ca_model, ca_reference = model.atom_positions[:, CA].astype(float), reference.atom_positions[:, CA].astype(float)
    direct = tmtools.tm_align(ca_model, ca_reference, model.sequence, reference.sequence)
    result = tm_align(model, reference)
    assert result.tm_score == pytest.approx(direct.tm_norm_chain2, abs=1e-9)
    # Our own superposition search, given TM-align's residue pairing, finds TM-align's score.
    model_index, reference_index = [], []
    i = j = 0
    for a, b in zip(result.aligned_model, result.aligned_reference):
        if a != "-" and b != "-":
            model_index.append(i)
            reference_index.append(j)
        i, j = i + (a != "-"), j + (b != "-")
    ours = tm_score(model, reference, ResiduePairs(np.array(model_index), np.array(reference_index)))
    assert ours == pytest.approx(direct.tm_norm_chain2, abs=1e-3)
    if (first, second) == ("1PGA.pdb", "1UBQ.pdb"):
        assert ours == pytest.approx(0.4215, abs=1e-3)


def test_tm_score_with_sequence_pairing_matches_tm_align_given_that_alignment(shared_data):
    model, reference = _load(shared_data, "2GB1.pdb"), _load(shared_data, "1PGA.pdb")
    rng = np.random.default_rng(11)
    noisy = dataclasses.replace(model, atom_positions=model.atom_positions + rng.normal(
        scale=1.5, size=model.atom_positions.shape) * model.atom_mask[..., None])
    for candidate in (model, noisy):
        fixed = tmtools.tm_align(candidate.atom_positions[:, CA].astype(float),
                                 reference.atom_positions[:, CA].astype(float), candidate.sequence,
                                 reference.sequence, [candidate.sequence, reference.sequence])
        assert tm_score(candidate, reference) == pytest.approx(fixed.tm_norm_chain2, abs=1e-3)


def test_gdt_finds_the_larger_rigid_domain(shared_data):
    reference = _load(shared_data, "1UBQ.pdb")
    positions = reference.atom_positions.copy()
    positions[50:] += np.array([0.0, 30.0, 0.0], dtype=np.float32)  # residues 51-76 moved far away
    model = dataclasses.replace(reference, atom_positions=positions)
    scores = gdt(model, reference)
    for cutoff in (0.5, 1.0, 2.0, 4.0, 8.0):
        assert scores[f"P_{cutoff:g}"] == pytest.approx(50 / 76)
    assert scores["gdt_ts"] == pytest.approx(100 * 50 / 76) and scores["gdt_ha"] == pytest.approx(100 * 50 / 76)


def test_gdt_beats_the_least_squares_superposition_and_is_monotonic(shared_data):
    model, reference = _load(shared_data, "2GB1.pdb"), _load(shared_data, "1PGA.pdb")
    scores = gdt(model, reference)
    fractions = [scores[f"P_{cutoff:g}"] for cutoff in (0.5, 1.0, 2.0, 4.0, 8.0)]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1
    x, y, _ = paired_atoms(model, reference, pair_residues(model, reference), "ca")
    distance = np.linalg.norm(apply(*kabsch(x, y), x) - y, axis=-1)
    for cutoff, fraction in zip((0.5, 1.0, 2.0, 4.0, 8.0), fractions):
        assert fraction >= np.mean(distance <= cutoff) - 1e-9


def _line_of_ca(offsets) -> Protein:
    length = len(offsets)
    positions = np.zeros((length, 37, 3))
    positions[:, CA, 0] = offsets
    mask = np.zeros((length, 37))
    mask[:, CA] = 1.0
    return Protein(atom_positions=positions, aatype=np.zeros(length), atom_mask=mask,
                   residue_index=np.arange(1, length + 1), chain_index=np.zeros(length), b_factors=mask)


def test_lddt_from_its_definition():
    reference = _line_of_ca([0.0, 3.8, 7.6, 11.4, 30.0])  # the last CA is beyond 15 A of all others
    model = _line_of_ca([0.0, 3.8, 7.6, 12.1, 30.0])  # residue 4 moved 0.7 A: kept at 1, 2, 4 A, lost at 0.5 A
    result = lddt(model, reference, "ca")
    # 6 distances under 15 A; the 3 involving residue 4 score 3/4
    assert result.num_distances == 6
    assert result.score == pytest.approx((3 * 1.0 + 3 * 0.75) / 6)
    np.testing.assert_allclose(result.per_residue[:4], [(2 + 0.75) / 3] * 3 + [0.75])
    assert np.isnan(result.per_residue[4])
    # a model lacking residue 2 loses every distance to it
    partial = _line_of_ca([0.0, 3.8, 7.6, 11.4, 30.0])
    partial = dataclasses.replace(partial, atom_mask=partial.atom_mask * (np.arange(5) != 1)[:, None])
    assert lddt(partial, reference, "ca").score == pytest.approx(3 / 6)


def test_all_atom_lddt_resolves_equivalent_atom_names(shared_data):
    reference = _load(shared_data, "1UBQ.pdb")
    swapped = reference.atom_positions.copy()
    od1, od2 = rc.atom_order["OD1"], rc.atom_order["OD2"]
    asp = np.flatnonzero(reference.aatype == rc.restype_order["D"])
    swapped[asp, od1], swapped[asp, od2] = reference.atom_positions[asp, od2], reference.atom_positions[asp, od1]
    model = dataclasses.replace(reference, atom_positions=swapped)
    assert lddt(model, reference, "all").score == pytest.approx(1.0)
    noisy = dataclasses.replace(reference, atom_positions=reference.atom_positions + np.random.default_rng(1).normal(
        scale=1.0, size=swapped.shape) * reference.atom_mask[..., None])
    assert 0.5 < lddt(noisy, reference, "all").score < 0.9


def test_compare_command_prints_and_writes_json(shared_data, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    status = main(["compare", str(shared_data / "structures/2GB1.pdb"), str(shared_data / "structures/1PGA.pdb"),
                   "--json", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "TM-score (TM-align)" in printed and "lDDT all atoms" in printed
    metrics = json.loads(out.read_text())
    assert metrics["paired_residues"] == 56 and metrics["identical_paired_residues"] == 56
    assert 0.8 < metrics["tm_score"] < 0.95 and 0.8 < metrics["lddt_ca"] < 0.95
    assert metrics["tm_score"] == pytest.approx(metrics["tm_align_score"], abs=1e-3)
    assert 0 < metrics["gdt_ha"] < metrics["gdt_ts"] < 100


def test_compare_refuses_unpaired_chains(shared_data, capsys):
    status = main(["compare", str(shared_data / "structures/1TIM.pdb.gz"), str(shared_data / "structures/1UBQ.pdb")])
    assert status == 1
    assert "choose one chain of each (--model-chain, --reference-chain)" in capsys.readouterr().err
