"""``snakefold relax``: relax one model with OpenMM and write the relaxed PDB and its metrics JSON.

The model is either given directly (``snakefold relax unrelaxed.pdb ...``) or picked by rank (``--scores
S.json ... --metric M --rank I``: the model runs whose scores are given, ranked by M
(:mod:`snakefold.common.ranking`), and the I-th best, counted from 0, read from ``unrelaxed.pdb`` beside its
scores), as the workflow's relax rule does. Settings default to the ``relax``
section of the config schema (workflow/schemas/relax.schema.yaml).

A minimisation that fails on every attempt (AlphaFold2's "Minimization failed after 100 attempts") does not
fail the job: the unrelaxed model is written as the output, with a REMARK saying why, and the metrics JSON
says ``"relaxed": false`` with the reason (``failure``); the report ranks and writes that model as
unrelaxed. Any other error (an unreadable model, a wrong ranking) fails the job with its message.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from snakefold.common.atomic import atomic_write_json, atomic_write_text
from snakefold.common.errors import SnakefoldError
from snakefold.common.intermediates import seal, verify_intermediate
from snakefold.common.protein import from_structure_file, to_pdb
from snakefold.common.ranking import METRICS
from snakefold.plan.config import schema_defaults
from snakefold.relax.platforms import PLATFORM_PREFERENCE
from snakefold.relax.relax import RelaxationError, RelaxSettings, relax_protein
from snakefold.report.predictions import rank_model_runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", type=Path, help="unrelaxed model (PDB or mmCIF); or use --scores")
    parser.add_argument("--scores", nargs="+", type=Path,
                        help="scores.json of every model run of the sequence, each beside its unrelaxed.pdb")
    parser.add_argument("--metric", choices=METRICS, default="plddt", help="what the runs are ranked by (--scores)")
    parser.add_argument("--rank", type=int, help="which ranked model to relax, counted from 0 (with --scores)")
    parser.add_argument("--output", type=Path, required=True, help="relaxed structure (PDB) to write")
    parser.add_argument("--metrics", type=Path, required=True, help="metrics JSON to write")
    parser.add_argument("--platform", choices=("auto", *PLATFORM_PREFERENCE), help="OpenMM platform (config default)")
    parser.add_argument("--stiffness", type=float, help="restraint spring constant, kcal/mol/A^2")
    parser.add_argument("--tolerance", type=float, help="minimiser tolerance, kcal/mol/nm")
    parser.add_argument("--max-iterations", type=int, help="L-BFGS iterations per round, 0 = no cap")
    parser.add_argument("--max-outer-iterations", type=int, help="rounds after the first that release violations")
    parser.add_argument("--max-attempts", type=int, help="minimisation attempts per round")
    parser.add_argument("--threads", type=int, help="CPU platform threads (default: OpenMM decides)")


def _ranked_model(scores: list[Path], metric: str, rank: int) -> tuple[str, Path]:
    ranking = rank_model_runs(scores, metric)
    if not 0 <= rank < len(ranking.order):
        raise SnakefoldError(f"rank {rank} requested, but {len(ranking.order)} model run(s) were given")
    name = ranking.order[rank]
    return name, ranking.directories[name] / "unrelaxed.pdb"


def _settings(args: argparse.Namespace) -> RelaxSettings:
    section = schema_defaults("relax")
    for key in ("platform", "stiffness", "tolerance", "max_iterations", "max_outer_iterations", "max_attempts"):
        if getattr(args, key) is not None:
            section[key] = getattr(args, key)
    return RelaxSettings.from_config(section, threads=args.threads)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="snakefold relax: %(message)s", stream=sys.stderr)
    if args.scores is not None:
        if args.rank is None or args.input is not None:
            raise SnakefoldError("--scores needs --rank, and no INPUT")
        model_name, path = _ranked_model(args.scores, args.metric, args.rank)
    elif args.input is not None:
        model_name, path = args.input.name.split(".")[0], args.input
    else:
        raise SnakefoldError("give the unrelaxed model as INPUT, or --scores, --metric and --rank")
    settings = _settings(args)
    unrelaxed = from_structure_file(verify_intermediate(path, "the unrelaxed model"))
    started = time.perf_counter()
    try:
        result = relax_protein(unrelaxed, settings)
    except RelaxationError as error:
        _keep_unrelaxed(args, model_name, path, unrelaxed, f"relaxation failed: {error}", started)
        return 0
    except SnakefoldError as error:
        raise SnakefoldError(f"model {model_name} ({path}): {error}") from None
    metrics = result.metrics
    after = metrics["violations_after"]["violating_residues"]
    remarks = (f"relaxed by snakefold: amber99sb, {metrics['platform']}, model {model_name}"[:69],
               "B-factor column as in the unrelaxed model (pLDDT for predictions)")
    atomic_write_text(args.output, to_pdb(result.relaxed, remarks=remarks))
    atomic_write_json(args.metrics, {"model": model_name, "unrelaxed": str(path), "relaxed": True,
                                     "output": str(args.output), **metrics})
    seal(args.output, args.metrics)
    logging.getLogger("snakefold.relax").info(
        "model %s: energy %.1f -> %.1f kcal/mol, heavy-atom RMSD %.3f A, violating residues %d -> %d, %.1f s",
        model_name, metrics["initial_energy_kcal_per_mol"], metrics["final_energy_kcal_per_mol"],
        metrics["heavy_atom_rmsd_to_unrelaxed_angstrom"], metrics["violations_before"]["violating_residues"],
        after, metrics["wall_time_s"])
    return 0


def _keep_unrelaxed(args: argparse.Namespace, model_name: str, path: Path, unrelaxed, failure: str,
                    started: float) -> None:
    """Write the unrelaxed model as the output, and metrics that say relaxation failed and why."""
    remarks = (f"NOT relaxed by snakefold: model {model_name}"[:69], failure[:69],
               "B-factor column as in the unrelaxed model (pLDDT for predictions)")
    atomic_write_text(args.output, to_pdb(unrelaxed, remarks=remarks))
    atomic_write_json(args.metrics, {"model": model_name, "unrelaxed": str(path), "relaxed": False,
                                     "output": str(args.output), "failure": failure,
                                     "wall_time_s": round(time.perf_counter() - started, 3)})
    seal(args.output, args.metrics)
    logging.getLogger("snakefold.relax").warning("model %s: %s; the unrelaxed model is kept", model_name, failure)
