"""The search-tool wrappers, run for real on databases built by `snakefold build-db` from sequences written
in tests/data/conftest.py: hits, argument lists, and errors that name the tool, the database and the log."""

from __future__ import annotations

import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.msa.formats import read_msa
from snakefold.plan.config import schema_defaults
from snakefold.tools import hhblits, hmmer, jackhmmer, mmseqs
from snakefold.tools.base import flag_arguments
from tests.data.conftest import query_fasta

ALPHAFOLD_JACKHMMER = {"N": 1, "E": 0.0001, "incE": 0.0001, "F1": 0.0005, "F2": 0.00005, "F3": 0.0000005}
ALPHAFOLD_HHBLITS = {"n": 3, "e": 0.001, "maxseq": 1000000, "realign_max": 100000, "maxfilt": 100000,
                     "min_prefilter_hits": 1000}


def hit_names(msa):
    return [description.split()[0].split("/")[0] for description in msa.descriptions[1:]]


def test_alphafold2_flags_are_the_defaults_and_render_as_the_tools_expect():
    msa = schema_defaults("msa")
    assert msa["jackhmmer"]["flags"] == ALPHAFOLD_JACKHMMER
    assert msa["hhblits"]["flags"] == ALPHAFOLD_HHBLITS
    assert msa["max_hits"] == {"uniref90": 10000, "mgnify": 501, "uniprot": 50000, "uniprot_mmseqs": 50000}
    assert flag_arguments(ALPHAFOLD_JACKHMMER) == ["-N", "1", "-E", "0.0001", "--incE", "0.0001", "--F1", "0.0005",
                                                   "--F2", "5e-05", "--F3", "5e-07"]
    assert flag_arguments({"n": 3, "all": True, "p": None, "cov": False}, long_prefix="-") == ["-n", "3", "-all"]
    command = hhblits.command("q.fasta", ["bfd", "uniref30"], "out.a3m", ALPHAFOLD_HHBLITS, 4)
    assert command[:9] == ["hhblits", "-i", "q.fasta", "-cpu", "4", "-oa3m", "out.a3m", "-o", "/dev/null"]
    assert command[-4:] == ["-d", "bfd", "-d", "uniref30"]
    assert "-min_prefilter_hits" in command


def test_jackhmmer_finds_the_family_and_not_the_decoys(tiny_databases, tmp_path):
    family = tiny_databases.families["ubiquitin"]
    output = tmp_path / "hits.sto"
    jackhmmer.search(query_fasta(tmp_path, family.query), tiny_databases.fasta, output, flags=ALPHAFOLD_JACKHMMER,
                     threads=2, log=tmp_path / "log", timeout=120, database_name="tiny")
    msa = read_msa(output)
    assert msa.descriptions[0] == "query" and msa.query == family.query
    expected = {header.split()[0] for header in family.homologs}
    assert set(hit_names(msa)) == expected
    assert "jackhmmer" in (tmp_path / "log").read_text()


def test_hhblits_finds_the_family_with_its_uniprot_headers(tiny_databases, tmp_path):
    family = tiny_databases.families["protein_g"]
    output = tmp_path / "hits.a3m"
    hhblits.search(query_fasta(tmp_path, family.query), [tiny_databases.hhsuite], output, flags=ALPHAFOLD_HHBLITS,
                   threads=2, log=tmp_path / "log", timeout=300, database_name="tiny")
    msa = read_msa(output)
    assert msa.query == family.query
    names = set(hit_names(msa))
    family_names = {header.split()[0] for header in family.homologs}
    assert len(names & family_names) >= 6  # of 8 (60-95% identical): the distant ones may fall short of E 0.001
    assert not names & {decoy.split()[0] for decoy in tiny_databases.decoys}
    assert not any("ubiquitin" in description for description in msa.descriptions)


def test_mmseqs_search_to_a3m_finds_the_family(tiny_databases, tmp_path):
    family = tiny_databases.families["ubiquitin"]
    settings = schema_defaults("msa")["mmseqs2"]
    output = tmp_path / "hits.a3m"
    (tmp_path / "scratch").mkdir()
    mmseqs.search_to_a3m(query_fasta(tmp_path, family.query), tiny_databases.mmseqs, output, tmp_path / "scratch",
                         search_flags=settings["search_flags"], msa_flags=settings["msa_flags"], threads=2,
                         log=tmp_path / "log", timeout=300, database_name="tiny")
    msa = read_msa(output)
    assert msa.query == family.query
    accessions = {header.split("|")[1] for header in family.homologs}
    found = {description.split()[0] for description in msa.descriptions[1:]}
    assert accessions <= found  # MMseqs2 names a UniProt-style record by its accession
    # E-value 0.1 over three profile iterations (ColabFold's settings) may let a random decoy in, never the
    # other family.
    assert len(found - accessions) <= 2 and all(name.startswith("decoy") for name in found - accessions)


def test_a_missing_binary_names_the_tool_the_database_and_the_log(tiny_databases, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    log = tmp_path / "search.log"
    with pytest.raises(SnakefoldError) as error:
        jackhmmer.search(query_fasta(tmp_path, "MKV"), tiny_databases.fasta, tmp_path / "out.sto",
                         flags=ALPHAFOLD_JACKHMMER, threads=1, log=log, timeout=60, database_name="uniref90")
    message = str(error.value)
    assert "jackhmmer" in message and "uniref90" in message and str(log) in message
    assert "apt-get install hmmer" in message


def test_a_failing_tool_names_the_tool_the_database_and_shows_its_log(tmp_path):
    broken = tmp_path / "broken.fasta"
    broken.write_bytes(b"\x00\x01 this is not a sequence database")
    log = tmp_path / "search.log"
    with pytest.raises(SnakefoldError) as error:
        jackhmmer.search(query_fasta(tmp_path, "MKVLAAGIVGLLLAA"), broken, tmp_path / "out.sto",
                         flags=ALPHAFOLD_JACKHMMER, threads=1, log=log, timeout=60, database_name="mgnify")
    message = str(error.value)
    assert "jackhmmer failed" in message and "mgnify" in message and str(log) in message
    assert "Parse failed" in message or "Format" in message or "format" in message  # jackhmmer's own words


def test_hmmbuild_and_hmmsearch_on_the_hmmer_tutorial_globins(shared_data, tmp_path):
    msas = shared_data / "msas" / "hmmer"
    hmm = tmp_path / "globins4.hmm"
    hmmer.build(msas / "globins4.sto", hmm, log=tmp_path / "log", timeout=60, hand=False)
    assert hmm.read_text().startswith("HMMER3")
    output = tmp_path / "hits.sto"
    hmmer.search(hmm, msas / "globins45.fa", output, flags={"E": 0.001}, threads=1, log=tmp_path / "log",
                 timeout=60, database_name="globins45")
    names = {line.split()[1].split("/")[0] for line in output.read_text().splitlines() if line.startswith("#=GS")}
    assert len(names) >= 40  # HMMER's tutorial finds all 45 globins with this model
    assert hmmer.version().startswith("3.")
