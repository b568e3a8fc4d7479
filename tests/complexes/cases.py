"""The parity cases of AlphaFold-Multimer's data path and how each case's input directory is laid out.

Plain standard-library Python: both the tests (snakefold's venv) and ``fixtures/make_fixtures.py`` (the
AlphaFold2 v2.3.2 reference venv) import it, so both read exactly the same inputs.

* Synthetic cases: species-labelled MSAs written by the reference harness's ``synth.py``; their inputs and
  the reference's merged features are committed under ``fixtures/`` (``<case>.tar.xz`` holds the FASTA
  and the ``msas/`` directory, ``<case>_feat.npz`` the reference's features).
* Real cases: complexes of the real OpenFold chains in ``../shared/data/msas/openfold`` (jackhmmer
  UniRef90, MGnify and UniProt Stockholm files with real species, HHblits BFD a3m, hmmsearch template hits
  against pdb_seqres). Their inputs are laid out at test time from ``../shared`` (never copied into the
  repository); only digests of the reference's features are committed (``real_digests.json``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: name -> synth.py arguments (chains, seed, MSA depth, UniProt depth, shared species).
SYNTHETIC_CASES: dict[str, dict] = {
    "hetero_A24_B32": {"chains": "A:24,B:32", "seed": 0, "num_msa": 64},
    "hetero_no_shared_species": {"chains": "A:30,B:25", "seed": 5, "num_msa": 20, "shared_species": 0},
    "hetero_interleaved_A20_B30_A20": {"chains": "A:20,B:30,A:20", "seed": 2, "num_msa": 80, "shared_species": 20},
    "homodimer_A40": {"chains": "A:40,A:40", "seed": 1, "num_msa": 100},
    "homotrimer_A18": {"chains": "A:18,A:18,A:18", "seed": 7, "num_msa": 40},
    "A2B_trimer": {"chains": "A:24,A:24,B:32", "seed": 3, "num_msa": 32},
    "ABC_trimer_deep_uniprot": {"chains": "A:16,B:18,C:20", "seed": 4, "num_msa": 150, "num_uniprot": 300,
                                    "shared_species": 40},
    "hetero_cropped_2048_1024": {"chains": "A:12,B:14", "seed": 6, "num_msa": 2300, "num_uniprot": 2000,
                                     "shared_species": 700},
}

#: A synthetic heterodimer whose UniProt hits are relabelled (species, first hit, hits; counting the hits with
#: UniProt names in file order) so that species BIGA has 601 rows in chain A (over the per-species limit: not
#: paired although chain B has it too) and BIGB exactly 600 rows in chain B (at the limit: paired).
SPECIES_LIMIT_CASE = "hetero_species_row_limit"
SPECIES_LIMIT_BASE = {"chains": "A:40,B:45", "seed": 8, "num_msa": 30, "num_uniprot": 900, "shared_species": 4}
SPECIES_LIMIT_RELABEL = {"A": (("BIGA", 0, 601), ("BIGB", 601, 3)), "B": (("BIGB", 0, 600), ("BIGA", 600, 2))}

#: A synthetic heterodimer with template hits found by real hmmbuild + hmmsearch (AlphaFold-Multimer's flags)
#: in a pdb_seqres of synthetic entries whose mmCIF files the fixture carries: entry id -> (release date,
#: chain, template of which FASTA chain, how it is made). Kinds: ``copy`` (10 % mutated, two residues added
#: in front and one behind, some residues unobserved), ``fragment`` (residues 6 to L-5, 10 % mutated),
#: ``same`` (the chain's exact sequence: a near-duplicate of the query, skipped).
TEMPLATE_CASE = "hetero_templates_hmmsearch"
TEMPLATE_CASE_BASE = {"chains": "A:30,B:36", "seed": 9, "num_msa": 60}
TEMPLATE_ENTRIES = {
    "1tma": ("2001-01-01", ("A", "B"), "A", "copy"),  # two identical chains: the second hit repeats the first
    "2tmb": ("2002-02-02", ("A",), "A", "fragment"),
    "3tmc": ("2003-03-03", ("C",), "B", "copy"),
    "4tmd": ("2004-04-04", ("A",), "B", "same"),
    "5tme": ("2150-05-05", ("A",), "B", "fragment"),  # released after MAX_TEMPLATE_DATE
}
#: hmmsearch's options in AlphaFold-Multimer (besides --noali and -A).
HMMSEARCH_FLAGS = ["--F1", "0.1", "--F2", "0.1", "--F3", "0.1", "--incE", "100", "-E", "100", "--domE", "100",
                   "--incdomE", "100"]

OPENFOLD_MSAS = "msas/openfold"
#: name -> (OpenFold chain directories in input order, whether template hits are featurised).
REAL_CASES: dict[str, tuple[tuple[str, ...], bool]] = {
    "real_4zey_3u8v_templates": (("4zey_A", "3u8v_A"), True),
    "real_4zey_2crb": (("4zey_A", "2crb_A"), False),
    "real_2crb2_1psm_A2B": (("2crb_A", "2crb_A", "1psm_A"), True),
    "real_4zey_homodimer_templates": (("4zey_A", "4zey_A"), True),
    "real_ABCD": (("4zey_A", "2crb_A", "3u8v_A", "1psm_A"), False),
}
#: mmCIF files of ../shared/data/structures that template hits of the OpenFold chains name.
TEMPLATE_STRUCTURES = {"4zey": "4ZEY.cif", "2crb": "2CRB.cif", "3u8v": "3U8V.cif"}
MAX_TEMPLATE_DATE = "2100-01-01"
PDB_CHAIN_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def stockholm_query(path: Path) -> str:
    """The first row of a Stockholm file, gaps removed."""
    first, parts = None, []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith(("#", "//")):
            continue
        name, row = line.split(None, 1)
        first = first or name
        if name == first:
            parts.append(row.strip())
    return "".join(parts).replace("-", "").replace(".", "").upper()


def hits_naming(text: str, entries: set[str]) -> str:
    """An hmmsearch Stockholm output cut to the hits of PDB ``entries`` (all markup of other hits dropped)."""
    kept = []
    for line in text.splitlines(keepends=True):
        if line.startswith("#=GS"):
            name = line.split()[1]
        elif line.strip() and not line.startswith(("#", "//")):
            name = line.split()[0]
        else:
            kept.append(line)
            continue
        if name.split("_")[0] in entries:
            kept.append(line)
    return "".join(kept)


def lay_out_real_case(shared_data: Path, name: str, destination: Path) -> tuple[Path, Path, Path]:
    """Write a real case's FASTA, AlphaFold2 ``msas/`` directory and mmCIF directory under ``destination``.

    The first chain of each distinct sequence gets a directory named by its chain ID holding the OpenFold
    files under AlphaFold2 v2.3.2's names (the BFD a3m as ``bfd_uniref_hits.a3m``); ``pdb_hits.sto`` is the
    OpenFold hmmsearch output cut to the hits whose structures are in ``shared_data`` (templates on), or an
    empty Stockholm file (templates off: AlphaFold2's no-hit template).
    """
    sources, templates = REAL_CASES[name]
    openfold = shared_data / OPENFOLD_MSAS
    msas = destination / "msas"
    mmcif = destination / "mmcif"
    msas.mkdir(parents=True)
    mmcif.mkdir()
    for entry, file_name in TEMPLATE_STRUCTURES.items():
        shutil.copyfile(shared_data / "structures" / file_name, mmcif / f"{entry}.cif")
    fasta_lines = []
    done = set()
    for chain_id, source in zip(PDB_CHAIN_IDS, sources):
        sequence = stockholm_query(openfold / source / "uniref90_hits.sto")
        fasta_lines += [f">{source} chain {chain_id}", sequence]
        if source in done:
            continue
        done.add(source)
        chain_dir = msas / chain_id
        chain_dir.mkdir()
        for file_name in ("uniref90_hits.sto", "mgnify_hits.sto", "uniprot_hits.sto"):
            shutil.copyfile(openfold / source / file_name, chain_dir / file_name)
        shutil.copyfile(openfold / source / "bfd_uniclust_hits.a3m", chain_dir / "bfd_uniref_hits.a3m")
        hits = hits_naming((openfold / source / "hmm_output.sto").read_text(), set(TEMPLATE_STRUCTURES))
        (chain_dir / "pdb_hits.sto").write_text(hits if templates else "# STOCKHOLM 1.0\n//\n")
    fasta = destination / "complex.fasta"
    fasta.write_text("\n".join(fasta_lines) + "\n")
    return fasta, msas, mmcif


def array_digest(array, decimals: int | None = None) -> str:
    """SHA-256 of an array's dtype, shape and values (floats rounded to ``decimals`` when given)."""
    import numpy as np

    array = np.ascontiguousarray(array)
    if decimals is not None:
        array = np.ascontiguousarray(np.round(array.astype(np.float64), decimals))
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


#: Decimals the float arrays of real cases are rounded to in their second digest (coordinates have 3).
FLOAT_DIGEST_DECIMALS = 4


def sort_probe() -> dict[str, list[int]]:
    """How this NumPy on this CPU orders ties with the ``quicksort`` argsort AlphaFold2 v2.3.2 pairs with.

    v2.3.2's pairing order depends on it (:mod:`snakefold.msa.pairing`); NumPy's SIMD sorting kernels order
    ties differently on different CPUs. The fixtures record the probe of the machine that made them.
    """
    import numpy as np

    probe = {}
    for size in (5, 16, 17, 40, 300, 3000):
        values = np.arange(size) * 7 % 5
        probe[f"int64_{size}"] = np.argsort(values.astype(np.int64), kind="quicksort").tolist()
        probe[f"float64_{size}"] = (values[::-1] / 5.0).argsort(kind="quicksort").tolist()
    return probe


def peer_dir() -> Path:
    """The reference harness (AlphaFold2 v2.3.2 multimer), ../shared/reference/peer_multimer by default."""
    default = Path(__file__).resolve().parents[3] / "shared" / "reference" / "peer_multimer"
    return Path(os.environ.get("SNAKEFOLD_PEER_MULTIMER", default))
