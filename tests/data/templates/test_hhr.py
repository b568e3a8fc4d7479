"""hhr parsing of real hhsearch and hhblits results, with the values AlphaFold2's reading rules give.

Expected values are read off the files by those rules: the name is the description line after '>'; the
aligned rows are the 'Q <name>' / 'T <name>' rows of every block joined; each column's residue index is
0-based from the row's start number, -1 for '-'.
"""

from __future__ import annotations

import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.templates.hhr import parse_hhr, read_hhr

PDB70_HITS = "msas/openfold/query_unknown73/pdb70_hits.hhr"
HHBLITS_HITS = "msas/hhsuite/query.hhr"


def test_hhsearch_pdb70_hits(shared_data):
    hits = read_hhr(shared_data / PDB70_HITS)
    assert [hit.index for hit in hits] == list(range(1, 11))
    assert [hit.name.split()[0] for hit in hits] == [
        "1HF9_B", "2CRB_A", "4ZEY_A", "3U8V_A", "1PSM_A", "5KC1_F", "5KC1_J", "3ZEE_A", "4I6P_A", "2Q2K_A"]
    assert [hit.aligned_cols for hit in hits] == [22, 20, 20, 32, 18, 17, 17, 15, 16, 17]
    assert [hit.sum_probs for hit in hits] == [13.1, 11.0, 10.8, 15.8, 8.0, 0.0, 0.0, 7.4, 0.0, 0.0]

    first = hits[0]
    assert first.name == ("1HF9_B ATPASE INHIBITOR (MITOCHONDRIAL); ATPASE INHIBITOR, F1 ATPASE INHIBITOR; NMR "
                          "{BOS TAURUS} SCOP: h.4.8.1")
    assert first.probability == 7.51
    # Q query  7 AEHHHKAAEHHEQAAKHHHAAA  28 (73) / T 1HF9_B  10 ISHHAKEIERLQKEIERHKQSI  31 (41)
    assert first.query == "AEHHHKAAEHHEQAAKHHHAAA"
    assert first.hit_sequence == "ISHHAKEIERLQKEIERHKQSI"
    assert first.indices_query == tuple(range(6, 28))
    assert first.indices_hit == tuple(range(9, 31))

    smbp = hits[3]
    # Q query  15 EHHEQAAKHHHAAAEHHEKGEHEQAAHHADTA  46 (73) / T 3U8V_A  50 THVGHGIKHLEDAIKHGEEGHVGVATKHAQEA  81 (93)
    assert smbp.query == "EHHEQAAKHHHAAAEHHEKGEHEQAAHHADTA"
    assert smbp.hit_sequence == "THVGHGIKHLEDAIKHGEEGHVGVATKHAQEA"
    assert smbp.indices_query == tuple(range(14, 46))
    assert smbp.indices_hit == tuple(range(49, 81))


def test_hhblits_hits_without_template_neff(shared_data):
    """hhblits 2013 output: no Template_Neff field, alignments over several blocks, gaps on both sides."""
    hits = read_hhr(shared_data / HHBLITS_HITS)
    assert len(hits) == 124
    assert [hit.index for hit in hits] == list(range(1, 125))

    first = hits[0]
    assert first.name.startswith("UP20|TITVEVABA|104|471 Protein FAM69A OX=8355; Protein FAM69B OX=8364;")
    assert (first.aligned_cols, first.sum_probs, first.probability) == (413, 410.0, 100.0)
    # Nine blocks, no gap: query 19-431, template 58-470.
    assert first.indices_query == tuple(range(18, 431))
    assert first.indices_hit == tuple(range(57, 470))
    assert first.query.startswith("RLQGRLPGLRVRCIFLAWLGVFAGSWLVYVHYSSYSERCRGHVCQVVICD")
    assert first.hit_sequence.startswith("YFQARLSYLRVKYLFLSWLGVFVGSWVVYVQYSSYTELCRGHVCKKIICD")

    seventh = hits[6]
    # Query 39-366 and template 5-305 over 332 columns: 4 query gaps, 31 template gaps.
    assert (seventh.aligned_cols, seventh.sum_probs) == (297, 222.5)
    assert len(seventh.query) == len(seventh.hit_sequence) == 332
    assert [column for column, letter in enumerate(seventh.query) if letter == "-"] == [112, 113, 114, 129]
    assert seventh.hit_sequence.count("-") == 31
    # T UP20|WUCZEVABA  5 LCAGAWLRKPHYF--------------QCEEYTSNK...; Q ... 119 IEET...SIK---EFREMTLSFLKANL-GDL...
    assert seventh.hit_sequence.startswith("LCAGAWLRKPHYF" + "-" * 14 + "QCEEYTSNK")
    assert [index for index in seventh.indices_query if index >= 0] == list(range(38, 366))
    assert [index for index in seventh.indices_hit if index >= 0] == list(range(4, 305))
    assert seventh.indices_query[111:116] == (149, -1, -1, -1, 150)
    assert seventh.indices_hit[12:14] == (16, -1)

    last = hits[123]
    # Q 98 APGQQVYSGLWRDKDVTIKCGIEETLDSKARSDAAPRRELV-LFDKPTRGTSIKE 151 / T 139 RSGE...GPSE 193
    assert (last.aligned_cols, last.sum_probs) == (54, 38.6)
    assert last.query == "APGQQVYSGLWRDKDVTIKCGIEETLDSKARSDAAPRRELV-LFDKPTRGTSIKE"
    assert last.hit_sequence == "RSGEILPAGQSESTLVKLRSAAEGKLDDKSFSDRTPRIEFVGLFDTVSGGHGPSE"
    assert last.indices_query == tuple(range(97, 138)) + (-1,) + tuple(range(138, 151))
    assert last.indices_hit == tuple(range(138, 193))


def test_no_hits_and_broken_files():
    assert parse_hhr("Query         q\nMatch_columns 10\n\n No Hit   Prob\n") == []
    broken = "No 1\n>1abc_A protein\nProbab=99.0  E-value=1e-5\n"
    with pytest.raises(SnakefoldError, match="line 3: cannot read the hit summary"):
        parse_hhr(broken, source="broken.hhr")
    uneven = ("No 1\n>1abc_A protein\nProbab=99.0  E-value=1e-05  Score=50.0  Aligned_cols=4  Identities=50%  "
              "Similarity=0.5  Sum_probs=3.0\n\nQ q                 1 ACDE    5 (10)\n")
    with pytest.raises(SnakefoldError, match="line 5: the row holds 4 residues, but its start and end say 5"):
        parse_hhr(uneven, source="uneven.hhr")
