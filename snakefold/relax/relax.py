"""Iterative restrained relaxation of a predicted structure (AlphaFold2's Amber relaxation protocol).

1. Check the unrelaxed model for structural violations (:mod:`snakefold.relax.violations`).
2. Add missing heavy atoms and hydrogens (:func:`snakefold.relax.amber.prepare`).
3. Round 1: minimise the amber99sb energy with every heavy atom harmonically restrained to its start
   position (:func:`snakefold.relax.amber.minimize`), then check violations again.
4. While violations remain, up to ``max_outer_iterations`` further rounds: release the restraints of
   every residue that has violated so far and minimise again from the current positions.

A minimisation that fails (an OpenMM error, non-finite energies) is retried up to ``max_attempts`` times
per round, each retry from the same positions with a seeded random displacement of 0.02 A rms per
coordinate, which separates exactly overlapping atoms; when all attempts fail, :class:`RelaxationError`
says so. The relaxed protein keeps the input's residue numbers, chain IDs and B-factors (pLDDT); atoms
added in preparation take their residue's CA B-factor. Complexes are relaxed as one system whose chains
share no bond but disulfides (:mod:`snakefold.relax.amber`); each chain's C-terminus gets its OXT.
Energies are in kcal/mol (force field alone), RMSD in A over the input's heavy atoms without
superposition (restraints keep the frame).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import Protein
from snakefold.relax import amber
from snakefold.relax.platforms import PlatformChoice, choose_platform
from snakefold.relax.violations import find_violations

LOGGER = logging.getLogger("snakefold.relax")

#: Random displacement (A, per coordinate) applied before each retried minimisation.
RETRY_DISPLACEMENT = 0.02


class RelaxationError(SnakefoldError):
    """Minimisation failed on every attempt."""


@dataclasses.dataclass(frozen=True)
class RelaxSettings:
    """The ``relax`` config section as the relaxation uses it (defaults live in relax.schema.yaml)."""

    stiffness: float  # kcal/mol/A^2 on heavy atoms
    tolerance: float  # kcal/mol/nm, root-mean-square force at which L-BFGS stops
    max_iterations: int  # L-BFGS iterations per round, 0 = no cap
    max_outer_iterations: int  # rounds after the first that release violating residues
    max_attempts: int  # minimisation attempts per round
    platform: str  # auto, CUDA, OpenCL or CPU
    threads: int | None = None  # CPU platform threads (None: OpenMM decides)

    @classmethod
    def from_config(cls, section: dict[str, Any], threads: int | None = None) -> "RelaxSettings":
        return cls(stiffness=float(section["stiffness"]), tolerance=float(section["tolerance"]),
                   max_iterations=int(section["max_iterations"]),
                   max_outer_iterations=int(section["max_outer_iterations"]),
                   max_attempts=int(section["max_attempts"]), platform=str(section["platform"]), threads=threads)


@dataclasses.dataclass(frozen=True)
class RelaxResult:
    relaxed: Protein
    metrics: dict[str, Any]  # JSON-ready: energies, RMSD, violations, attempts, rounds, platform, wall time


def heavy_atom_rmsd(first: Protein, second: Protein) -> float:
    """RMSD (A) over heavy atoms present in both, in place (no superposition)."""
    shared = (first.atom_mask > 0.5) & (second.atom_mask > 0.5)
    difference = first.atom_positions[shared].astype(np.float64) - second.atom_positions[shared]
    return float(np.sqrt(np.mean(np.sum(difference**2, axis=-1)))) if shared.any() else 0.0


def _minimize_with_retries(structure: amber.PreparedStructure, positions: np.ndarray, platform: PlatformChoice,
                           settings: RelaxSettings, released: set[int],
                           round_number: int) -> tuple[amber.MinimizationResult, int]:
    failures = []
    for attempt in range(1, settings.max_attempts + 1):
        start = positions
        if attempt > 1:
            rng = np.random.default_rng([round_number, attempt])
            start = positions + rng.normal(scale=RETRY_DISPLACEMENT, size=positions.shape)
        try:
            result = amber.minimize(structure, start, platform, stiffness=settings.stiffness,
                                    tolerance=settings.tolerance, max_iterations=settings.max_iterations,
                                    released_residues=released)
            return result, attempt
        except amber.MinimizationError as error:
            LOGGER.warning("round %d, attempt %d of %d failed: %s", round_number, attempt, settings.max_attempts,
                           error)
            failures.append(f"attempt {attempt}: {error}")
    advice = "raise relax.max_attempts" + ("" if platform.name == "CPU" else " or set relax.platform: CPU")
    raise RelaxationError(f"energy minimisation failed in round {round_number} after {settings.max_attempts} "
                          f"attempt(s) on {platform.name} ({'; '.join(failures[-3:])}). The model may have "
                          f"badly overlapping atoms; {advice}")


def relax_protein(protein: Protein, settings: RelaxSettings) -> RelaxResult:
    """Relax ``protein`` (the protocol in the module docstring); raises RelaxationError when it cannot."""
    started = time.perf_counter()
    platform = choose_platform(settings.platform, settings.threads)
    LOGGER.info("relaxing %d residues on %s", protein.num_residues, platform.describe())
    violations_before = find_violations(protein)
    structure = amber.prepare(protein)
    if structure.added_heavy_atoms:
        LOGGER.info("added %d missing heavy atom(s): %s", len(structure.added_heavy_atoms),
                    ", ".join(structure.added_heavy_atoms[:20]))

    positions = structure.positions
    released: set[int] = set()
    rounds = []
    total_attempts = 0
    for round_number in range(1, settings.max_outer_iterations + 2):
        round_start = time.perf_counter()
        result, attempts = _minimize_with_retries(structure, positions, platform, settings, released, round_number)
        total_attempts += attempts
        positions = result.positions
        relaxed = amber.heavy_atoms_to_protein(structure, positions, protein)
        violations = find_violations(relaxed)
        rounds.append({
            "round": round_number,
            "released_residues": [protein.residue_label(position) for position in sorted(released)],
            "restrained_heavy_atoms": result.restrained_atoms,
            "attempts": attempts,
            "initial_energy_kcal_per_mol": result.initial_energy,
            "final_energy_kcal_per_mol": result.final_energy,
            "final_restraint_energy_kcal_per_mol": result.final_restraint_energy,
            "violating_residues": violations.num_violating_residues,
            "wall_time_s": round(time.perf_counter() - round_start, 3),
        })
        LOGGER.info("round %d: energy %.1f -> %.1f kcal/mol, %d violating residue(s), %d attempt(s)",
                    round_number, result.initial_energy, result.final_energy, violations.num_violating_residues,
                    attempts)
        if violations.num_violating_residues == 0:
            break
        released |= {int(position) for position in np.flatnonzero(violations.per_residue)}

    metrics = {
        "initial_energy_kcal_per_mol": rounds[0]["initial_energy_kcal_per_mol"],
        "final_energy_kcal_per_mol": rounds[-1]["final_energy_kcal_per_mol"],
        "heavy_atom_rmsd_to_unrelaxed_angstrom": heavy_atom_rmsd(protein, relaxed),
        "violations_before": violations_before.summary(protein),
        "violations_after": violations.summary(relaxed),
        "attempts": total_attempts,
        "rounds": rounds,
        "platform": platform.name,
        "platform_choice": platform.describe(),
        "added_heavy_atoms": list(structure.added_heavy_atoms),
        "settings": {"stiffness_kcal_per_mol_per_angstrom2": settings.stiffness,
                     "tolerance_kcal_per_mol_per_nm": settings.tolerance,
                     "max_iterations": settings.max_iterations,
                     "max_outer_iterations": settings.max_outer_iterations,
                     "max_attempts": settings.max_attempts, "platform": settings.platform,
                     "threads": settings.threads},
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    return RelaxResult(relaxed=relaxed, metrics=metrics)
