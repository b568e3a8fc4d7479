"""Restrained Amber energy minimisation of one protein with OpenMM (AlphaFold2 relaxation, one round).

Preparation (:func:`prepare`): the atom37 heavy atoms are written as PDB with one TER-ended chain per
unbroken segment: each chain of a complex, split further at chain breaks (missing residues), so that every
segment gets its own termini (NH3+, and COO- with an OXT placed by mirroring O through the CA-C axis) and
no peptide bond joins two segments; pdbfixer adds the other missing heavy atoms (incomplete side chains;
never missing residues) and hydrogens at pH 7. The only bonds between chains are disulfide bonds, which
OpenMM makes between any two cysteine SG atoms closer than 3 A, in a complex as within a chain (as in
AlphaFold2, whose relaxation uses the same OpenMM topology rules).

Minimisation (:func:`minimize`): the amber99sb force field in vacuum (no cutoff), bonds to hydrogen
constrained, plus a harmonic restraint E = 0.5 k |x - x0|^2 on every heavy atom of the residues not
released, x0 being the positions at the start of the round; OpenMM's L-BFGS minimiser runs until the
root-mean-square force falls below ``tolerance`` or ``max_iterations`` is reached (0 = no cap). Energies
are reported in kcal/mol for the force field alone (force group 0) and for the restraints (group 1).

Positions here are numpy arrays [N, 3] in Angstrom over all N atoms of the OpenMM topology (hydrogens
included); :class:`PreparedStructure` maps its heavy atoms back to atom37 slots.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import random
import string

import numpy as np
import openmm
from openmm import app, unit

from snakefold.common import residue_constants as rc
from snakefold.common.errors import SnakefoldError
from snakefold.common.protein import Protein, peptide_bond_mask, to_pdb
from snakefold.relax.platforms import PlatformChoice

_KCAL_PER_KJ = 1.0 / 4.184
_FORCE_FIELD_GROUP, _RESTRAINT_GROUP = 0, 1
_SEGMENT_IDS = string.ascii_uppercase + string.ascii_lowercase + string.digits


class MinimizationError(Exception):
    """One minimisation attempt failed (OpenMM error, or non-finite energies or positions)."""


@dataclasses.dataclass(frozen=True)
class PreparedStructure:
    """The protein with hydrogens and missing heavy atoms, ready for OpenMM."""

    topology: app.Topology
    positions: np.ndarray  # [N, 3] Angstrom, all atoms
    residue_of_atom: np.ndarray  # [N] int: position in the Protein of each atom's residue
    atom37_slot: np.ndarray  # [N] int: atom37 slot of each heavy atom, -1 for hydrogens
    added_heavy_atoms: tuple[str, ...]  # "A:12 OXT" for each heavy atom the input lacked

    @property
    def is_heavy(self) -> np.ndarray:
        return self.atom37_slot >= 0


@dataclasses.dataclass(frozen=True)
class MinimizationResult:
    positions: np.ndarray  # [N, 3] Angstrom
    initial_energy: float  # kcal/mol, force field only
    final_energy: float  # kcal/mol, force field only
    final_restraint_energy: float  # kcal/mol
    restrained_atoms: int


@functools.lru_cache(maxsize=1)
def _force_field() -> app.ForceField:
    return app.ForceField("amber99sb.xml")


def _segments(protein: Protein) -> np.ndarray:
    """[L] int: the unbroken segment of each residue, counted from 0 (a new one at each chain and each break)."""
    breaks = np.concatenate([[True], ~peptide_bond_mask(protein)])
    segment = np.cumsum(breaks) - 1
    lengths = np.bincount(segment)
    if (lengths == 1).any():
        lonely = [protein.residue_label(int(np.flatnonzero(segment == index)[0]))
                  for index in np.flatnonzero(lengths == 1)]
        raise SnakefoldError(f"residue(s) {', '.join(lonely)} form chain segments of a single residue, which "
                             f"the Amber force field cannot terminate at both ends; relaxation needs segments "
                             f"of at least two residues")
    return segment


def _with_terminal_oxygens(protein: Protein, segment: np.ndarray) -> Protein:
    """``protein`` with an OXT on each segment's C-terminal residue that lacks one and has CA, C and O.

    OXT is O mirrored through the CA-C axis (the two carboxylate oxygens are equivalent), in the plane of
    CA, C and O. pdbfixer's own placement, refined by a minimisation of the added atoms alone, can put
    OXT between CA and O when the terminal geometry is distorted, a local minimum the relaxation keeps.
    """
    last_of_segment = np.flatnonzero(np.diff(np.append(segment, segment[-1] + 1)))
    ca, c, o, oxt = (rc.atom_order[name] for name in ("CA", "C", "O", "OXT"))
    present = protein.atom_mask > 0.5
    ends = last_of_segment[present[last_of_segment][:, [ca, c, o]].all(axis=1) & ~present[last_of_segment, oxt]]
    if not len(ends):
        return protein
    positions = protein.atom_positions.astype(np.float64)
    axis = positions[ends, c] - positions[ends, ca]
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    carbonyl = positions[ends, o] - positions[ends, c]
    along = np.sum(carbonyl * axis, axis=-1, keepdims=True) * axis
    atom_positions, atom_mask = protein.atom_positions.copy(), protein.atom_mask.copy()
    atom_positions[ends, oxt] = positions[ends, c] + 2.0 * along - carbonyl
    atom_mask[ends, oxt] = 1.0
    return dataclasses.replace(protein, atom_positions=atom_positions, atom_mask=atom_mask)


def _segmented_pdb(protein: Protein, segment: np.ndarray) -> str:
    """PDB text of ``protein`` with one chain per unbroken ``segment`` [L] and residues numbered 1..n in each.

    Each segment is its own chain, ended by TER: OpenMM gives every one its own N- and C-terminus and never
    a peptide bond to the next, between the chains of a complex as at a break within a chain.
    """
    lengths = np.bincount(segment)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    numbering = np.arange(protein.num_residues) - starts[segment] + 1
    segment_ids = tuple(_SEGMENT_IDS[index % len(_SEGMENT_IDS)] for index in range(len(lengths)))
    segmented = dataclasses.replace(protein, residue_index=numbering, chain_index=segment, chain_ids=segment_ids)
    return to_pdb(segmented)


def _check_relaxable(protein: Protein) -> None:
    unknown = [protein.residue_label(position) for position in np.flatnonzero(protein.aatype >= rc.restype_num)]
    if unknown:
        raise SnakefoldError(f"residue(s) {', '.join(unknown[:10])} are of unknown type; relaxation needs the "
                             f"twenty standard amino acids")
    backbone = [rc.atom_order[name] for name in ("N", "CA", "C")]
    incomplete = np.flatnonzero((protein.atom_mask[:, backbone] < 0.5).any(axis=1))
    if len(incomplete):
        labels = ", ".join(protein.residue_label(position) for position in incomplete[:10])
        raise SnakefoldError(f"residue(s) {labels} lack backbone atoms (N, CA or C); relaxation needs a complete "
                             f"backbone")


def prepare(protein: Protein) -> PreparedStructure:
    """Add terminal OXT atoms, other missing heavy atoms and hydrogens; map every OpenMM atom back to the protein."""
    import pdbfixer

    _check_relaxable(protein)
    # The Reference platform for pdbfixer's own minimisation of added atoms too: the result must not depend
    # on the node's core count.
    reference_platform = openmm.Platform.getPlatformByName("Reference")
    segment = _segments(protein)
    terminated = _with_terminal_oxygens(protein, segment)
    fixer = pdbfixer.PDBFixer(pdbfile=io.StringIO(_segmented_pdb(terminated, segment)), platform=reference_platform)
    fixer.missingResidues = {}
    fixer.findMissingAtoms()
    fixer.addMissingAtoms(seed=0)
    # OpenMM places new hydrogens with Python's global random generator and then minimises them on a
    # platform: seed the generator (the caller's state is restored afterwards) and minimise on the Reference
    # platform, whose sums do not depend on threads, so that preparation, and with it the whole
    # relaxation, is reproducible from one process to the next.
    modeller = app.Modeller(fixer.topology, fixer.positions)
    random_state = random.getstate()
    random.seed(0)
    try:
        modeller.addHydrogens(pH=7.0, platform=reference_platform)
    finally:
        random.setstate(random_state)

    residues = list(modeller.topology.residues())
    if len(residues) != protein.num_residues:
        raise SnakefoldError(f"pdbfixer returned {len(residues)} residues for a protein of "
                             f"{protein.num_residues}; cannot map the relaxed structure back")
    residue_of_atom, atom37_slot, added = [], [], []
    for position, residue in enumerate(residues):
        for atom in residue.atoms():
            residue_of_atom.append(position)
            if atom.element is not None and atom.element.symbol == "H":
                atom37_slot.append(-1)
                continue
            if atom.name not in rc.atom_order:
                raise SnakefoldError(f"pdbfixer produced heavy atom {atom.name} in residue "
                                     f"{protein.residue_label(position)}, which has no atom37 slot")
            slot = rc.atom_order[atom.name]
            atom37_slot.append(slot)
            if protein.atom_mask[position, slot] < 0.5:
                added.append(f"{protein.residue_label(position)} {atom.name}")
    positions = np.array(modeller.positions.value_in_unit(unit.angstrom), dtype=np.float64)
    return PreparedStructure(topology=modeller.topology, positions=positions,
                             residue_of_atom=np.array(residue_of_atom), atom37_slot=np.array(atom37_slot),
                             added_heavy_atoms=tuple(added))


def _restrained_system(structure: PreparedStructure, reference: np.ndarray, stiffness: float,
                       released_residues: set[int]) -> tuple[openmm.System, int]:
    system = _force_field().createSystem(structure.topology, nonbondedMethod=app.NoCutoff,
                                         constraints=app.HBonds)
    for force in system.getForces():
        force.setForceGroup(_FORCE_FIELD_GROUP)
    restrained = 0
    if stiffness > 0:
        restraint = openmm.CustomExternalForce("0.5 * k * ((x - x0)^2 + (y - y0)^2 + (z - z0)^2)")
        # kcal/mol/A^2 -> kJ/mol/nm^2
        restraint.addGlobalParameter("k", stiffness * 4.184 * 100.0)
        for name in ("x0", "y0", "z0"):
            restraint.addPerParticleParameter(name)
        for index in np.flatnonzero(structure.is_heavy):
            if int(structure.residue_of_atom[index]) not in released_residues:
                restraint.addParticle(int(index), (reference[index] / 10.0).tolist())
                restrained += 1
        restraint.setForceGroup(_RESTRAINT_GROUP)
        system.addForce(restraint)
    return system, restrained


def _energy(context: openmm.Context, group: int) -> float:
    state = context.getState(getEnergy=True, groups={group})
    return state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) * _KCAL_PER_KJ


def minimize(structure: PreparedStructure, positions: np.ndarray, platform: PlatformChoice, *, stiffness: float,
             tolerance: float, max_iterations: int, released_residues: set[int]) -> MinimizationResult:
    """One restrained minimisation from ``positions`` [N, 3] (A); restraints pull towards ``positions``.

    ``stiffness`` in kcal/mol/A^2, ``tolerance`` in kcal/mol/nm (root-mean-square force), ``max_iterations``
    0 for no cap; heavy atoms of ``released_residues`` (protein positions) are not restrained.
    Raises :class:`MinimizationError` when OpenMM fails or the starting or final energy is not finite.
    """
    system, restrained = _restrained_system(structure, positions, stiffness, released_residues)
    try:
        context = openmm.Context(system, openmm.VerletIntegrator(0.001), platform.platform, platform.properties)
        context.setPositions((positions / 10.0).tolist())
        initial = _energy(context, _FORCE_FIELD_GROUP), _energy(context, _RESTRAINT_GROUP)
        if not np.isfinite(initial).all():
            raise MinimizationError("the starting energy is not finite (atoms on top of each other?)")
        openmm.LocalEnergyMinimizer.minimize(context, tolerance * 4.184, max_iterations)
        final = _energy(context, _FORCE_FIELD_GROUP), _energy(context, _RESTRAINT_GROUP)
        state = context.getState(getPositions=True)
        minimized = np.array(state.getPositions(asNumpy=True).value_in_unit(unit.angstrom), dtype=np.float64)
    except openmm.OpenMMException as error:
        raise MinimizationError(f"OpenMM: {str(error).strip()}") from None
    if not (np.isfinite(minimized).all() and np.isfinite(final).all()):
        raise MinimizationError(f"minimisation produced non-finite energies or positions "
                                f"(final energy {final[0]} kcal/mol)")
    return MinimizationResult(positions=minimized, initial_energy=initial[0], final_energy=final[0],
                              final_restraint_energy=final[1], restrained_atoms=restrained)


def heavy_atoms_to_protein(structure: PreparedStructure, positions: np.ndarray, template: Protein) -> Protein:
    """``template`` with its atoms replaced by the heavy atoms of ``positions`` [N, 3] in atom37 slots.

    Atoms added in preparation (OXT, missing side-chain atoms) are added to the mask; they take the B-factor
    of their residue's CA (pLDDT for predictions). Residue numbers, chain IDs and the other B-factors stay.
    """
    heavy = np.flatnonzero(structure.is_heavy)
    rows, slots = structure.residue_of_atom[heavy], structure.atom37_slot[heavy]
    atom_positions = np.zeros_like(template.atom_positions)
    atom_mask = np.zeros_like(template.atom_mask)
    b_factors = np.zeros_like(template.b_factors)
    atom_positions[rows, slots] = positions[heavy]
    atom_mask[rows, slots] = 1.0
    new = template.atom_mask[rows, slots] < 0.5
    b_factors[rows, slots] = np.where(new, template.b_factors[rows, rc.atom_order["CA"]],
                                      template.b_factors[rows, slots])
    return dataclasses.replace(template, atom_positions=atom_positions, atom_mask=atom_mask, b_factors=b_factors)
