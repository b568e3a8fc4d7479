"""``snakefold compare MODEL REFERENCE``: print (and optionally write as JSON) how close a model is to a reference.

Both files may be PDB or mmCIF, gzip-compressed or not. Residues are paired by sequence alignment, so
residue numbering and chain names need not agree; with several chains, chains pair in order, or choose one
of each with ``--model-chain`` / ``--reference-chain``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from snakefold.common.atomic import atomic_write_json
from snakefold.common.protein import from_structure_file
from snakefold.metrics.compare import compare_structures

_ROWS = (
    ("paired_residues", "paired residues", "{:d}"),
    ("identical_paired_residues", "identical paired residues", "{:d}"),
    ("rmsd_ca", "RMSD CA (A)", "{:.3f}"),
    ("rmsd_heavy", "RMSD heavy atoms (A)", "{:.3f}"),
    ("tm_score", "TM-score (sequence pairing)", "{:.4f}"),
    ("tm_align_score", "TM-score (TM-align)", "{:.4f}"),
    ("gdt_ts", "GDT-TS", "{:.2f}"),
    ("gdt_ha", "GDT-HA", "{:.2f}"),
    ("lddt_ca", "lDDT-CA", "{:.4f}"),
    ("lddt_all_atom", "lDDT all atoms", "{:.4f}"),
    ("dssp_agreement", "DSSP agreement", "{:.3f}"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="model structure (PDB or mmCIF, .gz accepted)")
    parser.add_argument("reference", type=Path, help="reference structure (PDB or mmCIF, .gz accepted)")
    parser.add_argument("--model-chain", help="chain of the model to compare (default: all, paired in order)")
    parser.add_argument("--reference-chain", help="chain of the reference to compare (default: all)")
    parser.add_argument("--model-number", type=int, default=0,
                        help="which model of a multi-model (NMR) model file, counted from 0 (default 0)")
    parser.add_argument("--reference-model-number", type=int, default=0,
                        help="which model of a multi-model reference file, counted from 0 (default 0)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the metrics to this JSON file")


def run(args: argparse.Namespace) -> int:
    model = from_structure_file(args.model, chain_id=args.model_chain, model=args.model_number)
    reference = from_structure_file(args.reference, chain_id=args.reference_chain, model=args.reference_model_number)
    metrics = compare_structures(model, reference)
    print(f"model      {args.model} ({model.num_residues} residues, chains {' '.join(model.chain_ids)})")
    print(f"reference  {args.reference} ({reference.num_residues} residues, chains {' '.join(reference.chain_ids)})")
    for key, label, form in _ROWS:
        print(f"{label:<28} {form.format(metrics[key])}")
    if args.json:
        atomic_write_json(args.json, {"model": str(args.model), "reference": str(args.reference), **metrics})
    return 0
