"""The files a complex's chains are featurised from, and the chains' features read from them.

A chain's inputs (:class:`ChainInputs`) are its MSAs in merge order (each with the most rows used), its
UniProt MSA for pairing (chains of heteromers) and its template file: template features (``.npz``),
hmmsearch hits (``pdb_hits.sto``), hhsearch hits (``pdb_hits.hhr``) or none (templates off). They come
either from the workflow's cache entries (planned by :mod:`snakefold.plan.run`) or from **AlphaFold2's
``msas/`` directory** of the complex (:func:`alphafold_msas_inputs`), where AlphaFold2 searches each distinct
sequence once, in the directory of its first chain:

    msas/chain_id_map.json               chain ID -> {"sequence", "description"} (checked when present)
    msas/<chain>/uniref90_hits.sto       jackhmmer, UniRef90: first 10,000 rows used (msa.max_hits)
    msas/<chain>/bfd_uniref_hits.a3m     HHblits, BFD + UniRef30 (v2.3); ``bfd_uniclust_hits.a3m`` before
                                         v2.3, ``small_bfd_hits.sto`` with the reduced databases
    msas/<chain>/mgnify_hits.sto         jackhmmer, MGnify: first 501 rows used
    msas/<chain>/uniprot_hits.sto        jackhmmer, UniProt, for pairing (heteromers): first 50,000 rows
    msas/<chain>/pdb_hits.sto            hmmsearch against pdb_seqres.txt, or ``pdb_hits.hhr`` (hhsearch,
                                         PDB70) from a monomer-style run

:func:`complex_chains` reads them into the chains :func:`snakefold.msa.multimer.merge_complex` pairs and
merges: each distinct sequence's monomer raw features (sequence features, its MSAs merged as AlphaFold2's
monomer pipeline merges them, its template features) and, for heteromers, its ``*_all_seq`` features; a
chain whose sequence repeats an earlier chain's reuses its features, as AlphaFold2 does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.features.raw import sequence_features
from snakefold.msa.features import make_msa_features
from snakefold.msa.formats import Msa, query_of_msa_file, read_msa, single_sequence_msa
from snakefold.msa.multimer import ComplexChain, all_seq_features

#: AlphaFold2's MSA files of a chain in merge order, with the ``msa.max_hits`` search that limits their rows.
UNIREF90 = ("uniref90_hits.sto", "uniref90")
MGNIFY = ("mgnify_hits.sto", "mgnify")
UNIPROT = ("uniprot_hits.sto", "uniprot")
#: The BFD MSA's names, newest first (every row is used).
BFD_CHOICES = ("bfd_uniref_hits.a3m", "bfd_uniclust_hits.a3m", "small_bfd_hits.sto")
TEMPLATE_HITS = ("pdb_hits.sto", "pdb_hits.hhr")
CHAIN_ID_MAP = "chain_id_map.json"


@dataclasses.dataclass(frozen=True)
class MsaFile:
    """One MSA of a chain: its name (for messages), file, format and the most rows used (None: all)."""

    name: str
    path: str
    format: str
    max_rows: int | None = None


@dataclasses.dataclass(frozen=True)
class ChainInputs:
    """What one chain is featurised from (module doc); ``templates`` None: templates off (zero templates)."""

    chain_id: str
    record_id: str
    sequence: str
    msas: tuple[MsaFile, ...]
    uniprot: MsaFile | None
    templates: str | None

    def files(self) -> list[str]:
        """Every file read for this chain."""
        return ([msa.path for msa in self.msas] + ([self.uniprot.path] if self.uniprot else [])
                + ([self.templates] if self.templates else []))

    def to_spec(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ChainInputs:
        uniprot = spec["uniprot"]
        return cls(spec["chain_id"], spec["record_id"], spec["sequence"],
                   tuple(MsaFile(**msa) for msa in spec["msas"]), MsaFile(**uniprot) if uniprot else None,
                   spec["templates"])


def _format(path: Path) -> str:
    return "a3m" if path.suffix == ".a3m" else "sto"


def _required(path: Path, chain_id: str, what: str) -> Path:
    if not path.is_file():
        raise SnakefoldError(f"{path}: missing; chain {chain_id}'s MSA directory needs it ({what}, AlphaFold2's "
                             "msas/ layout)")
    return path


def _chain_id_map(msas_dir: Path) -> dict[str, dict[str, str]] | None:
    path = msas_dir / CHAIN_ID_MAP
    if not path.is_file():
        return None
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SnakefoldError(f"{path}: cannot read AlphaFold2's chain ID map ({error})") from error
    if not isinstance(mapping, dict):
        raise SnakefoldError(f"{path}: AlphaFold2's chain ID map is an object of chain IDs, not {type(mapping).__name__}")
    return mapping


def alphafold_msas_inputs(msas_dir: str | Path, chains: Sequence[tuple[str, str, str]],
                          max_hits: Mapping[str, int | None], templates: bool = True) -> list[ChainInputs]:
    """Each chain's inputs in AlphaFold2's ``msas_dir`` (module doc); ``chains`` are (chain ID, record ID,
    sequence) in input order, ``max_hits`` the rows used per search name (msa.max_hits).

    Only the files' presence and the chain ID map are checked here; :func:`check_queries` reads each MSA's
    first row. With ``templates`` False the template hits are not read (zero templates)."""
    msas_dir = Path(msas_dir)
    if not msas_dir.is_dir():
        raise SnakefoldError(f"{msas_dir}: not a directory (expected AlphaFold2's msas/ directory)")
    chain_map = _chain_id_map(msas_dir)
    heteromer = len({sequence for _, _, sequence in chains}) > 1
    first_of_sequence: dict[str, ChainInputs] = {}
    inputs = []
    for chain_id, record_id, sequence in chains:
        if chain_map is not None:
            mapped = chain_map.get(chain_id, {}).get("sequence")
            if mapped != sequence:
                raise SnakefoldError(f"{msas_dir / CHAIN_ID_MAP}: chain {chain_id} is "
                                     f"{'absent' if mapped is None else repr(mapped[:20]) + '...'}, but the input's "
                                     f"chain {chain_id} is {sequence[:20]!r}...; the directory was made for "
                                     "another input")
        if sequence in first_of_sequence:
            inputs.append(dataclasses.replace(first_of_sequence[sequence], chain_id=chain_id, record_id=record_id))
            continue
        chain_dir = msas_dir / chain_id
        if not chain_dir.is_dir():
            raise SnakefoldError(f"{chain_dir}: missing; AlphaFold2 searches chain {chain_id} (the first with its "
                                 "sequence) in this directory")
        bfd = next((chain_dir / name for name in BFD_CHOICES if (chain_dir / name).is_file()), None)
        if bfd is None:
            raise SnakefoldError(f"{chain_dir}: chain {chain_id} has no BFD MSA ({' or '.join(BFD_CHOICES)})")
        msas = []
        for file_name, search in (UNIREF90, (bfd.name, None), MGNIFY):
            path = _required(chain_dir / file_name, chain_id, "an MSA")
            msas.append(MsaFile(str(path), str(path), _format(path), max_hits.get(search) if search else None))
        uniprot = None
        if heteromer:
            path = _required(chain_dir / UNIPROT[0], chain_id, "the UniProt MSA for pairing")
            uniprot = MsaFile(str(path), str(path), "sto", max_hits.get(UNIPROT[1]))
        hits = None
        if templates:
            hits = next((chain_dir / name for name in TEMPLATE_HITS if (chain_dir / name).is_file()), None)
            if hits is None:
                raise SnakefoldError(f"{chain_dir}: chain {chain_id} has no template hits "
                                     f"({' or '.join(TEMPLATE_HITS)}); an empty pdb_hits.sto stands for no hits")
        chain = ChainInputs(chain_id, record_id, sequence, tuple(msas), uniprot, str(hits) if hits else None)
        first_of_sequence[sequence] = chain
        inputs.append(chain)
    return inputs


def _query_problem(msa: MsaFile, sequence: str, chain_id: str, searched: str) -> str:
    return (f"{msa.path}: its first row is not chain {chain_id}'s sequence ({len(sequence)} residues, starting "
            f"{sequence[:20]!r}; the row has {len(searched)}, starting {searched[:20]!r}); was it searched for "
            "another input?")


def check_queries(inputs: Sequence[ChainInputs]) -> list[str]:
    """A problem for every MSA whose first row is not its chain's sequence (each distinct file read once)."""
    problems, checked = [], set()
    for chain in inputs:
        for msa in chain.msas + ((chain.uniprot,) if chain.uniprot else ()):
            if msa.path in checked:
                continue
            checked.add(msa.path)
            try:
                searched = query_of_msa_file(msa.path, msa.format)
            except SnakefoldError as error:
                problems.append(str(error))
                continue
            if searched != chain.sequence.upper():
                problems.append(_query_problem(msa, chain.sequence, chain.chain_id, searched))
    return problems


def _read(msa: MsaFile, sequence: str, chain_id: str) -> Msa:
    read = read_msa(msa.path, msa.format).truncated(msa.max_rows)
    searched = read.query.replace("-", "").upper()
    if searched != sequence.upper():
        raise SnakefoldError(_query_problem(msa, sequence, chain_id, searched))
    return read


TemplateFeatures = Callable[[ChainInputs], Mapping[str, np.ndarray]]


def complex_chains(inputs: Sequence[ChainInputs], template_features: TemplateFeatures) -> list[ComplexChain]:
    """The chains of the complex, in input order, with their monomer and UniProt features (module doc).

    ``template_features`` gives a chain's template features (raw feature names) from its ``templates`` file;
    it is called once per distinct sequence. A chain without MSAs (msa.mode single_sequence) has the query
    alone as its MSA, and as its UniProt MSA when the complex is a heteromer (then only the query rows pair)."""
    heteromer = len({chain.sequence for chain in inputs}) > 1
    first_of_sequence: dict[str, ComplexChain] = {}
    chains = []
    for chain in inputs:
        if chain.sequence in first_of_sequence:
            first = first_of_sequence[chain.sequence]
            chains.append(ComplexChain(chain.chain_id, chain.sequence, first.monomer, first.all_seq))
            continue
        msas = [_read(msa, chain.sequence, chain.chain_id) for msa in chain.msas]
        names = [msa.path for msa in chain.msas]
        if not msas:
            msas, names = [single_sequence_msa(chain.sequence)], ["single sequence"]
        monomer = {**sequence_features(chain.sequence, f"chain_{chain.chain_id}"), **make_msa_features(msas, names),
                   **template_features(chain)}
        all_seq = None
        if chain.uniprot is not None:
            all_seq = all_seq_features(_read(chain.uniprot, chain.sequence, chain.chain_id), chain.uniprot.path)
        elif heteromer:
            all_seq = all_seq_features(single_sequence_msa(chain.sequence), "single sequence")
        complex_chain = ComplexChain(chain.chain_id, chain.sequence, monomer, all_seq)
        first_of_sequence[chain.sequence] = complex_chain
        chains.append(complex_chain)
    return chains
