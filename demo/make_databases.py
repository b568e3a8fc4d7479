"""Make the demo's sequence databases: seeded homologs of the demo targets plus unrelated decoys.

    python demo/make_databases.py [--threads N]

The demo runs AlphaFold2's full_dbs searches for real (jackhmmer on "UniRef90" and "MGnify", hhblits on
"BFD" + "UniRef30") on four small databases made here, each with the header style of the real one so
that species identifiers and the merge of the four MSAs are exercised:

    demo/databases/uniref90_demo.fasta        UniRef90_<id> headers          (FASTA, jackhmmer)
    demo/databases/mgnify_demo.fasta          MGYP<number> headers           (FASTA, jackhmmer)
    demo/databases/bfd_demo/bfd_demo          tr|<acc>|<acc>_<SPECIES>      (HH-suite, hhblits)
    demo/databases/uniref30_demo/uniref30_demo  sp|<acc>|<NAME>_<SPECIES>   (HH-suite, hhblits)
    demo/databases/uniprot_demo.fasta         sp|<acc>|<NAME>_<SPECIES>     (FASTA, jackhmmer: AlphaFold-
                                              Multimer's UniProt search, whose species pair a complex's chains)

Each homolog is a target sequence with a seeded share of its residues substituted (5% to 55%), sometimes
an insertion or a deletion of a few residues and trimmed ends; decoys are random sequences with natural
amino-acid frequencies. UniRef30 also holds exact copies of a few UniRef90 homologs, which the feature
merge must remove as duplicates. The same inputs always give the same files, and `snakefold build-db
--if-changed` leaves a database that is up to date alone, so running this again costs a second.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent
OUT = DEMO / "databases"
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: Natural amino-acid frequencies (UniProt, percent), for decoys and inserted residues.
FREQUENCIES = (8.3, 1.4, 5.5, 6.7, 3.9, 7.1, 2.3, 5.9, 5.8, 9.7, 2.4, 4.1, 4.7, 3.9, 5.5, 6.6, 5.3, 6.9, 1.1, 2.9)
SPECIES = ("HUMAN", "MOUSE", "BOVIN", "CHICK", "XENLA", "DANRE", "DROME", "CAEEL", "YEAST", "ARATH")
#: database -> (homologs per target, decoys)
DATABASES = {"uniref90": (40, 60), "mgnify": (25, 60), "bfd": (30, 60), "uniref30": (20, 40), "uniprot": (20, 40)}


def seeded(*labels: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256("/".join(labels).encode()).digest()[:8], "big"))


def read_targets(path: Path) -> list[tuple[str, str]]:
    """(name, sequence) of each distinct sequence of the demo batch, in file order (a complex's chains, the
    ':'-separated parts of its record, each on its own)."""
    targets, name, chunks = [], None, []
    for line in path.read_text().splitlines() + [">"]:
        if line.startswith(">"):
            for sequence in "".join(chunks).split(":"):
                if name and sequence and sequence not in (seq for _, seq in targets):
                    targets.append((name, sequence))
            name, chunks = line[1:].split()[0] if line[1:].strip() else None, []
        else:
            chunks.append(line.strip())
    return targets


def mutate(sequence: str, rng: random.Random) -> str:
    """A homolog: substitutions at a seeded rate, sometimes an indel, trimmed ends."""
    rate = rng.uniform(0.05, 0.55)
    residues = [rng.choices(AMINO_ACIDS, FREQUENCIES)[0] if rng.random() < rate else letter for letter in sequence]
    if rng.random() < 0.3:
        at = rng.randrange(1, len(residues))
        residues[at:at] = rng.choices(AMINO_ACIDS, FREQUENCIES, k=rng.randint(2, 6))
    if rng.random() < 0.3 and len(residues) > 30:
        at = rng.randrange(1, len(residues) - 6)
        del residues[at:at + rng.randint(1, 5)]
    start, end = rng.randint(0, 4), len(residues) - rng.randint(0, 4)
    return "".join(residues[start:end])


def header(database: str, number: int, what: str, rng: random.Random) -> str:
    species = rng.choice(SPECIES)
    accession = f"D{number:06d}{database[0].upper()}"
    if database == "uniref90":
        return f"UniRef90_{accession} {what} n=1 Tax=demo RepID={accession}_{species}"
    if database == "mgnify":
        return f"MGYP{number:012d} {what}"
    if database == "bfd":
        return f"tr|{accession}|{accession}_{species} {what} OS=demo"
    return f"sp|{accession}|DEMO{number % 1000}_{species} {what} OS=demo"


def database_records(database: str, targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    homologs, decoys = DATABASES[database]
    rng = seeded("snakefold-demo", database)
    records, number = [], 0
    for name, sequence in targets:
        for index in range(homologs):
            number += 1
            what = f"demo homolog {index + 1} of {name}"
            records.append((header(database, number, what, rng), mutate(sequence, rng)))
    for index in range(decoys):
        number += 1
        decoy = "".join(rng.choices(AMINO_ACIDS, FREQUENCIES, k=rng.randint(40, 120)))
        records.append((header(database, number, f"demo decoy {index + 1}", rng), decoy))
    return records


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def build(fmt: str, source: Path, output: Path, threads: int) -> None:
    snakefold = Path(sys.executable).with_name("snakefold")
    subprocess.run([str(snakefold), "build-db", "--format", fmt, "--input", str(source), "--output", str(output),
                    "--threads", str(threads), "--if-changed"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    targets = read_targets(DEMO / "targets.fasta")
    records = {database: database_records(database, targets) for database in DATABASES}
    records["uniref30"] += [(f"sp|{head.split()[0].split('_', 1)[1]}|COPY_HUMAN exact copy of a UniRef90 homolog", seq)
                            for head, seq in records["uniref90"][:3]]
    for database, entries in records.items():
        write_if_changed(OUT / "sequences" / f"{database}.fasta",
                         "".join(f">{head}\n{sequence}\n" for head, sequence in entries))
    build("fasta", OUT / "sequences" / "uniref90.fasta", OUT / "uniref90_demo.fasta", args.threads)
    build("fasta", OUT / "sequences" / "mgnify.fasta", OUT / "mgnify_demo.fasta", args.threads)
    build("hhsuite", OUT / "sequences" / "bfd.fasta", OUT / "bfd_demo" / "bfd_demo", args.threads)
    build("hhsuite", OUT / "sequences" / "uniref30.fasta", OUT / "uniref30_demo" / "uniref30_demo", args.threads)
    build("fasta", OUT / "sequences" / "uniprot.fasta", OUT / "uniprot_demo.fasta", args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
