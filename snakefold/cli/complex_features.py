"""``snakefold complex-features``: a complex's merged AlphaFold-Multimer features from AlphaFold2's ``msas/`` directory.

The FASTA lists the complex's chains in order (one record per chain; a chain repeated for each copy), named
``A``, ``B``, ... as AlphaFold2 names them (:mod:`snakefold.common.chains`). Letters other than the 20 amino
acids and X are rejected (AlphaFold2 would read them as X in the sequence, but as other residues in the MSAs). AlphaFold2 searches each distinct
sequence once, in the directory of its first chain:

    msas/chain_id_map.json               chain ID -> {"sequence", "description"} (checked when present)
    msas/<chain>/uniref90_hits.sto       jackhmmer, UniRef90: first 10,000 rows used
    msas/<chain>/bfd_uniref_hits.a3m     HHblits, BFD + UniRef30 (v2.3); ``bfd_uniclust_hits.a3m`` before
                                         v2.3, ``small_bfd_hits.sto`` with the reduced databases
    msas/<chain>/mgnify_hits.sto         jackhmmer, MGnify: first 501 rows used
    msas/<chain>/uniprot_hits.sto        jackhmmer, UniProt, for pairing (heteromers): first 50,000 rows
    msas/<chain>/pdb_hits.sto            hmmsearch against pdb_seqres.txt (:mod:`snakefold.templates.hmmsearch`),
                                         or ``pdb_hits.hhr`` (hhsearch, PDB70) from a monomer-style run

Each chain's monomer raw features (:mod:`snakefold.features.raw`) are made from these files as AlphaFold2's
monomer pipeline makes them (the three MSAs merged in the order UniRef90, BFD, MGnify; template hits
featurised from ``--mmcif-dir``, an empty ``pdb_hits.sto`` giving AlphaFold2's all-zero no-hit template); a
chain whose sequence repeats an earlier chain's reuses its features, as AlphaFold2 does. The chains are
then paired and merged as AlphaFold-Multimer v2.3.2 does (:mod:`snakefold.msa.multimer`) and written as
``.npz`` (AlphaFold2's key names, no pickle), atomically; ``--summary`` writes as JSON the chains, the rows
paired per chain and the species that paired them (:mod:`snakefold.msa.multimer`), and ``template_hits``:
for each searched chain, every template hit tried, whether it was kept and why not.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from snakefold.common.atomic import atomic_save_npz, atomic_write_json
from snakefold.common.chains import chain_ids
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import read_records
from snakefold.features.raw import empty_template_features, sequence_features
from snakefold.msa.features import make_msa_features
from snakefold.msa.formats import Msa, read_msa
from snakefold.msa.multimer import ComplexChain, all_seq_features, merge_complex
from snakefold.plan.config import schema_defaults
from snakefold.templates.featurise import HitOutcome, TemplateFeaturizer, parse_obsolete
from snakefold.templates.hhr import read_hhr
from snakefold.templates.hmmsearch import HmmsearchHitFeaturizer, no_hit_template_features, read_hmmsearch_hits
from snakefold.templates.search import template_filters

#: MSA file -> its search's name in the ``msa.max_hits`` config (AlphaFold2's row limits are its defaults).
UNIREF90 = ("uniref90_hits.sto", "uniref90")
MGNIFY = ("mgnify_hits.sto", "mgnify")
UNIPROT = ("uniprot_hits.sto", "uniprot")
#: The BFD MSA's names, newest first (every row is used).
BFD_CHOICES = ("bfd_uniref_hits.a3m", "bfd_uniclust_hits.a3m", "small_bfd_hits.sto")
TEMPLATE_HITS = ("pdb_hits.sto", "pdb_hits.hhr")


def _read_query_msa(path: Path, max_rows: int | None, sequence: str, chain_id: str) -> Msa:
    if not path.is_file():
        raise SnakefoldError(f"{path}: missing; chain {chain_id}'s MSA directory needs it (AlphaFold2's msas/ layout)")
    msa = read_msa(path).truncated(max_rows)
    if msa.query.replace("-", "").upper() != sequence.upper():
        raise SnakefoldError(f"{path}: its first row is not chain {chain_id}'s sequence ({len(sequence)} residues, "
                             f"starting {sequence[:20]!r}); was this directory searched for another FASTA?")
    return msa


def _bfd_path(chain_dir: Path, chain_id: str) -> Path:
    for name in BFD_CHOICES:
        if (chain_dir / name).is_file():
            return chain_dir / name
    raise SnakefoldError(f"{chain_dir}: chain {chain_id} has no BFD MSA ({' or '.join(BFD_CHOICES)})")


def _template_features(chain_dir: Path, sequence: str, chain_id: str, featurizers: dict[str, TemplateFeaturizer] | None
                       ) -> tuple[dict[str, np.ndarray], list[HitOutcome]]:
    sto, hhr = (chain_dir / name for name in TEMPLATE_HITS)
    if sto.is_file():
        hits, kind = read_hmmsearch_hits(sto, sequence), "sto"
    elif hhr.is_file():
        hits, kind = read_hhr(hhr), "hhr"
    else:
        raise SnakefoldError(f"{chain_dir}: chain {chain_id} has no template hits ({' or '.join(TEMPLATE_HITS)}); "
                             "an empty pdb_hits.sto stands for no hits")
    if not hits:
        no_hit = no_hit_template_features if kind == "sto" else empty_template_features
        return no_hit(len(sequence)), []
    if featurizers is None:
        raise SnakefoldError(f"{sto if kind == 'sto' else hhr}: chain {chain_id} has {len(hits)} template hit(s); "
                             "give the mmCIF directory they refer to (--mmcif-dir)")
    return featurizers[kind].featurize(sequence, hits)


def _chain_id_map(msas_dir: Path) -> dict[str, dict[str, str]] | None:
    path = msas_dir / "chain_id_map.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SnakefoldError(f"{path}: cannot read AlphaFold2's chain ID map ({error})") from error


def read_complex_chains(msas_dir: str | Path, chain_ids: Sequence[str], sequences: Sequence[str],
                        featurizers: dict[str, TemplateFeaturizer] | None
                        ) -> tuple[list[ComplexChain], dict[str, list[HitOutcome]]]:
    """The chains (IDs and sequences in input order) with their features from AlphaFold2's ``msas_dir``, and
    what became of each chain's template hits (by the chain ID whose directory holds them).

    ``featurizers`` maps ``sto`` and ``hhr`` to the template featurisers of hmmsearch and hhsearch hits (None:
    no mmCIF directory, which is an error only when a chain has template hits).
    """
    msas_dir = Path(msas_dir)
    if not msas_dir.is_dir():
        raise SnakefoldError(f"{msas_dir}: not a directory (expected AlphaFold2's msas/ directory)")
    chain_map = _chain_id_map(msas_dir)
    max_hits = schema_defaults("msa")["max_hits"]
    heteromer = len(set(sequences)) > 1
    first_of_sequence: dict[str, ComplexChain] = {}
    template_outcomes: dict[str, list[HitOutcome]] = {}
    chains = []
    for chain_id, sequence in zip(chain_ids, sequences):
        if chain_map is not None:
            mapped = chain_map.get(chain_id, {}).get("sequence")
            if mapped != sequence:
                raise SnakefoldError(f"{msas_dir / 'chain_id_map.json'}: chain {chain_id} is "
                                     f"{'absent' if mapped is None else repr(mapped[:20]) + '...'}, but the FASTA's "
                                     f"chain {chain_id} is {sequence[:20]!r}...; the directory was made for "
                                     "another input")
        if sequence in first_of_sequence:
            first = first_of_sequence[sequence]
            chains.append(ComplexChain(chain_id, sequence, first.monomer, first.all_seq))
            continue
        chain_dir = msas_dir / chain_id
        if not chain_dir.is_dir():
            raise SnakefoldError(f"{chain_dir}: missing; AlphaFold2 searches chain {chain_id} (the first with its "
                                 "sequence) in this directory")
        bfd_path = _bfd_path(chain_dir, chain_id)
        msas = [_read_query_msa(chain_dir / UNIREF90[0], max_hits[UNIREF90[1]], sequence, chain_id),
                _read_query_msa(bfd_path, None, sequence, chain_id),
                _read_query_msa(chain_dir / MGNIFY[0], max_hits[MGNIFY[1]], sequence, chain_id)]
        names = [str(chain_dir / UNIREF90[0]), str(bfd_path), str(chain_dir / MGNIFY[0])]
        templates, template_outcomes[chain_id] = _template_features(chain_dir, sequence, chain_id, featurizers)
        monomer = {**sequence_features(sequence, f"chain_{chain_id}"), **make_msa_features(msas, names),
                   **templates}
        all_seq = None
        if heteromer:
            uniprot_path = chain_dir / UNIPROT[0]
            uniprot = _read_query_msa(uniprot_path, max_hits[UNIPROT[1]], sequence, chain_id)
            all_seq = all_seq_features(uniprot, str(uniprot_path))
        chain = ComplexChain(chain_id, sequence, monomer, all_seq)
        first_of_sequence[sequence] = chain
        chains.append(chain)
    return chains, template_outcomes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = schema_defaults("templates")
    parser.add_argument("--fasta", required=True, help="the complex's chains, one FASTA record each, in order")
    parser.add_argument("--msas", required=True, help="AlphaFold2's msas/ directory (<chain>/uniref90_hits.sto, ...)")
    parser.add_argument("--out", required=True, help="merged features (.npz)")
    parser.add_argument("--summary", help="JSON summary: chains, paired rows per chain and their species")
    parser.add_argument("--mmcif-dir", help="directory of <pdb id>.cif files the template hits refer to")
    parser.add_argument("--obsolete", help="the PDB's obsolete.dat (none: no obsolete entries)")
    parser.add_argument("--max-template-date", default=defaults["max_template_date"], help="YYYY-MM-DD")
    parser.add_argument("--max-hits", type=int, default=defaults["max_hits"])
    parser.add_argument("--log", help="kalign's messages from realigning template hits (default: discarded)")


def _featurizers(args: argparse.Namespace, kalign_log: Path) -> dict[str, TemplateFeaturizer] | None:
    if args.mmcif_dir is None:
        return None
    defaults = schema_defaults("templates")
    filters = template_filters({**defaults, "max_template_date": args.max_template_date, "max_hits": args.max_hits})
    obsolete = parse_obsolete(args.obsolete) if args.obsolete else {}
    return {"sto": HmmsearchHitFeaturizer(args.mmcif_dir, filters, obsolete, kalign_log),
            "hhr": TemplateFeaturizer(args.mmcif_dir, filters, obsolete, kalign_log)}


def run(args: argparse.Namespace) -> int:
    records, problems = read_records(Path(args.fasta), nonstandard="reject")
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors:
        raise SnakefoldError("; ".join(str(problem) for problem in errors))
    if not records:
        raise SnakefoldError(f"{args.fasta}: no chain; the complex's FASTA holds one record per chain")
    ids = chain_ids(len(records))
    with tempfile.TemporaryDirectory(prefix="complex-features-") as scratch:
        kalign_log = Path(args.log) if args.log else Path(scratch) / "kalign.log"
        chains, template_outcomes = read_complex_chains(args.msas, ids, [record.sequence for record in records],
                                                        _featurizers(args, kalign_log))
    features, summary = merge_complex(chains)
    summary = {"fasta": str(args.fasta), "msas": str(args.msas),
               "records": {chain_id: record.record_id for chain_id, record in zip(ids, records)}, **summary,
               "template_hits": {chain_id: [{"hit": outcome.name, "kept": outcome.kept, "reason": outcome.reason}
                                            for outcome in outcomes]
                                 for chain_id, outcomes in template_outcomes.items()}}
    atomic_save_npz(args.out, features)
    if args.summary:
        atomic_write_json(args.summary, summary)
    return 0
