"""The UniProt search for pairing, with the real tools on a UniProt-style FASTA written here (mnemonic entry
names, several species), through the command the workflow plans; and the MSA stage of a batch of complexes
in real snakemake runs: each distinct chain searched once, a second batch searching only its new chain."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from snakefold.cli import main as snakefold_main
from snakefold.common.fasta import sequence_key
from snakefold.msa.formats import read_msa
from snakefold.msa.species import species_id
from snakefold.plan.run import plan_run
from tests.data.conftest import PROTEIN_G, SPECIES, UBIQUITIN, build_db, mutated
from tests.workflow.conftest import job_counts, run_snakemake, write_config

pytestmark = pytest.mark.slow

HBA = "VLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHFDLSHGSAQVKGHGKKVADALTNAVAHVDDMPNALSALSDLHAHKL"
LYSOZYME = "KVFGRCELAAAMKRHGLDNYRGYSLGNWVCAAKFESNFNTQATNRNTDGSTDYGILQINSRWWCNDGRTPGSRNLCNIPCSALLSSDITASVNCAKKIV"
#: AlphaFold2's jackhmmer flags, as the planned command must pass them.
AF2_JACKHMMER_FLAGS = "-N 1 -E 0.0001 --incE 0.0001 --F1 0.0005 --F2 5e-05 --F3 5e-07"


def write_uniprot(path: Path) -> dict[str, set[str]]:
    """A UniProt-style FASTA: Swiss-Prot and TrEMBL entries of two families in five species, and decoys.

    Returns each family's species codes."""
    rng = random.Random(11)
    records, species = [], {}
    for family, query, code in (("ubiquitin", UBIQUITIN, "UBQ"), ("protein_g", PROTEIN_G, "SPG")):
        species[family] = set()
        for index in range(10):
            organism = SPECIES[index % len(SPECIES)]
            accession = f"P{ord(code[0]) % 10}{index:03d}{code[1]}"
            header = (f"sp|{accession}|{code}{index}_{organism} {family} homolog OS=test" if index % 2 == 0
                      else f"tr|A0A{accession}|A0A{accession}_{organism} {family} homolog OS=test")
            records.append((header, mutated(query, rng.uniform(0.6, 0.95), rng)))
            species[family].add(organism)
    for index in range(20):
        records.append((f"sp|Q9D{index:03d}|DEC{index}_HUMAN decoy", "".join(
            rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(rng.randint(50, 90)))))
    path.write_text("".join(f">{header}\n{sequence}\n" for header, sequence in records))
    return species


@pytest.fixture(scope="module")
def uniprot(tmp_path_factory):
    root = tmp_path_factory.mktemp("uniprot")
    species = write_uniprot(root / "uniprot.fasta")
    return root / "uniprot.fasta", species


def complex_config(tmp_path: Path, database: Path, records: dict[str, str], **changes) -> dict:
    (tmp_path / "in.fasta").write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records.items()))
    return {"inputs": [str(tmp_path / "in.fasta")], "templates": {"enabled": False},
            "results_dir": str(tmp_path / "results"), "cache_dir": str(tmp_path / "cache"),
            "databases": {"preset": "custom", "uniprot": str(database),
                          "custom": [{"name": "tiny", "tool": "jackhmmer", "databases": [str(database)]}]},
            **changes}


def run_planned_pairing_search(plan, sequence: str, tmp_path: Path) -> tuple[Path, str]:
    """Run the planned pairing job of ``sequence`` as its rule does (`snakefold msa --spec ...`)."""
    seq = sequence_key(sequence)
    entry = plan.searches.pairing[seq]
    job = plan.searches.jobs[entry.key]
    query = Path(plan.layout.query_fasta(seq))
    query.parent.mkdir(parents=True, exist_ok=True)
    query.write_text(plan.query_fasta_text(seq))
    log = tmp_path / f"{entry.name}.log"
    assert snakefold_main(["msa", "--spec", job.spec, "--query", str(query), "--output", entry.path,
                           "--threads", "1", "--timeout-minutes", "5", "--log", str(log)]) == 0
    return Path(entry.path), log.read_text()


def test_jackhmmer_pairing_search_keeps_uniprot_names_and_species(uniprot, tmp_path):
    database, species = uniprot
    plan = plan_run(complex_config(tmp_path, database, {"ub_g": f"{UBIQUITIN}:{PROTEIN_G}"},
                                   msa={"max_hits": {"uniprot": 6}}), main_process=False)
    assert plan.problems == [] and plan.searches.msa.pairing.max_hits == 6
    path, log = run_planned_pairing_search(plan, UBIQUITIN, tmp_path)
    assert path.parent.name == "uniprot" and path.suffix == ".sto"  # AlphaFold2's uniprot_hits.sto
    command = next(line for line in log.splitlines() if line.startswith("$ ")).split()
    assert command[2:5] == ["-o", "/dev/null", "-A"]
    flags = AF2_JACKHMMER_FLAGS.split()
    assert all(command[command.index(flag) + 1] == value for flag, value in zip(flags[::2], flags[1::2]))
    msa = read_msa(path)
    assert msa.query == UBIQUITIN and len(msa) == 6  # msa.max_hits.uniprot rows, the query included
    found = {species_id(description) for description in msa.descriptions[1:]}
    assert found and found <= species["ubiquitin"]
    assert all(description.split("|")[0] in ("sp", "tr") for description in msa.descriptions[1:])

    (tmp_path / "full").mkdir()
    full = plan_run(complex_config(tmp_path / "full", database, {"ub_g": f"{UBIQUITIN}:{PROTEIN_G}"}),
                    main_process=False)
    path, _ = run_planned_pairing_search(full, PROTEIN_G, tmp_path)
    rows = read_msa(path)
    assert len(rows) > 6 and {species_id(d) for d in rows.descriptions[1:]} == species["protein_g"]


def test_mmseqs2_pairing_search_on_uniprot_built_with_build_db(uniprot, tmp_path):
    database, species = uniprot
    prefix = tmp_path / "mmseqs" / "uniprot_mmseqs_db"
    build_db("--format", "mmseqs", "--input", str(database), "--output", str(prefix))
    config = complex_config(tmp_path, database, {"ub_g": f"{UBIQUITIN}:{PROTEIN_G}"}, msa={"mode": "mmseqs2"})
    config["databases"].update(uniprot_mmseqs=str(prefix), custom=[
        {"name": "tiny_mmseqs", "tool": "mmseqs2", "databases": [str(prefix)]}])
    plan = plan_run(config, main_process=False)
    assert plan.problems == [] and plan.searches.msa.pairing.name == "uniprot_mmseqs"
    path, log = run_planned_pairing_search(plan, PROTEIN_G, tmp_path)
    assert "mmseqs result2msa" in log and "--filter-msa" not in log.split("result2msa", 1)[1].splitlines()[0]
    msa = read_msa(path)
    assert msa.query == PROTEIN_G and len(msa) > 1
    assert "mmseqs convertalis" in log  # each hit's full header, its UniProt entry name with it
    assert {species_id(description) for description in msa.descriptions[1:]} == species["protein_g"]
    assert all(description.split("|")[0] in ("sp", "tr") for description in msa.descriptions[1:])


def test_complexes_sharing_chains_search_each_chain_once_across_batches(uniprot, tmp_path):
    database, _ = uniprot
    first = complex_config(tmp_path, database, {"X": f"{UBIQUITIN}:{PROTEIN_G}", "Y": f"{PROTEIN_G}:{HBA}",
                                                "Z": f"{UBIQUITIN}:{HBA}:{HBA}", "ubq": UBIQUITIN})
    first.update(results_dir="results", cache_dir="cache", inputs=["in.fasta"])
    result = run_snakemake(tmp_path, "all_msas", "--cores", "2", "--configfile", str(write_config(tmp_path, first)))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout + result.stderr)
    # three distinct chains (ubiquitin also a single-chain target): one search of each per search name
    assert (counts["query_fasta"], counts["msa_tiny"], counts["msa_uniprot"]) == (3, 3, 3), counts
    assert len(list((tmp_path / "cache" / "msa" / "uniprot").glob("*.sto"))) == 3

    (tmp_path / "second.fasta").write_text(f">W\n{HBA}:{LYSOZYME}\n")
    second = {**first, "inputs": ["second.fasta"], "results_dir": "results2"}
    result = run_snakemake(tmp_path, "all_msas", "--cores", "2", "--configfile", str(write_config(tmp_path, second)))
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout + result.stderr)
    assert (counts["msa_tiny"], counts["msa_uniprot"]) == (1, 1), counts  # lysozyme only: HBA is in the cache
    again = run_snakemake(tmp_path, "all_msas", "-n", "--configfile", str(write_config(tmp_path, second)))
    assert "Nothing to be done" in again.stdout + again.stderr
