"""a3m and Stockholm parsing against AlphaFold2's rules (tests/data/af2_rules.py), on the real MSAs in
../shared/data/msas and on small cases written here."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.msa.formats import (
    parse_a3m,
    parse_stockholm,
    query_of_msa_file,
    read_msa,
    stockholm_to_a3m,
    truncate_stockholm,
)
from tests.data import af2_rules


def shared_msa_files(shared_data, pattern):
    files = sorted((shared_data / "msas").glob(pattern))
    assert files, f"no MSA matches {pattern} under {shared_data / 'msas'}"
    return files


def assert_matches_rules(msa, expected):
    rows, deletions, descriptions = expected
    assert msa.sequences == rows
    assert msa.descriptions == descriptions
    assert msa.deletion_matrix.dtype == np.int32
    np.testing.assert_array_equal(msa.deletion_matrix, np.array(deletions, dtype=np.int32))


def test_every_openfold_and_colabfold_a3m_follows_the_rules(shared_data):
    files = shared_msa_files(shared_data, "openfold/*/*.a3m") + shared_msa_files(shared_data, "colabfold/*.a3m")
    for path in files:
        text = path.read_text()
        assert_matches_rules(read_msa(path), af2_rules.a3m_rows(text))


def test_every_openfold_stockholm_follows_the_rules(shared_data):
    # The jackhmmer MSAs AlphaFold2 reads as MSAs (hmm_output.sto is hmmsearch's template hit list, which
    # AlphaFold2-Multimer parses differently and which writes '.' gaps in its first row).
    files = [path for path in shared_msa_files(shared_data, "openfold/*/*.sto") if path.name != "hmm_output.sto"]
    assert len(files) == 14
    for path in files:
        assert_matches_rules(read_msa(path), af2_rules.stockholm_rows(path.read_text()))


def test_stockholm_query_gaps_become_deletions_of_the_hits(shared_data):
    # 4zey_A's UniRef90 alignment has gaps in the query row: those columns leave the MSA, and a hit's residues
    # there are counted as deletions before the next query column.
    path = shared_data / "msas/openfold/4zey_A/uniref90_hits.sto"
    msa = read_msa(path)
    assert msa.query == "GMEGPLNLAHQQSRRADRLLAAGKYEEAISCHKKAAAYLSEAMKLTQSEQAHLSLELQRDSHMKQLLLIQERWKRAQREERLKA"
    assert msa.deletion_matrix[0].sum() == 0
    assert msa.deletion_matrix.sum() > 0
    assert all(len(row) == 84 for row in msa.sequences)
    assert msa.descriptions[1] == "UniRef90_A0A2K5JW76/4-86"


def test_a3m_insertions_written_by_hand():
    text = ">query desc\nACDE\n>hit1 tr|x\nAcdC-E\n>hit2\n-CD-ee\n"
    msa = parse_a3m(text)
    assert msa.sequences == ["ACDE", "AC-E", "-CD-"]
    np.testing.assert_array_equal(msa.deletion_matrix, [[0, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 0]])
    assert msa.descriptions == ["query desc", "hit1 tr|x", "hit2"]


def test_a3m_skips_comments_nul_bytes_dots_and_hhsuite_annotation_records():
    text = "# ColabFold 1\n; a comment\n>ss_pred\nCCHHE\n>query\nACD.E\n\x00>hit\nAC.cDE\n>Consensus\nxxxx\n"
    msa = parse_a3m(text)
    assert msa.sequences == ["ACDE", "ACDE"]
    np.testing.assert_array_equal(msa.deletion_matrix, [[0, 0, 0, 0], [0, 0, 1, 0]])


def test_a3m_row_of_the_wrong_width_is_an_error_naming_the_record():
    with pytest.raises(SnakefoldError, match=r"msa\.a3m:3: record 'short' has 3 aligned columns.*query has 4"):
        parse_a3m(">query\nACDE\n>short\nACD\n", "msa.a3m")


SMALL_STOCKHOLM = """# STOCKHOLM 1.0
#=GS hit1/1-5 DE first hit

query     AC--D
hit1/1-5  ACKKD
hit2      -C-kD
#=GC RF   xx..x

query     EF
hit1/1-5  E-
hit2      .F
#=GC RF   xx
//
"""


def test_stockholm_over_several_blocks_with_markup():
    msa = parse_stockholm(SMALL_STOCKHOLM)
    assert msa.sequences == ["ACDEF", "ACDE-", "-CD-F"]
    np.testing.assert_array_equal(msa.deletion_matrix, [[0] * 5, [0, 0, 2, 0, 0], [0, 0, 1, 0, 0]])
    assert msa.descriptions == ["query", "hit1/1-5", "hit2"]


def test_stockholm_line_with_three_fields_is_an_error():
    with pytest.raises(SnakefoldError, match="sto:2: .*found 3 fields"):
        parse_stockholm("# STOCKHOLM 1.0\nquery AC DE\n//\n", "sto")


CUT_SHORT = "ends without the closing '//' line of a Stockholm alignment: the file was cut short; copy or make it again"


def every_stockholm_reader(path):
    """Each reader of a Stockholm file, called on ``path``; truncate_stockholm's output is checked empty."""
    def truncated():
        out = io.StringIO()
        try:
            truncate_stockholm(path, out, 2)
        except SnakefoldError:
            assert out.getvalue() == "", "truncate_stockholm wrote part of a file it refuses"
            raise

    text = path.read_text()
    return [lambda: parse_stockholm(text, str(path)), lambda: read_msa(path), lambda: query_of_msa_file(path),
            lambda: stockholm_to_a3m(text, source=str(path)), truncated]


def test_a_stockholm_file_cut_short_is_refused_by_every_reader(tmp_path):
    path = tmp_path / "uniref90_hits.sto"
    path.write_text(SMALL_STOCKHOLM)
    for read in every_stockholm_reader(path):
        read()
    lines = SMALL_STOCKHOLM.splitlines(keepends=True)
    first_row = next(index for index, line in enumerate(lines) if line.startswith("query"))
    # every cut at a line boundary after the first row, one inside a markup line, one before trailing blank lines
    cuts = ["".join(lines[:end]) for end in range(first_row + 1, len(lines))] + [
        SMALL_STOCKHOLM[:-8], SMALL_STOCKHOLM[:-3] + "\n\n"]
    for text in cuts:
        path.write_text(text)
        for read in every_stockholm_reader(path):
            with pytest.raises(SnakefoldError, match=f"^{re.escape(str(path))}: {re.escape(CUT_SHORT)}$"):
                read()
    path.write_text(SMALL_STOCKHOLM[:-2])  # inside '//': a line '/', which some readers see as a row of one field
    for read in every_stockholm_reader(path):
        with pytest.raises(SnakefoldError, match=f"^{re.escape(str(path))}:"):
            read()


def test_a_real_stockholm_file_cut_short_is_refused(shared_data, tmp_path):
    lines = (shared_data / "msas/openfold/2crb_A/uniref90_hits.sto").read_text().splitlines(keepends=True)
    rows = [index for index, line in enumerate(lines) if line.strip() and not line.startswith(("#", "//"))]
    path = tmp_path / "uniref90_hits.sto"
    path.write_text("".join(lines[:rows[len(rows) // 2]]))  # cut at a line boundary half way through the rows
    for read in every_stockholm_reader(path):
        with pytest.raises(SnakefoldError, match=re.escape(CUT_SHORT)):
            read()


def test_an_a3m_cut_after_a_header_is_an_error_of_its_width():
    with pytest.raises(SnakefoldError, match=r"msa\.a3m:5: record 'cut' has 0 aligned columns.*query has 4"):
        parse_a3m(">query\nACDE\n>hit\nAC-E\n>cut\n", "msa.a3m")


def test_truncation_keeps_the_first_rows_and_their_markup(shared_data):
    path = shared_data / "msas/openfold/2crb_A/uniref90_hits.sto"
    out = io.StringIO()
    kept = truncate_stockholm(path, out, 10)
    assert kept == 10
    truncated = parse_stockholm(out.getvalue())
    full = read_msa(path)
    assert truncated.sequences == full.sequences[:10]
    assert truncated.descriptions == full.descriptions[:10]
    gs_names = [line.split()[1] for line in out.getvalue().splitlines() if line.startswith("#=GS")]
    assert gs_names and set(gs_names) <= set(full.descriptions[:10])
    everything = io.StringIO()
    assert truncate_stockholm(path, everything, None) == len(full)


def test_query_of_msa_file_reads_the_first_row_without_gaps(shared_data, tmp_path):
    sto = shared_data / "msas/openfold/3u8v_A/uniref90_hits.sto"
    assert query_of_msa_file(sto).startswith("SGHTAHVDEAVKHAEEAVAHGKEG")
    assert query_of_msa_file(shared_data / "msas/colabfold/4OT_PIAQIHILEG_complex_monomer.a3m") == (
        "PIAQIHILEGRSDEQKETLIREVSEAISRSLDAPLTSVRVIITEMAKGHFGIGGELASK")
    with pytest.raises(SnakefoldError, match="name it .a3m or .sto"):
        query_of_msa_file(tmp_path / "msa.txt")


def test_stockholm_to_a3m_as_for_the_template_search(shared_data):
    path = shared_data / "msas/openfold/4zey_A/uniref90_hits.sto"
    text = path.read_text()
    a3m = stockholm_to_a3m(text)
    converted = parse_a3m(a3m)
    original = parse_stockholm(text)
    # Same aligned rows and deletions, minus exact repeats; descriptions carry the #=GS DE text.
    expected_rows = list(dict.fromkeys(original.sequences))
    assert converted.sequences == expected_rows
    first_hit = converted.descriptions[1]
    assert first_hit.startswith("UniRef90_A0A2K5JW76/4-86 [subseq from] Nuclear receptor-binding factor 2")
    kept = [original.sequences.index(row) for row in expected_rows]
    np.testing.assert_array_equal(converted.deletion_matrix, original.deletion_matrix[kept])
