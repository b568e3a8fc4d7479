"""Every intake validation rule, on FASTA files the tests write: the message names file, line and reason."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from snakefold.common.batch_checks import load_batch
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import read_query_fasta, sequence_key, target_name
from snakefold.plan.layout import BATCH_FILES

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
GB1 = "MTYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def batch_of(*paths: Path, min_length: int = 10, max_length: int = 2500, nonstandard: str = "map"):
    return load_batch([str(path) for path in paths], min_length, max_length, nonstandard)


def only_error(batch) -> str:
    assert len(batch.errors) == 1, [str(error) for error in batch.errors]
    return str(batch.errors[0])


def test_valid_multi_record_file(tmp_path):
    fasta = write(tmp_path / "batch.fasta", f">ubq Ubiquitin\n{UBIQUITIN[:40]}\n{UBIQUITIN[40:]}\n>gb1\n{GB1}\n")
    batch = batch_of(fasta)
    assert batch.errors == [] and batch.warnings == []
    assert [(t.name, t.sequence, t.line, t.description) for t in batch.targets] == [
        ("ubq", UBIQUITIN, 1, "Ubiquitin"), ("gb1", GB1, 4, "")]


def test_empty_file(tmp_path):
    fasta = write(tmp_path / "empty.fasta", "\n  \n")
    assert only_error(batch_of(fasta)) == f"{fasta}: the file is empty"


def test_binary_file(tmp_path):
    fasta = write(tmp_path / "blob.fasta", bytes(range(256)) * 4)
    assert only_error(batch_of(fasta)) == f"{fasta}: binary data, not a FASTA file"


def test_not_utf8_text(tmp_path):
    fasta = write(tmp_path / "latin1.fasta", b">ok\nACDEFGHIKL\n>caf\xe9\nACDEFGHIKL\n")
    message = only_error(batch_of(fasta))
    assert message.startswith(f"{fasta}:3:") and "not UTF-8" in message


def test_pdb_file_is_not_fasta(tmp_path):
    pdb = write(tmp_path / "model.fasta", "HEADER    PROTEIN\nATOM      1  N   MET A   1      11.1  22.2  33.3\n")
    assert only_error(batch_of(pdb)) == f"{pdb}:1: this is a PDB file, not FASTA"


def test_plain_text_is_not_fasta(tmp_path):
    text = write(tmp_path / "notes.fasta", "\nmy favourite protein is ubiquitin\n")
    message = only_error(batch_of(text))
    assert message.startswith(f"{text}:2: not FASTA") and "'>'" in message


def test_text_before_first_header(tmp_path):
    fasta = write(tmp_path / "prefix.fasta", f"ACDE\n>ubq\n{UBIQUITIN}\n")
    assert only_error(batch_of(fasta)).startswith(f"{fasta}:1: not FASTA")


def test_record_without_sequence(tmp_path):
    fasta = write(tmp_path / "a.fasta", f">first\n{GB1}\n>nothing here\n\n>last\n{UBIQUITIN}\n")
    batch = batch_of(fasta)
    assert only_error(batch) == f"{fasta}:3: record 'nothing': the record has no sequence"
    assert [t.name for t in batch.targets] == ["first", "last"]


def test_header_without_id(tmp_path):
    fasta = write(tmp_path / "a.fasta", f">\n{GB1}\n")
    assert only_error(batch_of(fasta)).startswith(f"{fasta}:1: the header has no ID")


@pytest.mark.parametrize("bad, where, reason", [
    ("ACDEF1GHIKL", (2, 6), "'1' is a digit"),
    ("ACDEF*GHIKL", (2, 6), "'*' (a stop) inside the sequence"),
    ("ACDEF-GHIKL", (2, 6), "'-' is an alignment gap"),
    ("ACDEF.GHIKL", (2, 6), "'.' is an alignment gap"),
    ("ACDEF#GHIKL", (2, 6), "'#' is not an amino-acid letter"),
    ("ACDEFGHIKL\nMNPQé", (3, 5), "'é' is not an amino-acid letter"),
])
def test_characters_that_are_not_amino_acids(tmp_path, bad, where, reason):
    fasta = write(tmp_path / "bad.fasta", f">rec\n{bad}\n")
    message = only_error(batch_of(fasta, min_length=1))
    line, column = where
    assert message.startswith(f"{fasta}:{line}: record 'rec': column {column}: {reason}")


def test_whitespace_stripped_lowercase_upper_cased_trailing_stop_dropped(tmp_path):
    fasta = write(tmp_path / "a.fasta", ">rec\n acdef ghik\tl \nmnpqr*\n\n")
    batch = batch_of(fasta)
    assert batch.errors == []
    assert batch.targets[0].sequence == "ACDEFGHIKLMNPQR"


def test_x_allowed(tmp_path):
    fasta = write(tmp_path / "a.fasta", ">rec\nACDEXXXXGHIK\n")
    assert batch_of(fasta).targets[0].sequence == "ACDEXXXXGHIK"


ONLY_X = ("holds only unknown residues (X, or codes read as X): AlphaFold2 places no atoms for X, so there is no "
          "structure to predict")


@pytest.mark.parametrize("body, policy, reason", [
    ("X" * 20, "map", f"the sequence {ONLY_X}; give the protein's sequence"),
    ("xxxxx\nxxxxx\nxxxxx*", "map", f"the sequence {ONLY_X}; give the protein's sequence"),
    ("BZJ" * 5, "map", f"the sequence {ONLY_X}; give the protein's sequence"),  # ambiguity codes are read as X
    ("UOBZJ" * 3, "unknown", f"the sequence {ONLY_X}; give the protein's sequence"),
    (f"MLSDEDFKAVFGMTRSAFANLPLWKQQNLKKEKGLF:{'X' * 20}", "map", f"chain B {ONLY_X}; give the chain's sequence"),
    (f"{'X' * 12}:{GB1}:{'X' * 12}", "map", f"chain A {ONLY_X}; give the chain's sequence"),
])
def test_a_chain_of_unknown_residues_alone_is_rejected(tmp_path, body, policy, reason):
    fasta = write(tmp_path / "x.fasta", f">gb1\n{GB1}\n>xchain\n{body}\n")
    batch = batch_of(fasta, nonstandard=policy)
    assert only_error(batch) == f"{fasta}:3: record 'xchain': {reason}"
    assert [target.name for target in batch.targets] == ["gb1"] and batch.complexes == []


def test_a_chain_partly_unknown_is_accepted(tmp_path):
    fasta = write(tmp_path / "x.fasta", f">cx\n{GB1}:XXXXXXXXXXXXXXXXXXXG\n>single\nXXXXXXXXXXXXM\n")
    batch = batch_of(fasta)
    assert batch.errors == [] and [t.name for t in batch.targets + batch.complexes] == ["single", "cx"]


@pytest.mark.parametrize("policy, expected", [("map", "AXXXCKCD"), ("unknown", "AXXXXXCD")])
def test_nonstandard_residue_policy(tmp_path, policy, expected):
    fasta = write(tmp_path / "a.fasta", ">rec\nABZJUOCD\n")
    batch = batch_of(fasta, min_length=1, nonstandard=policy)
    assert batch.errors == []
    assert batch.targets[0].sequence == expected


def test_nonstandard_residue_reject(tmp_path):
    fasta = write(tmp_path / "a.fasta", ">rec\nACDUEF\n")
    message = only_error(batch_of(fasta, min_length=1, nonstandard="reject"))
    assert message.startswith(f"{fasta}:2: record 'rec': column 4: 'U' is a non-standard residue code")
    assert "nonstandard_residues" in message


def test_length_limits(tmp_path):
    fasta = write(tmp_path / "a.fasta", f">short\nACDEF\n>long\n{UBIQUITIN}\n>fine\n{GB1}\n")
    batch = batch_of(fasta, min_length=10, max_length=60)
    messages = sorted(str(error) for error in batch.errors)
    assert messages == [
        f"{fasta}:1: record 'short': the sequence has 5 residues, fewer than min_length (10)",
        f"{fasta}:3: record 'long': the sequence has 76 residues, more than max_length (60)",
    ]
    assert [t.name for t in batch.targets] == ["fine"]


def test_duplicate_ids_across_files(tmp_path):
    first = write(tmp_path / "one.fasta", f">ubq\n{UBIQUITIN}\n")
    second = write(tmp_path / "two.fasta", f">gb1\n{GB1}\n>ubq\n{GB1}\n")
    message = only_error(batch_of(first, second))
    assert message == f"{second}:3: record 'ubq': duplicate record ID; it is also at {first}:1"


def test_ids_that_become_the_same_name(tmp_path):
    fasta = write(tmp_path / "a.fasta", f">a|b\n{GB1}\n>a_b\n{UBIQUITIN}\n>A$B\n{GB1}\n")
    batch = batch_of(fasta)
    messages = [str(error) for error in batch.errors]
    assert len(messages) == 2
    assert messages[0].startswith(f"{fasta}:3: record 'a_b': the IDs 'a|b' ({fasta}:1) and 'a_b' both become "
                                  "the target name 'a_b'")
    assert messages[1].startswith(f"{fasta}:5: record 'A$B': the IDs 'a|b'")  # case-insensitive collision


@pytest.mark.parametrize("record_id, name, reason", [
    ("../../etc/passwd", "etc_passwd", "contains a path"),
    ("dir/seq", "dir_seq", "contains a path"),
    ("sp|P69905|HBA_HUMAN", "sp_P69905_HBA_HUMAN", "shell metacharacters"),
    ("$(rm${IFS}-rf)", "rm_IFS_-rf", "shell metacharacters"),
    ("x;y&z`w`", "x_y_z_w", "shell metacharacters"),
    ("protéine", "proteine", "non-ASCII"),
    ("蛋白", None, None),
    ("...", None, None),
])
def test_unsafe_ids(tmp_path, record_id, name, reason):
    fasta = write(tmp_path / "a.fasta", f">{record_id} some description\n{GB1}\n")
    batch = batch_of(fasta)
    if name is None:
        assert only_error(batch).startswith(f"{fasta}:1: record '{record_id}': the ID has no letter or digit")
        assert batch.targets == []
    else:
        assert batch.errors == []
        assert [t.name for t in batch.targets] == [name]
        assert len(batch.warnings) == 1
        warning = str(batch.warnings[0])
        assert warning.startswith(f"{fasta}:1: record '{record_id}':") and reason in warning
        assert f"the target is named '{name}'" in warning


def test_id_is_first_word_of_header(tmp_path):
    fasta = write(tmp_path / "a.fasta", f">my protein from a lab\n{GB1}\n")
    target = batch_of(fasta).targets[0]
    assert (target.name, target.description) == ("my", "protein from a lab")


def test_long_ids_stay_unique_and_stable(tmp_path):
    long_a, long_b = "A" * 70 + "1", "A" * 70 + "2"
    assert target_name(long_a) != target_name(long_b)
    assert target_name(long_a) == target_name(long_a) and len(target_name(long_a)) <= 64


@pytest.mark.parametrize("name", [*BATCH_FILES, "Summary.HTML"])
def test_the_batch_files_are_reserved(tmp_path, name):
    """Every file the batch writes beside the target directories (the layout's own list), in any case."""
    fasta = write(tmp_path / "a.fasta", f">{name} a description\n{GB1}\n")
    batch = load_batch([str(fasta)], 10, 2500, reserved_names=BATCH_FILES)
    assert len(batch.errors) == 1 and "reserved" in str(batch.errors[0]) and f"'{name}'" in str(batch.errors[0])


def test_crlf_and_bom(tmp_path):
    fasta = write(tmp_path / "win.fasta", b"\xef\xbb\xbf>ubq\r\n" + UBIQUITIN.encode() + b"\r\n>gb1\r\n"
                  + GB1.encode() + b"\r\n")
    batch = batch_of(fasta)
    assert batch.errors == []
    assert [(t.name, t.sequence) for t in batch.targets] == [("ubq", UBIQUITIN), ("gb1", GB1)]


def test_gzip_input(tmp_path):
    fasta = write(tmp_path / "seqs.fasta.gz", gzip.compress(f">ubq\n{UBIQUITIN}\n".encode()))
    assert [t.sequence for t in batch_of(fasta).targets] == [UBIQUITIN]


def test_truncated_gzip(tmp_path):
    fasta = write(tmp_path / "seqs.fasta.gz", gzip.compress(f">ubq\n{UBIQUITIN}\n".encode())[:20])
    assert "complete gzip" in only_error(batch_of(fasta))


def test_directories_and_globs(tmp_path):
    write(tmp_path / "dir" / "a.fa", f">a\n{GB1}\n")
    write(tmp_path / "dir" / "b.fasta.gz", gzip.compress(f">b\n{UBIQUITIN}\n".encode()))
    write(tmp_path / "dir" / "notes.txt", "not a fasta")
    write(tmp_path / "more" / "c.faa", f">c\n{GB1}K\n")
    batch = load_batch([str(tmp_path / "dir"), str(tmp_path / "more" / "*.faa"), str(tmp_path / "dir" / "a.fa")],
                       10, 2500)
    assert batch.errors == []
    assert [t.name for t in batch.targets] == ["a", "b", "c"]  # a.fa listed twice is read once


def test_missing_inputs(tmp_path):
    (tmp_path / "empty_dir").mkdir()
    batch = load_batch([str(tmp_path / "nope.fasta"), str(tmp_path / "*.fa"), str(tmp_path / "empty_dir")], 1, 10)
    messages = [str(error) for error in batch.errors]
    assert messages == [
        f"config inputs[0]: '{tmp_path / 'nope.fasta'}' does not exist",
        f"config inputs[1]: the pattern '{tmp_path / '*.fa'}' matches no file",
        (f"config inputs[2]: the directory '{tmp_path / 'empty_dir'}' holds no FASTA file (names ending in "
        ".fasta, .fa, .faa, .fas, .fsa, .seq, optionally .gz)"),
    ]


def test_all_problems_reported_at_once(tmp_path):
    fasta = write(tmp_path / "a.fasta", f">ok\n{GB1}\n>bad1\nAC1DEFGHIKLM\n>bad2\n\n>ok\n{GB1}\n")
    empty = write(tmp_path / "b.fasta", "")
    batch = batch_of(fasta, empty)
    assert [(error.path, error.line, error.record_id) for error in batch.errors] == [
        (str(fasta), 4, "bad1"), (str(fasta), 5, "bad2"), (str(fasta), 7, "ok"), (str(empty), None, None)]


def test_identical_sequences_share_a_key(tmp_path):
    fasta = write(tmp_path / "a.fasta", f">one\n{GB1}\n>two\n{GB1.lower()}\n>three\n{UBIQUITIN}\n")
    batch = batch_of(fasta)
    assert [t.seq_key for t in batch.targets] == [sequence_key(GB1), sequence_key(GB1), sequence_key(UBIQUITIN)]
    assert batch.sequences == {sequence_key(GB1): GB1, sequence_key(UBIQUITIN): UBIQUITIN}


def test_a_query_fasta_holds_one_record_of_letters(tmp_path):
    query = tmp_path / "query.fasta"
    query.write_text(">0123abcd\nmkta\nYIAK\n")
    assert read_query_fasta(query) == "MKTAYIAK"
    query.write_text(">a\nMKT\n>b\nMKT\n")
    with pytest.raises(SnakefoldError, match="exactly one record, found 2"):
        read_query_fasta(query)
    query.write_text(">a\nMK-T\n")
    with pytest.raises(SnakefoldError, match="other than letters"):
        read_query_fasta(query)


# ---------------------------------------------------------------------------------------------- complexes
def test_colon_separated_record_is_a_complex_with_chain_ids_in_order(tmp_path):
    fasta = write(tmp_path / "hb.fasta", f">hb hemoglobin\n{UBIQUITIN[:40]}\n{UBIQUITIN[40:]}:\n{GB1}\n>ubq\n{UBIQUITIN}\n")
    batch = batch_of(fasta)
    assert batch.errors == [] and [t.name for t in batch.targets] == ["ubq"]
    [complex_target] = batch.complexes
    assert complex_target.is_complex and complex_target.length == len(UBIQUITIN) + len(GB1)
    assert [(c.chain_id, c.record_id, c.sequence) for c in complex_target.chains] == [
        ("A", "hb", UBIQUITIN), ("B", "hb", GB1)]
    assert complex_target.seq_key == sequence_key(f"{UBIQUITIN}:{GB1}")
    # ubiquitin is searched once: the single-chain target and chain A share its key
    assert batch.chain_sequences == {sequence_key(UBIQUITIN): UBIQUITIN, sequence_key(GB1): GB1}
    assert batch.paired_chain_keys == [sequence_key(UBIQUITIN), sequence_key(GB1)]


def test_a_homomer_of_one_chain_is_a_complex_that_is_not_paired(tmp_path):
    batch = batch_of(write(tmp_path / "dimer.fasta", f">dimer\n{GB1}:{GB1}\n"))
    [dimer] = batch.complexes
    assert [chain.chain_id for chain in dimer.chains] == ["A", "B"] and batch.paired_chain_keys == []


@pytest.mark.parametrize("body, line, column, reason", [
    (f"{GB1}::{GB1}", 2, len(GB1) + 2, "'::' leaves chain 2 empty"),
    (f":{GB1}", 2, 1, "the sequence starts with ':', an empty first chain"),
    (f"{GB1}\n:", 3, 1, "the sequence ends with ':', an empty last chain"),
])
def test_empty_chains_are_errors_at_their_colon(tmp_path, body, line, column, reason):
    fasta = write(tmp_path / "bad.fasta", f">cx\n{body}\n")
    message = only_error(batch_of(fasta))
    assert message.startswith(f"{fasta}:{line}: record 'cx': column {column}: {reason}"), message


def test_chain_limits_min_length_per_chain_max_length_in_total(tmp_path):
    fasta = write(tmp_path / "cx.fasta", f">short\n{GB1}:MKV\n>long\n{GB1}:{GB1}\n>ok\n{GB1}:{UBIQUITIN[:10]}\n")
    batch = batch_of(fasta, min_length=10, max_length=len(GB1) + 10)
    assert [target.name for target in batch.complexes] == ["ok"]
    assert [str(error) for error in batch.errors] == [
        f"{fasta}:1: record 'short': chain B has 3 residues, fewer than min_length (10, which applies to each chain)",
        (f"{fasta}:3: record 'long': the complex has {2 * len(GB1)} residues in its 2 chains, more than max_length "
        f"({len(GB1) + 10}, which applies to the complex's total length)")]


def test_at_most_62_chains(tmp_path):
    fasta = write(tmp_path / "big.fasta", f">big\n{':'.join([GB1] * 63)}\n>fits\n{':'.join([GB1] * 62)}\n")
    batch = batch_of(fasta, max_length=100_000)
    assert only_error(batch) == (f"{fasta}:1: record 'big': the complex has 63 chains; AlphaFold2 names at most 62 "
                                 "(one per PDB chain ID)")
    assert [chain.chain_id for chain in batch.complexes[0].chains][-3:] == ["7", "8", "9"]


def test_complex_names_collide_with_other_targets_without_case(tmp_path):
    fasta = write(tmp_path / "cx.fasta", f">GB1\n{GB1}\n>gb1\n{GB1}:{GB1}\n>summary.TSV\n{GB1}:{UBIQUITIN}\n")
    batch = load_batch([str(fasta)], 10, 2500, reserved_names=BATCH_FILES)
    assert [str(error) for error in batch.errors] == [
        (f"{fasta}:3: record 'gb1': the IDs 'GB1' ({fasta}:1) and 'gb1' both become the target name 'gb1'; "
        "rename one of them"),
        (f"{fasta}:5: record 'summary.TSV': the target name 'summary.TSV' is reserved: it is one of the batch's own "
        f"files ({', '.join(sorted(BATCH_FILES))}); rename the record")]


def test_the_intake_command_lists_complexes_after_single_chains(tmp_path):
    """`snakefold intake` on a batch with a ':' record: the complex is listed (its total length) after the
    single chain, and targets.tsv carries its chains' sequence keys."""
    fasta = tmp_path / "batch.fasta"
    fasta.write_text(">hb two chains\nMKTAYIAKQRQISFVKSHFSRQ:GSHMLEDPVAAKLEEAVKRL\n>x\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    command = [str(Path(sys.executable).parent / "snakefold"), "intake", str(fasta), "--min-length", "5"]
    listed = subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["x", "33"], ["hb", "42"]]
    subprocess.run([*command, "--targets", str(tmp_path / "targets.tsv")], check=True)
    header, _, complex_row = (tmp_path / "targets.tsv").read_text().splitlines()
    assert header.split("\t")[-1] == "chains" and len(complex_row.split("\t")[-1].split(",")) == 2
