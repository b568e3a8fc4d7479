"""``snakefold report``: write one target's user-facing outputs from its sequence's model runs.

    snakefold report --record ubiquitin.json --metric plddt \
        --scores results/_work/<seq>/predictions/*/scores.json --features <features.npz> \
        --out-dir results/ubiquitin [--relaxed results/_work/<seq>/relaxed/rank_0.pdb ...]

The model runs are ranked by ``--metric`` from their scores (:mod:`snakefold.common.ranking`). The target's
name, FASTA record ID, description and sequence come from its record file (the workflow hands it over as
``<(printf '%s' <record>)``: :mod:`snakefold.common.target_record`), never from command-line words.
"""

from __future__ import annotations

import argparse

from snakefold.common.ranking import METRICS
from snakefold.common.target_record import read_target_record
from snakefold.report.predictions import rank_model_runs
from snakefold.report.target_report import write_target_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", required=True, help="the target's record (a JSON file)")
    parser.add_argument("--scores", nargs="+", required=True,
                        help="scores.json of every model run of the target's sequence (in their predictions/<model>/)")
    parser.add_argument("--metric", choices=METRICS, default="plddt",
                        help="what the runs are ranked by: plddt (mean pLDDT), ptm, or iptm+ptm (complexes)")
    parser.add_argument("--features", required=True, help="the sequence's raw features (.npz, for the MSA plot)")
    parser.add_argument("--out-dir", required=True, help="where the target's files are written")
    parser.add_argument("--relaxed", nargs="*", default=[], metavar="RANK_PDB",
                        help="relaxed models, named rank_<i>.pdb, that replace the unrelaxed rank i")
    parser.add_argument("--benchmarks",
                        help="directory of Snakemake benchmark files (<rule>/...tsv) to read timings from")
    parser.add_argument("--dpi", type=int, default=100, help="resolution of the PNG figures")


def run(args: argparse.Namespace) -> int:
    target = read_target_record(args.record)
    document = write_target_report(target, rank_model_runs(args.scores, args.metric), args.features, args.out_dir,
                                   args.relaxed, args.benchmarks, args.dpi)
    best = document["models"][0]
    print(f"{target.name}: {len(document['models'])} model(s); best {best['model']} "
          f"(mean pLDDT {best['mean_plddt']:.1f}{', relaxed' if best['relaxed'] else ''})")
    if document["warning"]:
        print(f"{target.name}: warning: {document['warning']}")
    return 0
