"""Fixtures of the MSA tests: small sequence families written here, and databases built from them with
the real ``snakefold build-db`` (FASTA, HH-suite, MMseqs2), once per test session."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from snakefold.cli import main as snakefold_main

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: Human ubiquitin and the B1 domain of protein G: the two query families.
UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
PROTEIN_G = "MTYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE"
SPECIES = ("HUMAN", "MOUSE", "YEAST", "ECOLI", "ARATH")


def mutated(sequence: str, identity: float, rng: random.Random) -> str:
    return "".join(letter if rng.random() < identity else rng.choice(AMINO_ACIDS) for letter in sequence)


@dataclass(frozen=True)
class Family:
    query: str
    #: header -> sequence of each homolog in the database
    homologs: dict[str, str]


def write_families(path: Path, seed: int = 7) -> tuple[dict[str, Family], list[str]]:
    """A FASTA database: 12 ubiquitin and 8 protein G homologs (UniProt-style headers) and 20 decoys."""
    rng = random.Random(seed)
    families, records, decoys = {}, [], []
    for name, query, count in (("ubiquitin", UBIQUITIN, 12), ("protein_g", PROTEIN_G, 8)):
        homologs = {}
        for index in range(count):
            accession = f"Q{name[0].upper()}{index:04d}X"
            header = f"tr|{accession}|{accession}_{SPECIES[index % len(SPECIES)]} {name} homolog {index}"
            homologs[header] = mutated(query, rng.uniform(0.6, 0.95), rng)
        families[name] = Family(query, homologs)
        records.extend(homologs.items())
    for index in range(20):
        header = f"decoy{index} unrelated random sequence"
        decoys.append(header)
        records.append((header, "".join(rng.choice(AMINO_ACIDS) for _ in range(rng.randint(50, 90)))))
    path.write_text("".join(f">{header}\n{sequence}\n" for header, sequence in records))
    return families, decoys


@dataclass(frozen=True)
class TinyDatabases:
    fasta_input: Path
    fasta: Path
    hhsuite: Path
    mmseqs: Path
    families: dict[str, Family]
    decoys: list[str]


def build_db(*arguments: str) -> None:
    assert snakefold_main(["build-db", *arguments]) == 0


@pytest.fixture(scope="session")
def tiny_databases(tmp_path_factory) -> TinyDatabases:
    root = tmp_path_factory.mktemp("tiny_databases")
    source = root / "families.fasta"
    families, decoys = write_families(source)
    build_db("--format", "fasta", "--input", str(source), "--output", str(root / "fasta" / "tiny.fasta"))
    build_db("--format", "hhsuite", "--input", str(source), "--output", str(root / "hhsuite" / "tiny"),
             "--threads", "2")
    build_db("--format", "mmseqs", "--input", str(source), "--output", str(root / "mmseqs" / "tiny"))
    return TinyDatabases(source, root / "fasta" / "tiny.fasta", root / "hhsuite" / "tiny", root / "mmseqs" / "tiny",
                         families, decoys)


def query_fasta(directory: Path, sequence: str, name: str = "query") -> Path:
    path = directory / f"{name}.fasta"
    path.write_text(f">{name}\n{sequence}\n")
    return path
