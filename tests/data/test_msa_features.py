"""MSA features: species identifiers, the merge of several databases' MSAs, AlphaFold2's encoding."""

from __future__ import annotations

import numpy as np
import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.msa.features import make_msa_features
from snakefold.msa.formats import parse_a3m, parse_stockholm, read_msa
from snakefold.msa.species import species_id
from tests.data import af2_rules


@pytest.mark.parametrize("description, expected", [
    ("tr|A0A146SKV9|A0A146SKV9_FUNHE", "FUNHE"),
    ("sp|P0C2L1|A3X1_LOXLA", "LOXLA"),
    ("tr|A0A2K5JW76|A0A2K5JW76_COLAP/4-86", "COLAP"),
    ("sp|Q8VCQ3|NRBF2_MOUSE/4-88 [subseq from] Nuclear receptor", "MOUSE"),
    ("tr|A0A146SKV9_1|A0A146SKV9_FUNHE_123 small BFD", "FUNHE"),
    ("UniRef90_Q9H5Z4/4-78", ""),
    ("MGYP000613015979/54-136", ""),
    ("UniRef100_A0A7C3BUL5\t84\t0.322", ""),
    ("tr|A0A1|A0A1_HUMAN", ""),  # accession too short
    ("tr|A0A146SKV9|A0A146SKV9_TOOLONG", ""),
    ("xx|A0A146SKV9|A0A146SKV9_FUNHE", ""),
    ("", ""),
])
def test_species_identifier(description, expected):
    assert species_id(description) == expected
    assert af2_rules.species(description) == expected


def test_merge_keeps_order_drops_exact_repeats_and_encodes_hhblits():
    uniref90 = parse_stockholm("query ACDE\nsp|P12345|X_HUMAN/1-4 AC-E\nhit ACDE\n//\n")
    bfd = parse_a3m(">query\nACDE\n>tr|Q12345|Q12345_MOUSE\nAC-E\n>new\nBZUX\n")
    mgnify = parse_stockholm("query AC--DE\nMGYP1/1-6 -CkkDo\n//\n")
    features = make_msa_features([uniref90, bfd, mgnify])
    # query, the HUMAN row, then BFD's 'BZUX' (its other rows repeat earlier ones), then MGnify's row.
    expected = ["ACDE", "AC-E", "BZUX", "-CDO"]
    np.testing.assert_array_equal(features["msa"],
                                  [[af2_rules.hhblits_index(letter) for letter in row] for row in expected])
    assert features["msa"][2].tolist() == [2, 3, 1, 20]  # B -> D, Z -> E, U -> C
    assert features["msa"][3].tolist()[3] == 20  # a lower-case 'o' in a Stockholm match column: O -> X
    np.testing.assert_array_equal(features["deletion_matrix_int"], [[0] * 4, [0] * 4, [0] * 4, [0, 0, 2, 0]])
    assert features["num_alignments"].tolist() == [4] * 4
    assert features["msa_species_identifiers"].tolist() == [b"", b"HUMAN", b"", b""]
    for key in ("msa", "deletion_matrix_int", "num_alignments"):
        assert features[key].dtype == np.int32
    assert features["msa_species_identifiers"].dtype.kind == "S"


def test_merge_refuses_msas_of_another_length_and_bad_letters():
    with pytest.raises(SnakefoldError, match="mgnify: its query has 3 aligned columns, the first MSA's 4"):
        make_msa_features([parse_a3m(">q\nACDE\n"), parse_a3m(">q\nACD\n")], ["uniref90", "mgnify"])
    with pytest.raises(SnakefoldError, match=r"row 2 has '\*' in column 3"):
        make_msa_features([parse_a3m(">q\nACDE\n>h\nAC*E\n")])


@pytest.mark.parametrize("target", ["4zey_A", "2crb_A", "3u8v_A", "1psm_A", "query_unknown73"])
def test_openfold_msas_merge_as_alphafold2_merges_them(shared_data, target):
    directory = shared_data / "msas" / "openfold" / target
    files = [directory / "uniref90_hits.sto", directory / "bfd_uniclust_hits.a3m", directory / "mgnify_hits.sto"]
    # AlphaFold2's hit limits: UniRef90 10,000 rows, MGnify 501 (query included).
    msas = [read_msa(files[0]).truncated(10000), read_msa(files[1]), read_msa(files[2]).truncated(501)]
    features = make_msa_features(msas)
    readers = (af2_rules.stockholm_rows, af2_rules.a3m_rows, af2_rules.stockholm_rows)
    rows, deletions, species = af2_rules.merged([reader(path.read_text()) for reader, path in zip(readers, files)])
    np.testing.assert_array_equal(features["msa"], [[af2_rules.hhblits_index(c) for c in row] for row in rows])
    np.testing.assert_array_equal(features["deletion_matrix_int"], deletions)
    assert features["num_alignments"].tolist() == [len(rows)] * len(rows[0])
    assert [code.decode() for code in features["msa_species_identifiers"]] == species
    assert len(rows) < sum(len(msa) for msa in msas)  # the query at least repeats across the three


def test_uniprot_msa_species_for_pairing(shared_data):
    path = shared_data / "msas/openfold/4zey_A/uniprot_hits.sto"
    features = make_msa_features([read_msa(path)])
    codes = [code.decode() for code in features["msa_species_identifiers"]]
    rows, _, species = af2_rules.merged([af2_rules.stockholm_rows(path.read_text())])
    assert codes == species
    assert codes[0] == "" and codes[1] == "COLAP"
    assert sum(bool(code) for code in codes) > 0.9 * len(codes)


def test_colabfold_msas_parse_and_merge(shared_data):
    paths = sorted((shared_data / "msas" / "colabfold").glob("*.a3m"))
    assert len(paths) == 5
    for path in paths:
        features = make_msa_features([read_msa(path)])
        rows, deletions, species = af2_rules.merged([af2_rules.a3m_rows(path.read_text())])
        assert features["msa"].shape == (len(rows), len(rows[0]))
        np.testing.assert_array_equal(features["deletion_matrix_int"], deletions)
        assert all(code == b"" for code in features["msa_species_identifiers"])  # UniRef100 names carry none
