"""Rigid transformations (rotation + translation) of 3D points, the frames of the structure module.

A :class:`Rigid` T = (R, t) maps a point x given in its local frame to global coordinates R x + t
(a Euclidean transform of the AlphaFold2 supplement). It is used for the residue backbone frames
(Algorithms 20-23), the rigid-group frames of the side chains (Algorithm 24) and torsion-angle
measurement. Shapes: ``rotation`` [..., 3, 3], ``translation`` [..., 3], points [..., 3]; the leading
shapes broadcast.

Products are written as explicit sums of elementwise products, never as matmul, so that coordinates
stay in full float32 on accelerators whose matrix units compute in reduced precision. The sums run in a
fixed order (x, then y, then z), as AlphaFold2's do, so that degenerate inputs (e.g. a torsion whose
atoms are missing and zero) round to the same values as AlphaFold2's and feed its template embedding
identically.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp


def dot(first: jnp.ndarray, second: jnp.ndarray) -> jnp.ndarray:
    """Dot products [...] of vectors [..., 3], summed x + y + z."""
    return first[..., 0] * second[..., 0] + first[..., 1] * second[..., 1] + first[..., 2] * second[..., 2]


def rotate(rotation: jnp.ndarray, points: jnp.ndarray) -> jnp.ndarray:
    """Apply rotations [..., 3, 3] to points [..., 3]."""
    return jnp.stack([dot(rotation[..., row, :], points) for row in range(3)], axis=-1)


def compose_rotations(first: jnp.ndarray, second: jnp.ndarray) -> jnp.ndarray:
    """Rotation product ``first @ second`` of [..., 3, 3] matrices (apply ``second``, then ``first``)."""
    return jnp.stack([rotate(first, second[..., :, column]) for column in range(3)], axis=-1)


def rotation_about_x(sin_angle: jnp.ndarray, cos_angle: jnp.ndarray) -> jnp.ndarray:
    """Rotations [..., 3, 3] about the x-axis by angles given as sine and cosine [...] (Algorithm 25)."""
    zeros, ones = jnp.zeros_like(sin_angle), jnp.ones_like(sin_angle)
    rows = [[ones, zeros, zeros], [zeros, cos_angle, -sin_angle], [zeros, sin_angle, cos_angle]]
    return jnp.stack([jnp.stack(row, axis=-1) for row in rows], axis=-2)


class Rigid(NamedTuple):
    """Rigid transformations T(x) = rotation @ x + translation, batched over leading dimensions.

    A NamedTuple, so it is a JAX pytree: it passes through ``jit``, ``scan`` and ``tree_map``.
    """

    rotation: jnp.ndarray  # [..., 3, 3]
    translation: jnp.ndarray  # [..., 3]

    @classmethod
    def identity(cls, shape: tuple[int, ...], dtype=jnp.float32) -> Rigid:
        return cls(jnp.broadcast_to(jnp.eye(3, dtype=dtype), (*shape, 3, 3)), jnp.zeros((*shape, 3), dtype))

    @classmethod
    def from_three_points(cls, point_on_neg_x_axis: jnp.ndarray, origin: jnp.ndarray,
                          point_on_xy_plane: jnp.ndarray, epsilon: float = 1e-8) -> Rigid:
        """Frames [...] built by Gram-Schmidt from three points [..., 3] (Algorithm 21 "rigidFrom3Points").

        The x-axis points from ``point_on_neg_x_axis`` to ``origin``, ``point_on_xy_plane`` lies in the
        xy-plane at positive y, and z completes a right-handed frame. For a dihedral angle (a, b, c, d),
        the frame of (b, c, a) puts d at (x, r cos(angle), r sin(angle)).
        """
        # Each axis is kept as three separate component arrays until the end: for degenerate points (a
        # torsion whose atoms are missing) the result is rounding noise, and AlphaFold2 feeds that noise to
        # its template embedding, so it must round exactly as AlphaFold2's component-wise arithmetic does.
        origin_xyz, negative_x_xyz, in_plane_xyz = _components(origin), _components(point_on_neg_x_axis), \
            _components(point_on_xy_plane)
        e_x = _normalize_components([o - n for o, n in zip(origin_xyz, negative_x_xyz)], epsilon)
        in_plane = [p - o for p, o in zip(in_plane_xyz, origin_xyz)]
        along_x = in_plane[0] * e_x[0] + in_plane[1] * e_x[1] + in_plane[2] * e_x[2]
        e_y = _normalize_components([v - along_x * e for v, e in zip(in_plane, e_x)], epsilon)
        e_z = [e_x[1] * e_y[2] - e_x[2] * e_y[1],
               e_x[2] * e_y[0] - e_x[0] * e_y[2],
               e_x[0] * e_y[1] - e_x[1] * e_y[0]]
        axes = [jnp.stack(axis, axis=-1) for axis in (e_x, e_y, e_z)]
        return cls(jnp.stack(axes, axis=-1), origin)

    def apply(self, points: jnp.ndarray) -> jnp.ndarray:
        """Map local points [..., 3] to global coordinates."""
        return rotate(self.rotation, points) + self.translation

    def invert_apply(self, points: jnp.ndarray) -> jnp.ndarray:
        """Map global points [..., 3] into this frame: R^T (x - t)."""
        return rotate(jnp.swapaxes(self.rotation, -1, -2), points - self.translation)

    def invert(self) -> Rigid:
        inverse_rotation = jnp.swapaxes(self.rotation, -1, -2)
        return Rigid(inverse_rotation, -rotate(inverse_rotation, self.translation))

    def compose(self, other: Rigid) -> Rigid:
        """The transformation ``self o other``: apply ``other`` first, then ``self``."""
        return Rigid(compose_rotations(self.rotation, other.rotation), self.apply(other.translation))

    def compose_rotation(self, rotation: jnp.ndarray) -> Rigid:
        """``self o (rotation, 0)``: rotate in the local frame first, keep the origin."""
        return Rigid(compose_rotations(self.rotation, rotation), self.translation)

    def scale_translation(self, factor: float) -> Rigid:
        return Rigid(self.rotation, self.translation * factor)

    def to_homogeneous(self) -> jnp.ndarray:
        """[..., 4, 4] homogeneous matrices [[R, t], [0, 0, 0, 1]]."""
        top = jnp.concatenate([self.rotation, self.translation[..., :, None]], axis=-1)
        bottom = jnp.broadcast_to(jnp.array([0.0, 0.0, 0.0, 1.0], top.dtype), (*top.shape[:-2], 1, 4))
        return jnp.concatenate([top, bottom], axis=-2)

    @classmethod
    def from_homogeneous(cls, matrix: jnp.ndarray) -> Rigid:
        return cls(matrix[..., :3, :3], matrix[..., :3, 3])


def _components(vectors: jnp.ndarray) -> list[jnp.ndarray]:
    return [vectors[..., axis] for axis in range(3)]


def _normalize_components(vector: list[jnp.ndarray], epsilon: float) -> list[jnp.ndarray]:
    # Divide each component by the norm (XLA would round a division by a broadcast norm differently, as a
    # multiplication by its reciprocal).
    norm = jnp.sqrt(jnp.square(vector[0]) + jnp.square(vector[1]) + jnp.square(vector[2]) + epsilon)
    return [component / norm for component in vector]
