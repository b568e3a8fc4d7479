"""AlphaFold2's template filters and features on hits to the real structures of the session database."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from snakefold.common import residue_constants
from snakefold.templates.featurise import TemplateFeaturizer, parse_obsolete, query_to_hit_mapping
from snakefold.templates.hhr import TemplateHit
from snakefold.templates.mmcif import read_mmcif
from tests.data.templates.conftest import default_filters

CA = residue_constants.atom_order["CA"]
UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


def mutate(sequence: str, positions) -> str:
    letters = list(sequence)
    for position in positions:
        letters[position] = "W" if letters[position] != "W" else "A"
    return "".join(letters)


def ungapped_hit(name: str, query: str, template: str, query_start: int = 0, hit_start: int = 0,
                 sum_probs: float = 50.0) -> TemplateHit:
    """A hit aligning ``query`` (from ``query_start``) to ``template`` (from ``hit_start``) column by column."""
    assert len(query) == len(template)
    return TemplateHit(index=1, name=f"{name} mol:protein", aligned_cols=len(query), sum_probs=sum_probs,
                       probability=99.0, query=query, hit_sequence=template,
                       indices_query=tuple(range(query_start, query_start + len(query))),
                       indices_hit=tuple(range(hit_start, hit_start + len(template))))


def featurizer(template_db, tmp_path, obsolete=None, **filters):
    return TemplateFeaturizer(template_db.mmcif_dir, default_filters(**filters), obsolete or {},
                              tmp_path / "kalign.log")


@pytest.fixture(scope="module")
def ubiquitin(template_db):
    return read_mmcif(template_db.mmcif_dir / "1ubq.cif").chains["A"]


def test_mapping_follows_the_hhr_indices():
    hit = TemplateHit(index=1, name="1abc_A", aligned_cols=5, sum_probs=3.0, probability=50.0,
                      query="AC-DEF", hit_sequence="ACGD-F",
                      indices_query=(4, 5, -1, 6, 7, 8), indices_hit=(10, 11, 12, 13, -1, 14))
    # Template indices count from the first aligned template residue (10), as the hit sequence does.
    assert query_to_hit_mapping(hit, query_length=20) == {4: 0, 5: 1, 6: 3, 8: 4}
    assert query_to_hit_mapping(hit, query_length=8) == {4: 0, 5: 1, 6: 3}


def test_template_atoms_land_on_the_aligned_query_residues(template_db, ubiquitin, tmp_path):
    query = "GS" + mutate(UBIQUITIN, range(3, 76, 8))
    hit = ungapped_hit("1UBQ_A", query[2:], UBIQUITIN, query_start=2)
    features, outcomes = featurizer(template_db, tmp_path).featurize(query, [hit])
    assert [outcome.kept for outcome in outcomes] == [True]
    assert features["template_all_atom_positions"].shape == (1, 78, 37, 3)
    assert features["template_aatype"].shape == (1, 78, 22)
    assert features["template_all_atom_masks"].dtype == np.float32
    assert features["template_domain_names"].tolist() == [b"1ubq_A"]
    assert features["template_sequence"].tolist() == [("--" + UBIQUITIN).encode()]
    assert features["template_sum_probs"].tolist() == [[50.0]]
    np.testing.assert_array_equal(features["template_all_atom_positions"][0, 2:], ubiquitin.atom_positions)
    np.testing.assert_array_equal(features["template_all_atom_masks"][0, 2:], ubiquitin.atom_mask)
    assert not features["template_all_atom_masks"][0, :2].any()
    # One-hot in the HHblits alphabet ACDEFGHIKLMNPQRSTVWYX-: unaligned query residues are gaps (21).
    hhblits = np.argmax(features["template_aatype"][0], axis=-1)
    assert hhblits[:2].tolist() == [21, 21]
    assert "".join(residue_constants.HHBLITS_ALPHABET[index] for index in hhblits[2:]) == UBIQUITIN


def test_alphafold_prefilters(template_db, tmp_path):
    query = mutate(UBIQUITIN, [5, 40])
    run = featurizer(template_db, tmp_path).featurize
    # Aligned over 7 of 76 residues: 7/76 = 0.092 <= 0.1.
    short_alignment = ungapped_hit("1ubq_A", query[:7], UBIQUITIN[:7])
    # An exact copy of 73 of the query's residues (0.96 > 0.95) is a near-duplicate.
    exact = ungapped_hit("1ubq_A", query[3:], query[3:], query_start=3, hit_start=3)
    # 9 template residues are too few (minimum 10), though 9 + gaps cover enough of the query.
    few_residues = TemplateHit(index=3, name="1ubq_A", aligned_cols=9, sum_probs=5.0, probability=10.0,
                               query=query[:18], hit_sequence="-" * 9 + UBIQUITIN[9:18],
                               indices_query=tuple(range(18)), indices_hit=(-1,) * 9 + tuple(range(9, 18)))
    reasons = [outcome.reason for outcome in run(query, [short_alignment])[1] + run(query, [exact])[1]
               + run(query, [few_residues])[1]]
    assert "too little of the query aligned (7 of 76 residues" in reasons[0]
    assert "near-duplicate of the query" in reasons[1]
    assert "too short (9 residues < 10)" in reasons[2]
    features, outcomes = run(query, [exact, short_alignment])
    assert features["template_aatype"].shape == (0, 76, 22) and not any(outcome.kept for outcome in outcomes)


def test_release_date_cutoff_is_inclusive(template_db, tmp_path):
    # 1UBQ was first released on 1987-04-16.
    hit = ungapped_hit("1ubq_A", mutate(UBIQUITIN, [10]), UBIQUITIN)
    query = mutate(UBIQUITIN, [10])
    before = featurizer(template_db, tmp_path, max_template_date=datetime.date(1987, 4, 15)).featurize(query, [hit])
    same_day = featurizer(template_db, tmp_path, max_template_date=datetime.date(1987, 4, 16)).featurize(query, [hit])
    assert before[1][0].reason == "released 1987-04-16, after max_template_date 1987-04-15"
    assert len(before[0]["template_domain_names"]) == 0
    assert same_day[0]["template_domain_names"].tolist() == [b"1ubq_A"]


def test_obsolete_entries_are_replaced_or_skipped(template_db, ubiquitin, tmp_path):
    obsolete_dat = tmp_path / "obsolete.dat"
    obsolete_dat.write_text(" LIST OF OBSOLETE COORDINATE ENTRIES AND SUCCESSORS\n"
                            "OBSLTE    31-JUL-94 9XYZ     1UBQ\n"
                            "OBSLTE    26-SEP-06 2H33     2JM5 2OWI\n"
                            "OBSLTE    06-NOV-19 8XYZ\n")
    obsolete = parse_obsolete(obsolete_dat)
    assert obsolete == {"9xyz": "1ubq", "2h33": "2jm5", "8xyz": None}
    query = mutate(UBIQUITIN, [20, 50])
    replaced = ungapped_hit("9XYZ_A", query, UBIQUITIN, sum_probs=60.0)
    removed = ungapped_hit("8XYZ_A", query, UBIQUITIN, sum_probs=70.0)
    features, outcomes = featurizer(template_db, tmp_path, obsolete).featurize(query, [replaced, removed])
    assert [(outcome.name.split()[0], outcome.kept) for outcome in outcomes] == [("8XYZ_A", False), ("9XYZ_A", True)]
    assert outcomes[0].reason == "8xyz is obsolete and was removed from the PDB"
    assert features["template_domain_names"].tolist() == [b"1ubq_A"]
    np.testing.assert_array_equal(features["template_all_atom_positions"][0], ubiquitin.atom_positions)


def test_hit_sequence_differing_from_the_mmcif_is_realigned_with_kalign(template_db, ubiquitin, tmp_path):
    query = mutate(UBIQUITIN, [30, 60])
    # The database's version of the chain lacks residue 40 and has two substitutions: not a substring of
    # the mmCIF sequence, so the hit is realigned to it with kalign (94 % identical: kept).
    database_version = mutate(UBIQUITIN[:40] + UBIQUITIN[41:], [10, 50])
    aligned_query = query[:40] + query[41:]
    hit = TemplateHit(index=1, name="1ubq_A", aligned_cols=75, sum_probs=40.0, probability=99.0,
                      query=aligned_query, hit_sequence=database_version,
                      indices_query=tuple(range(40)) + tuple(range(41, 76)), indices_hit=tuple(range(75)))
    features, outcomes = featurizer(template_db, tmp_path).featurize(query, [hit])
    assert outcomes[0].kept, outcomes[0].reason
    assert "kalign" in (tmp_path / "kalign.log").read_text()
    positions = features["template_all_atom_positions"][0]
    aligned = [index for index in range(76) if index != 40]
    np.testing.assert_array_equal(positions[aligned], ubiquitin.atom_positions[aligned])
    assert not features["template_all_atom_masks"][0, 40].any()

    unrelated = mutate(UBIQUITIN, range(0, 76, 3))  # a third of the residues changed: below 90 % identity
    hit = ungapped_hit("1ubq_A", query, unrelated)
    _, outcomes = featurizer(template_db, tmp_path).featurize(query, [hit])
    assert not outcomes[0].kept and "% identical to chain A of the mmCIF file" in outcomes[0].reason


def test_chain_found_by_sequence_when_the_named_chain_differs(template_db, tmp_path):
    hemoglobin = read_mmcif(template_db.mmcif_dir / "4hhb.cif")
    alpha = hemoglobin.chains["C"].sequence  # chains A and C are both alpha globin
    query = mutate(alpha, [7, 70, 120])
    hit = ungapped_hit("4hhb_B", query, alpha)  # named chain B (beta) does not hold the alpha sequence
    features, outcomes = featurizer(template_db, tmp_path).featurize(query, [hit])
    assert outcomes[0].kept
    assert features["template_domain_names"].tolist() == [b"4hhb_A"]
    np.testing.assert_array_equal(features["template_all_atom_positions"][0], hemoglobin.chains["A"].atom_positions)


def test_best_hits_first_up_to_max_hits_and_missing_structures_skipped(template_db, tmp_path):
    query = mutate(UBIQUITIN, [33])
    hits = [ungapped_hit("1ubq_A", query, UBIQUITIN, sum_probs=10.0),
            ungapped_hit("7zzz_A", query, UBIQUITIN, sum_probs=90.0),
            ungapped_hit("1ubq_A", query, UBIQUITIN, sum_probs=30.0),
            ungapped_hit("1ubq_A", query, UBIQUITIN, sum_probs=20.0)]
    features, outcomes = featurizer(template_db, tmp_path, max_hits=2).featurize(query, hits)
    assert [outcome.kept for outcome in outcomes] == [False, True, True]
    assert outcomes[0].reason.startswith("no mmCIF file 7zzz.cif in")
    assert features["template_sum_probs"].tolist() == [[30.0], [20.0]]


def test_no_hits_gives_zero_templates(template_db, tmp_path):
    features, outcomes = featurizer(template_db, tmp_path).featurize("ACDEFGHIKL", [])
    assert outcomes == []
    assert {name: (array.shape, array.dtype.kind) for name, array in features.items()} == {
        "template_aatype": ((0, 10, 22), "f"), "template_all_atom_positions": ((0, 10, 37, 3), "f"),
        "template_all_atom_masks": ((0, 10, 37), "f"), "template_sequence": ((0,), "S"),
        "template_domain_names": ((0,), "S"), "template_sum_probs": ((0, 1), "f")}
