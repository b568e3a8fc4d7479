"""Template hits of hmmsearch (AlphaFold-Multimer's template search) read and featurised as AlphaFold2 v2.3.2 does."""

from __future__ import annotations

import shutil

import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.msa.formats import stockholm_to_a3m
from snakefold.plan.config import schema_defaults
from snakefold.templates import pdb_seqres
from snakefold.templates.hmmsearch import HmmsearchHitFeaturizer, parse_hmmsearch_stockholm
from snakefold.templates.search import template_filters
from snakefold.tools import hmmer
from tests.complexes import cases

#: AlphaFold2's template filters (the config's defaults), with the cases' max_template_date.
FILTERS = template_filters({**schema_defaults("templates"), "max_template_date": cases.MAX_TEMPLATE_DATE})

HITS = """# STOCKHOLM 1.0

#=GS 1abc_A/3-9   DE [subseq from] mol:protein length:20  TEST PROTEIN
#=GS 1xyz_B/1-6   DE [subseq from] mol:na length:30  A NUCLEIC ACID
#=GS 2def_C/5-10  DE [subseq from] mol:protein length:40  OTHER PROTEIN

1abc_A/3-9         AC-Dgh.EF
1xyz_B/1-6         ACGU...UA
2def_C/5-10        AACD...EF
#=GC RF            xxxx...xx
//
"""


def test_hits_read_as_alphafold_reads_them():
    hits = parse_hmmsearch_stockholm(HITS, "MKDLEF", "pdb_hits.sto")
    assert [hit.name for hit in hits] == ["1abc_A", "2def_C"]  # the nucleic acid is skipped
    first = hits[0]
    # match columns A C - D E F; 'g', 'h' are inserted residues 5 and 6 (0-based from start 3 - 1 = 2)
    assert first.hit_sequence == "AC-DGHEF"
    assert first.indices_hit == (2, 3, -1, 4, 7, 8)
    assert first.indices_query == (0, 1, 2, 3, 4, 5)
    assert first.aligned_cols == 5 and first.sum_probs is None


def test_a_hit_not_named_as_pdb_seqres_names_it_is_an_error():
    bad = HITS.replace("2def_C/5-10 ", "2DEF-C/5-10 ").replace("2def_C/5-10", "2DEF-C/5-10")
    with pytest.raises(SnakefoldError, match=r"pdb_hits.sto: the hit '2DEF-C/5-10'"):
        parse_hmmsearch_stockholm(bad, "MKDLEF", "pdb_hits.sto")


def test_real_hmmsearch_hits_of_an_nrbf2_domain_give_the_homologue_as_template(shared_data, tmp_path):
    """hmmbuild and hmmsearch really run (AlphaFold-Multimer's flags) on a pdb_seqres of four real chains."""
    seqres = tmp_path / "pdb_seqres.txt"
    seqres.write_text(_seqres_of_shared_chains(shared_data))
    msa = shared_data / cases.OPENFOLD_MSAS / "4zey_A" / "uniref90_hits.sto"
    query = cases.stockholm_query(msa)
    log = tmp_path / "tools.log"
    hmmer.build(msa, tmp_path / "query.hmm", log=log, timeout=120)
    flags = {"F1": 0.1, "F2": 0.1, "F3": 0.1, "incE": 100, "E": 100, "domE": 100, "incdomE": 100}
    hmmer.search(tmp_path / "query.hmm", seqres, tmp_path / "pdb_hits.sto", flags=flags, threads=1, log=log,
                 timeout=120, database_name="pdb_seqres")

    hits = parse_hmmsearch_stockholm((tmp_path / "pdb_hits.sto").read_text(), query)
    assert {"4zey_A", "2crb_A"} <= {hit.name for hit in hits}
    assert all(len(hit.indices_hit) == len(query) for hit in hits)  # one index per HMM match column

    mmcif = tmp_path / "mmcif"
    mmcif.mkdir()
    for entry, file_name in cases.TEMPLATE_STRUCTURES.items():
        shutil.copyfile(shared_data / "structures" / file_name, mmcif / f"{entry}.cif")
    featurizer = HmmsearchHitFeaturizer(mmcif, FILTERS, {}, tmp_path / "kalign.log")
    features, outcomes = featurizer.featurize(query, hits)
    reasons = {outcome.name: outcome.reason for outcome in outcomes}
    assert "near-duplicate" in reasons["4zey_A"]  # the query's own structure
    assert features["template_domain_names"][0] == b"2crb_A"  # hmmsearch's best hit after the query itself
    assert b"4zey_A" not in features["template_domain_names"].tolist()
    template = features["template_sequence"][0].decode()
    aligned = [(q, t) for q, t in zip(query, template) if t != "-"]
    assert len(aligned) > 0.8 * len(query)  # the mouse domain covers the human one
    assert sum(q == t for q, t in aligned) > 0.8 * len(aligned)
    assert features["template_all_atom_masks"][0].sum(axis=-1)[[t != "-" for t in template]].min() >= 4


def test_no_usable_hit_gives_alphafolds_all_zero_template(tmp_path):
    featurizer = HmmsearchHitFeaturizer(tmp_path, FILTERS, {}, tmp_path / "kalign.log")
    features, _ = featurizer.featurize("MKDLEF", [])
    assert features["template_aatype"].shape == (1, 6, 22) and not features["template_aatype"].any()
    assert features["template_all_atom_positions"].shape == (1, 6, 37, 3)
    assert features["template_sequence"].tolist() == [b""]



QUERY_MSA = """# STOCKHOLM 1.0
#=GF ID test
#=GS q DE query
#=GS a/1-5 DE first
#=GS b/1-5 DE dup
#=GS c/2-4 DE other

q      MK-DL-EF
a/1-5  MKcDL-EF
b/1-5  MK-DL-EF
c/2-4  -KaE--E-
#=GR q PP 99999999
#=GC RF xx.xx.xx
//
"""


def test_the_query_msa_is_prepared_as_alphafold_prepares_its_uniref90_msa():
    # a and b repeat the query in its columns (a's insertion does not count): dropped; column 6 is then a gap in
    # every row: removed, from the RF line too; markup other than the header, #=GS and RF is dropped
    assert pdb_seqres.template_query_stockholm(QUERY_MSA).splitlines() == [
        "# STOCKHOLM 1.0", "#=GS q DE query", "#=GS c/2-4 DE other", "", "q      MK-DLEF", "c/2-4  -KaE-E-",
        "#=GC RF xx.xxxx", "//"]


def test_an_a3m_query_loses_its_insertions_and_marks_the_query_columns():
    assert pdb_seqres.stockholm_of_a3m(">q\nMKDL\n>h desc\nMaaK-Lc\n").splitlines() == [
        "# STOCKHOLM 1.0", "", "row0    MKDL", "row1    MK-L", "#=GC RF xxxx", "//"]


@pytest.mark.parametrize("query_format", ["sto", "a3m", "none"])
def test_real_pdb_seqres_search_from_each_kind_of_query_msa(query_format, shared_data, tmp_path):
    """hmmbuild and hmmsearch run as AlphaFold-Multimer runs them, from a Stockholm MSA, an a3m or the sequence
    alone (the match columns the query's residues in each); each finds the query's homologue, not itself."""
    seqres = tmp_path / "pdb_seqres.txt"
    seqres.write_text(_seqres_of_shared_chains(shared_data))
    source = shared_data / cases.OPENFOLD_MSAS / "4zey_A" / "uniref90_hits.sto"
    query = cases.stockholm_query(source)
    query_msa = {"sto": source, "none": None}.get(query_format)
    if query_format == "a3m":
        query_msa = tmp_path / "uniref90.a3m"
        query_msa.write_text(stockholm_to_a3m(source.read_text()))
    mmcif = tmp_path / "mmcif"
    mmcif.mkdir()
    for entry, file_name in cases.TEMPLATE_STRUCTURES.items():
        shutil.copyfile(shared_data / "structures" / file_name, mmcif / f"{entry}.cif")
    (tmp_path / "obsolete.dat").write_text(" LIST OF OBSOLETE COORDINATE ENTRIES AND SUCCESSORS\n")
    settings = pdb_seqres.PdbSeqresSettings(str(seqres), str(mmcif), str(tmp_path / "obsolete.dat"), FILTERS)
    log = tmp_path / "tools.log"
    result = pdb_seqres.search_pdb_seqres(query, settings, log, timeout_s=120, query_msa=query_msa)

    commands = [line.split()[2:] for line in log.read_text().splitlines() if line.startswith("$ ")]
    build, search = commands
    assert build[:2] == ["--hand", "--amino"]
    assert search[:3] == ["--noali", "--cpu", "1"]
    assert search[3:17] == cases.HMMSEARCH_FLAGS and search[17] == "-A"
    hits = parse_hmmsearch_stockholm(result.hits_sto, query)
    assert "2crb_A" in {hit.name for hit in hits}
    assert all(len(hit.indices_hit) == len(query) for hit in hits)  # one HMM match column per query residue
    assert result.features["template_domain_names"][0] == b"2crb_A"


def _seqres_of_shared_chains(shared_data) -> str:
    records, name = {}, None
    for line in (shared_data / "sequences.fasta").read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
        elif name in ("4ZEY_A", "2CRB_A", "3U8V_A", "1UBQ_A"):
            records[name] = records.get(name, "") + line.strip()
    return "".join(f">{key.lower()[:4]}_A mol:protein length:{len(value)}  CHAIN\n{value}\n"
                   for key, value in records.items())
