"""``snakefold templates``: search and featurise the templates of one query sequence.

Two searches, as AlphaFold2 makes them: hhsearch against a PDB70-style ``--database`` (the monomer's,
:mod:`snakefold.templates.search`; hits written to ``--hhr``), or hmmbuild + hmmsearch against
``--pdb-seqres`` (AlphaFold-Multimer's, for a complex's chain: :mod:`snakefold.templates.pdb_seqres`; hits
written to ``--hits`` as hmmsearch's Stockholm, AlphaFold2's ``pdb_hits.sto``).

Writes the AlphaFold2 template features (``--output``, .npz) and the hits, each atomically, and with
``--seal-parts`` seals both as content-keyed cache entries. What became of every hit tried (kept, or why it
was skipped) is appended to ``--log`` with the tools' messages.
"""

from __future__ import annotations

import argparse
import json

from snakefold.common.atomic import atomic_save_npz, atomic_write_text
from snakefold.common.errors import SnakefoldError
from snakefold.common.fasta import read_query_fasta
from snakefold.plan.cache import seal
from snakefold.plan.config import schema_defaults
from snakefold.templates.pdb_seqres import PdbSeqresSettings, search_pdb_seqres
from snakefold.templates.search import TemplateSettings, search_templates, template_filters


def _option(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE (e.g. maxseq=1000000), not {text!r}")
    return name.lstrip("-"), value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = schema_defaults("templates")
    parser.add_argument("--query-fasta", required=True, help="FASTA file holding the one query sequence")
    parser.add_argument("--query-msa", help="search with this MSA (a3m or Stockholm; first row = the query) "
                                            "instead of the sequence alone")
    parser.add_argument("--database", help="HH-suite database prefix (PDB70-style): search with hhsearch")
    parser.add_argument("--pdb-seqres", help="the PDB's pdb_seqres.txt: search with hmmbuild + hmmsearch "
                                             "(AlphaFold-Multimer)")
    parser.add_argument("--mmcif-dir", required=True, help="directory of <pdb id>.cif files")
    parser.add_argument("--obsolete", help="the PDB's obsolete.dat (none: no obsolete entries)")
    parser.add_argument("--max-template-date", default=defaults["max_template_date"], help="YYYY-MM-DD")
    parser.add_argument("--max-hits", type=int, default=defaults["max_hits"])
    parser.add_argument("--max-subsequence-ratio", type=float, default=defaults["max_subsequence_ratio"])
    parser.add_argument("--min-align-ratio", type=float, default=defaults["min_align_ratio"])
    parser.add_argument("--min-template-length", type=int, default=defaults["min_template_length"])
    parser.add_argument("--hhsearch-option", type=_option, action="append", metavar="NAME=VALUE",
                        help="an hhsearch flag and its value (repeatable; replaces the default, maxseq=1000000)")
    parser.add_argument("--timeout-minutes", type=float, required=True,
                        help="stop each search tool after this long (the job's runtime budget)")
    parser.add_argument("--cpus", type=int, default=1)
    parser.add_argument("--output", required=True, help="template features (.npz)")
    parser.add_argument("--hhr", help="the hhsearch result (.hhr), with --database")
    parser.add_argument("--hits", help="hmmsearch's hits (Stockholm, pdb_hits.sto), with --pdb-seqres")
    parser.add_argument("--log", required=True, help="append tool messages and the fate of every hit here")
    parser.add_argument("--seal-parts", help="JSON of the cache key's parts: seal --output and --hhr as cache entries")


def run(args: argparse.Namespace) -> int:
    sequence = read_query_fasta(args.query_fasta)
    options = dict(args.hhsearch_option) if args.hhsearch_option else schema_defaults("templates")["hhsearch_options"]
    filters = template_filters({
        "max_template_date": args.max_template_date, "max_hits": args.max_hits,
        "max_subsequence_ratio": args.max_subsequence_ratio, "min_align_ratio": args.min_align_ratio,
        "min_template_length": args.min_template_length,
    })
    timeout_s = 60.0 * args.timeout_minutes
    if bool(args.database) == bool(args.pdb_seqres) or bool(args.database) != bool(args.hhr) or (
            bool(args.pdb_seqres) != bool(args.hits)):
        raise SnakefoldError("give --database with --hhr (hhsearch) or --pdb-seqres with --hits (hmmsearch)")
    if args.database:
        settings = TemplateSettings(database=args.database, mmcif_dir=args.mmcif_dir, obsolete=args.obsolete,
                                    filters=filters, hhsearch_options=options)
        result = search_templates(sequence, settings, args.log, timeout_s=timeout_s, cpus=args.cpus,
                                  query_msa=args.query_msa)
        hits_path, hits_text = args.hhr, result.hhr
    else:
        seqres = PdbSeqresSettings(pdb_seqres=args.pdb_seqres, mmcif_dir=args.mmcif_dir, obsolete=args.obsolete,
                                   filters=filters)
        result = search_pdb_seqres(sequence, seqres, args.log, timeout_s=timeout_s, cpus=args.cpus,
                                   query_msa=args.query_msa)
        hits_path, hits_text = args.hits, result.hits_sto
    kept = sum(outcome.kept for outcome in result.outcomes)
    with open(args.log, "a", encoding="utf-8") as log:
        log.write(f"# {len(result.outcomes)} hit(s) tried, {kept} kept as templates "
                  f"(max_hits {filters.max_hits}, max_template_date {filters.max_template_date})\n")
        for outcome in result.outcomes:
            log.write(f"{outcome.name.split()[0]}\t{'kept' if outcome.kept else 'skipped'}\t{outcome.reason}\n")
    atomic_write_text(hits_path, hits_text)
    atomic_save_npz(args.output, result.features)
    if args.seal_parts:
        parts = json.loads(args.seal_parts)
        seal(hits_path, parts)
        seal(args.output, parts)
    return 0
