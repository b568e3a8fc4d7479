"""From backbone frames and torsion angles to all heavy atoms, and back from atoms to torsion angles.

Forward (supplement Algorithm 24 "computeAllAtomCoordinates", with Algorithm 25 "makeRotX"): every
residue has eight rigid groups (:mod:`snakefold.common.residue_geometry`). Each group's frame is its
ideal default frame rotated about its x-axis by the group's torsion angle; the chi2..chi4 frames hang
off the previous chi frame, all others off the backbone frame. Each atom is its ideal local position
mapped through its group's global frame: atom14 layout [N, 14, 3], gathered into atom37 [N, 37, 3].

Backward: the seven torsion angles (pre-omega, phi, psi, chi1..chi4) of atom37 coordinates, as
AlphaFold2's template torsion-angle features use them.

Torsion angles are (sin, cos) pairs [..., 7, 2] in the order pre-omega, phi, psi, chi1, chi2, chi3,
chi4; ``aatype`` indexes AlphaFold2's residue order (20 = unknown).
"""

from __future__ import annotations

import jax.numpy as jnp

from snakefold.common import residue_constants as rc
from snakefold.common import residue_geometry as geometry
from snakefold.model.rigid import Rigid, rotation_about_x


def torsion_angles_to_frames(aatype: jnp.ndarray, backbone_frames: Rigid, angles_sin_cos: jnp.ndarray) -> Rigid:
    """Global frames [N, 8] of all rigid groups (Algorithm 24 lines 1-10).

    ``aatype`` [N]; ``backbone_frames`` [N] (Angstrom); ``angles_sin_cos`` [N, 7, 2] (sin, cos).
    """
    default_frames = Rigid(jnp.asarray(geometry.RESTYPE_DEFAULT_FRAME_ROTATIONS)[aatype],
                           jnp.asarray(geometry.RESTYPE_DEFAULT_FRAME_TRANSLATIONS)[aatype])
    # The backbone group does not rotate: prepend the zero angle (sin 0, cos 1).
    num_residues = aatype.shape[0]
    sin_angles = jnp.concatenate([jnp.zeros((num_residues, 1), angles_sin_cos.dtype), angles_sin_cos[..., 0]], -1)
    cos_angles = jnp.concatenate([jnp.ones((num_residues, 1), angles_sin_cos.dtype), angles_sin_cos[..., 1]], -1)
    frames_to_parent = default_frames.compose_rotation(rotation_about_x(sin_angles, cos_angles))

    def group(index: int) -> Rigid:
        return Rigid(frames_to_parent.rotation[:, index], frames_to_parent.translation[:, index])

    chi_frames_to_backbone = [group(geometry.CHI1_GROUP)]
    for chi_group in range(geometry.CHI1_GROUP + 1, geometry.rigid_group_num):
        chi_frames_to_backbone.append(chi_frames_to_backbone[-1].compose(group(chi_group)))
    first_chi = geometry.CHI1_GROUP
    frames_to_backbone = Rigid(
        jnp.concatenate([frames_to_parent.rotation[:, :first_chi]]
                        + [frame.rotation[:, None] for frame in chi_frames_to_backbone], axis=1),
        jnp.concatenate([frames_to_parent.translation[:, :first_chi]]
                        + [frame.translation[:, None] for frame in chi_frames_to_backbone], axis=1))
    backbone = Rigid(backbone_frames.rotation[:, None], backbone_frames.translation[:, None])
    return backbone.compose(frames_to_backbone)


def frames_to_atom14_positions(aatype: jnp.ndarray, group_frames: Rigid) -> jnp.ndarray:
    """Atom14 coordinates [N, 14, 3] from the global rigid-group frames [N, 8] (Algorithm 24 line 11).

    Empty atom14 slots are zero.
    """
    atom_group = jnp.asarray(geometry.RESTYPE_ATOM14_TO_RIGID_GROUP)[aatype]  # [N, 14]
    atom_frames = Rigid(jnp.take_along_axis(group_frames.rotation, atom_group[:, :, None, None], axis=1),
                        jnp.take_along_axis(group_frames.translation, atom_group[:, :, None], axis=1))
    local_positions = jnp.asarray(geometry.RESTYPE_ATOM14_GROUP_POSITIONS)[aatype]  # [N, 14, 3]
    atom_mask = jnp.asarray(geometry.RESTYPE_ATOM14_MASK)[aatype]
    return atom_frames.apply(local_positions) * atom_mask[..., None]


def atom14_to_atom37(atom14_values: jnp.ndarray, residx_atom37_to_atom14: jnp.ndarray,
                     atom37_atom_exists: jnp.ndarray) -> jnp.ndarray:
    """Gather per-atom values [N, 14, ...] into the atom37 layout [N, 37, ...]; absent atoms are zero.

    ``residx_atom37_to_atom14`` [N, 37] and ``atom37_atom_exists`` [N, 37] are the processed features
    of the same names (:func:`snakefold.common.residue_geometry.atom14_atom37_maps`).
    """
    index = residx_atom37_to_atom14.reshape(residx_atom37_to_atom14.shape + (1,) * (atom14_values.ndim - 2))
    atom37_values = jnp.take_along_axis(atom14_values, index, axis=1)
    mask = atom37_atom_exists.reshape(atom37_atom_exists.shape + (1,) * (atom14_values.ndim - 2))
    return atom37_values * mask.astype(atom37_values.dtype)


def atom37_to_torsion_angles(aatype: jnp.ndarray, positions: jnp.ndarray, mask: jnp.ndarray,
                             placeholder_for_undefined: bool = False) -> dict[str, jnp.ndarray]:
    """The seven torsion angles of atom37 coordinates, over any leading batch shape [..., N].

    Args:
      aatype: [..., N] residue types; values above 20 (e.g. the gap, 21) count as unknown.
      positions: [..., N, 37, 3] atom37 coordinates.
      mask: [..., N, 37] 1.0 where the atom is present.
      placeholder_for_undefined: replace angles whose atoms are missing by (sin, cos) = (1, 0).

    Returns a dict with ``torsion_angles_sin_cos`` [..., N, 7, 2]; ``alt_torsion_angles_sin_cos``, the
    same with pi-periodic chi angles turned by 180 degrees (the other naming of their symmetric atoms);
    and ``torsion_angles_mask`` [..., N, 7], 1.0 where all four defining atoms are present.

    Each angle is read as the position of its fourth atom in the frame of the first three
    (:meth:`Rigid.from_three_points`). Pre-omega is (CA, C) of the previous residue with (N, CA);
    phi is C(i-1), N, CA, C; psi is measured on N, CA, C, O and turned by 180 degrees, since O is
    anti to the next residue's N. The first residue has no previous one: its pre-omega and phi are
    undefined.
    """
    aatype = jnp.minimum(aatype, rc.unknown_restype_index)
    n, ca, c, o = (rc.atom_order[name] for name in ("N", "CA", "C", "O"))

    def previous_residue(values: jnp.ndarray, residue_axis: int) -> jnp.ndarray:
        padding = [(0, 0)] * values.ndim
        padding[residue_axis] = (1, 0)
        shifted = jnp.pad(values, padding)
        return jnp.take(shifted, jnp.arange(values.shape[residue_axis]), axis=residue_axis)

    previous_positions = previous_residue(positions, -3)
    previous_mask = previous_residue(mask, -2)

    backbone_atoms = jnp.stack([
        jnp.stack([previous_positions[..., ca, :], previous_positions[..., c, :], positions[..., n, :],
                   positions[..., ca, :]], axis=-2),  # pre-omega
        jnp.stack([previous_positions[..., c, :], positions[..., n, :], positions[..., ca, :],
                   positions[..., c, :]], axis=-2),  # phi
        jnp.stack([positions[..., n, :], positions[..., ca, :], positions[..., c, :],
                   positions[..., o, :]], axis=-2),  # psi
    ], axis=-3)  # [..., N, 3, 4, 3]
    backbone_mask = jnp.stack([
        previous_mask[..., ca] * previous_mask[..., c] * mask[..., n] * mask[..., ca],
        previous_mask[..., c] * mask[..., n] * mask[..., ca] * mask[..., c],
        mask[..., n] * mask[..., ca] * mask[..., c] * mask[..., o],
    ], axis=-1)  # [..., N, 3]

    chi_atom_indices = jnp.asarray(geometry.RESTYPE_CHI_ATOM37_INDICES)[aatype]  # [..., N, 4, 4]
    flat_indices = chi_atom_indices.reshape(chi_atom_indices.shape[:-2] + (16,))
    chi_atoms = jnp.take_along_axis(positions, flat_indices[..., None], axis=-2)
    chi_atoms = chi_atoms.reshape(chi_atom_indices.shape + (3,))  # [..., N, 4, 4, 3]
    chi_atoms_present = jnp.take_along_axis(mask, flat_indices, axis=-1).reshape(chi_atom_indices.shape)
    chi_mask = jnp.asarray(geometry.RESTYPE_CHI_ANGLES_MASK)[aatype] * jnp.prod(chi_atoms_present, axis=-1)

    torsion_atoms = jnp.concatenate([backbone_atoms, chi_atoms], axis=-3)  # [..., N, 7, 4, 3]
    torsion_mask = jnp.concatenate([backbone_mask, chi_mask], axis=-1).astype(positions.dtype)

    frames = Rigid.from_three_points(point_on_neg_x_axis=torsion_atoms[..., 1, :], origin=torsion_atoms[..., 2, :],
                                     point_on_xy_plane=torsion_atoms[..., 0, :])
    fourth_atom = frames.invert().apply(torsion_atoms[..., 3, :])
    sin_cos = jnp.stack([fourth_atom[..., 2], fourth_atom[..., 1]], axis=-1)
    sin_cos = sin_cos / jnp.sqrt(jnp.sum(jnp.square(sin_cos), axis=-1, keepdims=True) + 1e-8)
    psi_turn = jnp.array([1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0], sin_cos.dtype)
    sin_cos = sin_cos * psi_turn[:, None]

    chi_turn = 1.0 - 2.0 * jnp.asarray(geometry.RESTYPE_CHI_PI_PERIODIC)[aatype]
    alt_turn = jnp.concatenate([jnp.ones(chi_turn.shape[:-1] + (3,), chi_turn.dtype), chi_turn], axis=-1)
    alt_sin_cos = sin_cos * alt_turn[..., None].astype(sin_cos.dtype)

    if placeholder_for_undefined:
        placeholder = jnp.array([1.0, 0.0], sin_cos.dtype)
        keep = torsion_mask[..., None]
        sin_cos = sin_cos * keep + placeholder * (1.0 - keep)
        alt_sin_cos = alt_sin_cos * keep + placeholder * (1.0 - keep)
    return {"torsion_angles_sin_cos": sin_cos, "alt_torsion_angles_sin_cos": alt_sin_cos,
            "torsion_angles_mask": torsion_mask}
