"""Planning the searches of complexes: each distinct chain once, keyed by content across targets and batches,
and the UniProt pairing search only for the chains of heteromeric complexes."""

from __future__ import annotations

from snakefold.common.fasta import sequence_key
from snakefold.plan.config import validate_config
from snakefold.plan.downloads import download_plan
from snakefold.plan.msa import msa_plan
from snakefold.plan.run import plan_run

CHAINS = {
    "A": "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG",
    "B": "MTYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE",
    "C": "VLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHFDLSHGSAQVKGHGKKVADALTNAVAHVDDMPNALSALSDLHAHKL",
    "D": "VHLTPEEKSAVTALWGKVNVDEVGGEALGRLLVVYPWTQRFFESFGDLSTPDAVMGNPKVKAHGKKVLGAFSDGLAHLDNLKGTFATLSE",
    "E": "KVFGRCELAAAMKRHGLDNYRGYSLGNWVCAAKFESNFNTQATNRNTDGSTDYGILQINSRWWCNDGRTPGSRNLCNIPCSALLSSDITASVNCAKKIV",
}


def write_databases(tmp_path):
    (tmp_path / "tiny.fasta").write_text(">decoy\nMKVLAAGIVGLLLAAG\n")
    (tmp_path / "uniprot.fasta").write_text(">sp|P00001|TEST_HUMAN a test entry\nMKVLAAGIVGLLLAAG\n")


def config(tmp_path, fasta_name: str, complexes: dict[str, str], singles=("A",), **changes) -> dict:
    records = {name: CHAINS[name] for name in singles}
    records.update({name: ":".join(CHAINS[chain] for chain in chains) for name, chains in complexes.items()})
    (tmp_path / fasta_name).write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records.items()))
    return {"inputs": [str(tmp_path / fasta_name)], "templates": {"enabled": False},
            "results_dir": str(tmp_path / "results"), "cache_dir": str(tmp_path / "cache"),
            "databases": {"preset": "custom", "uniprot": str(tmp_path / "uniprot.fasta"),
                          "custom": [{"name": "tiny", "tool": "jackhmmer", "databases": [str(tmp_path / "tiny.fasta")]}]},
            **changes}


def searches(plan) -> dict[str, set[str]]:
    """search name -> the sequence keys it searches, from the planned jobs."""
    found: dict[str, set[str]] = {}
    for entries in plan.searches.entries.values():
        for entry in entries:
            found.setdefault(entry.name, set()).add(plan.searches.jobs[entry.key].seq)
    for entry in plan.searches.pairing.values():
        found.setdefault(entry.name, set()).add(plan.searches.jobs[entry.key].seq)
    return found


def test_three_complexes_sharing_chains_search_each_distinct_chain_once(tmp_path):
    write_databases(tmp_path)
    first = plan_run(config(tmp_path, "first.fasta", {"X": "AB", "Y": "BC", "Z": "DD"}), main_process=False)
    assert first.problems == []
    key = {name: sequence_key(sequence) for name, sequence in CHAINS.items()}
    # every distinct chain (A is also a single-chain target) gets the MSA searches once; only the chains of
    # heteromers (not D, a homomer's) the pairing search
    assert searches(first) == {"tiny": {key["A"], key["B"], key["C"], key["D"]}, "uniprot": {key["A"], key["B"],
                                                                                               key["C"]}}
    assert len(first.searches.jobs) == 7 and len(first.searches.all_msas()) == 7
    assert first.searches.entries[key["A"]] == first.searches.entries[first.targets["A"].seq_key]
    pairing = first.searches.msa.pairing
    assert (pairing.tool, pairing.max_hits, pairing.settings.options["flags"]["E"]) == ("jackhmmer", 50000, 0.0001)
    assert first.all_features() == [first.features.features(key["A"])] + [  # and each complex's merged features once
        first.layout.complex_features_entry(first.features.complex_keys[name], suffix)
        for name in ("X", "Y", "Z") for suffix in ("npz", "summary.json")]

    # A second batch sharing chain C: only E is new, so only E's two searches are new jobs.
    second = plan_run(config(tmp_path, "second.fasta", {"W": "CE"}, singles=()), main_process=False)
    assert second.problems == []
    new = set(second.searches.jobs) - set(first.searches.jobs)
    assert {second.searches.jobs[job].seq for job in new} == {key["E"]} and len(new) == 2


def test_a_batch_without_heteromers_needs_no_uniprot(tmp_path):
    write_databases(tmp_path)
    (tmp_path / "uniprot.fasta").unlink()
    plan = plan_run(config(tmp_path, "homomers.fasta", {"Z": "DD"}), main_process=False)
    assert plan.problems == [] and plan.searches.pairing == {} and plan.searches.msa.pairing is None
    plan = plan_run(config(tmp_path, "hetero.fasta", {"X": "AB"}), main_process=False)
    assert any("config key 'databases.uniprot' (search 'uniprot', jackhmmer)" in problem for problem in plan.problems)


def test_the_pairing_search_follows_the_msa_mode(tmp_path):
    def pairing(**sections):
        search = msa_plan(validate_config({"inputs": ["x.fasta"], **sections}), pairing=True).pairing
        return search and (search.name, search.tool, [database.name for database in search.databases])

    assert pairing() == ("uniprot", "jackhmmer", ["uniprot"])
    assert pairing(msa={"mode": "hhblits"}) == ("uniprot", "jackhmmer", ["uniprot"])
    assert pairing(databases={"preset": "colabfold"}) == ("uniprot_mmseqs", "mmseqs2", ["uniprot_mmseqs"])
    mmseqs = msa_plan(validate_config({"inputs": ["x.fasta"], "msa": {"mode": "mmseqs2"},
                                       "databases": {"preset": "colabfold"}}), pairing=True).pairing
    assert mmseqs.settings.options["msa_flags"] == {}  # no hit filtered away before pairing
    assert mmseqs.settings.options["search_flags"]["num-iterations"] == 3
    assert pairing(msa={"mode": "single_sequence"}) is None
    custom = {"preset": "custom", "custom": [{"name": "uniprot", "tool": "jackhmmer", "databases": ["u.fasta"]}]}
    problems = msa_plan(validate_config({"inputs": ["x.fasta"], "databases": custom}), pairing=True).problems
    assert problems == [("config key 'databases.custom': the search name 'uniprot' is the UniProt search of complexes' "
                        "chains (pairing by species); give the custom search another name")]


def test_complexes_need_uniprot_and_pdb_seqres_downloaded(tmp_path):
    (tmp_path / "in.fasta").write_text(f">X\n{CHAINS['A']}:{CHAINS['B']}\n")
    (tmp_path / "mono.fasta").write_text(f">A\n{CHAINS['A']}\n")

    def needed(name: str) -> set[str]:
        planned, problems = download_plan(validate_config({"inputs": [str(tmp_path / name)],
                                                           "databases": {"dir": str(tmp_path / "db")}}))
        assert problems == []
        return {item.item.name for item in planned}

    assert needed("in.fasta") - needed("mono.fasta") == {"uniprot", "pdb_seqres"}
