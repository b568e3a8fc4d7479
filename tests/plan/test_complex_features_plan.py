"""Planning each complex's merged features: one content-keyed entry per complex, made of its chains' search
entries in chain order, shared across batches; AlphaFold2's msas/ directories as input, checked before any job."""

from __future__ import annotations

import json
import shutil

import pytest

from snakefold.common.fasta import sequence_key
from snakefold.plan.run import plan_run
from tests.complexes.test_parity import unpack_case
from tests.plan.test_chain_searches import CHAINS, config, write_databases


def test_each_complex_has_one_entry_keyed_by_its_chains_searches(tmp_path):
    write_databases(tmp_path)
    complexes = {"X": "AB", "Y": "BA", "Z": "AAB", "W": "AA"}
    plan = plan_run(config(tmp_path, "in.fasta", complexes), main_process=False)
    assert plan.problems == []
    keys = plan.features.complex_keys
    assert sorted(keys) == sorted(complexes) and len(set(keys.values())) == 4  # order and copies count
    z = json.loads(plan.features.complex_jobs[keys["Z"]].spec)
    assert [chain["chain_id"] for chain in z["chains"]] == ["A", "B", "C"]
    a, b = (sequence_key(CHAINS[name]) for name in "AB")
    # each chain reads its own search entries: the MSA and, in a heteromer, the UniProt search
    assert z["chains"][0]["msas"][0]["path"] == plan.searches.entries[a][0].path
    assert z["chains"][2]["uniprot"]["path"] == plan.searches.pairing[b].path
    assert set(plan.features.complex_jobs[keys["Z"]].inputs) == {
        plan.searches.entries[a][0].path, plan.searches.entries[b][0].path, plan.searches.pairing[a].path,
        plan.searches.pairing[b].path}
    w = json.loads(plan.features.complex_jobs[keys["W"]].spec)
    assert [chain["uniprot"] for chain in w["chains"]] == [None, None]  # a homomer is never paired
    assert plan.layout.complex_features_entry(keys["X"], "npz") in plan.all_features()

    # another batch with the same complex and cache: the same entry; another search option: another one
    (tmp_path / "second").mkdir()
    second = plan_run({**config(tmp_path, "second.fasta", {"X": "AB"}, singles=()),
                       "results_dir": str(tmp_path / "second")}, main_process=False)
    assert second.features.complex_keys["X"] == keys["X"]
    changed = plan_run(config(tmp_path, "in.fasta", complexes, msa={"max_hits": {"uniprot": 10}}),
                       main_process=False)
    assert changed.features.complex_keys["X"] != keys["X"] and changed.features.complex_keys["W"] == keys["W"]


def precomputed_config(tmp_path, msas_source=None) -> dict:
    """A batch of one complex 'tmpl' in msa.mode precomputed; its msas/ directory from ``msas_source``."""
    (tmp_path / "af2").mkdir(exist_ok=True)
    if msas_source is not None:
        shutil.copytree(msas_source, tmp_path / "af2" / "tmpl" / "msas")
    return {"inputs": [str(tmp_path / "in.fasta")], "templates": {"enabled": False},
            "results_dir": str(tmp_path / "results"), "cache_dir": str(tmp_path / "cache"),
            "msa": {"mode": "precomputed", "precomputed_dir": str(tmp_path / "af2")}}


@pytest.fixture
def heterodimer(tmp_path):
    fasta, msas = unpack_case("hetero_A24_B32", tmp_path / "case")
    chains = [line for line in fasta.read_text().splitlines() if line and not line.startswith(">")]
    (tmp_path / "in.fasta").write_text(f">tmpl\n{':'.join(chains)}\n")
    return chains, msas


def test_an_alphafold_msas_directory_is_keyed_by_its_files(heterodimer, tmp_path):
    _, msas = heterodimer
    plan = plan_run(precomputed_config(tmp_path, msas), main_process=False)
    assert plan.problems == []
    job = plan.features.complex_jobs[plan.features.complex_keys["tmpl"]]
    assert str(tmp_path / "af2" / "tmpl" / "msas" / "B" / "uniprot_hits.sto") in job.inputs
    before = plan.features.complex_keys["tmpl"]
    with open(tmp_path / "af2" / "tmpl" / "msas" / "A" / "mgnify_hits.sto", "a") as handle:
        handle.write("\n")
    assert plan_run(precomputed_config(tmp_path), main_process=False).features.complex_keys["tmpl"] != before


def test_problems_of_an_alphafold_msas_directory_stop_the_plan_naming_the_complex(heterodimer, tmp_path):
    _, msas = heterodimer
    plan = plan_run(precomputed_config(tmp_path), main_process=False)
    (problem,) = plan.problems
    assert f"complex 'tmpl' ({tmp_path / 'in.fasta'}, line 1)" in problem
    assert f"{tmp_path / 'af2' / 'tmpl' / 'msas'}: not a directory" in problem and "<complex>/msas/" in problem

    shutil.copytree(msas, tmp_path / "af2" / "tmpl" / "msas")
    (tmp_path / "af2" / "tmpl" / "msas" / "B" / "uniprot_hits.sto").unlink()
    (problem,) = plan_run(precomputed_config(tmp_path), main_process=False).problems
    assert f"{tmp_path / 'af2' / 'tmpl' / 'msas' / 'B' / 'uniprot_hits.sto'}: missing" in problem

    shutil.copyfile(tmp_path / "af2" / "tmpl" / "msas" / "A" / "uniprot_hits.sto",
                    tmp_path / "af2" / "tmpl" / "msas" / "B" / "uniprot_hits.sto")
    (problem,) = plan_run(precomputed_config(tmp_path), main_process=False).problems
    assert "B/uniprot_hits.sto: its first row is not chain B's sequence" in problem
