"""Unit quaternions for the backbone frames of the structure module.

The structure module keeps each residue's backbone orientation as a unit quaternion q = (w, x, y, z)
(supplement section 1.8.3, Algorithm 23 "Backbone update"): an update is a rotation by the
non-normalised quaternion (1, b, c, d), which for small (b, c, d) is close to the identity, composed
with the current orientation and renormalised. Rotation matrices are derived from the quaternion
whenever points are moved.

All functions take arrays with any leading shape: quaternions [..., 4] (real part first), rotation
matrices [..., 3, 3] acting on column vectors. They accept numpy or JAX arrays and return JAX arrays.
Products are written as explicit sums of elementwise products, never as matmul, so that they stay in
full float32 on accelerators whose matrix units compute in reduced precision.
"""

from __future__ import annotations

import jax.numpy as jnp


def normalize(quaternion: jnp.ndarray) -> jnp.ndarray:
    """Scale quaternions [..., 4] to unit length."""
    return quaternion / jnp.linalg.norm(quaternion, axis=-1, keepdims=True)


def multiply(first: jnp.ndarray, second: jnp.ndarray) -> jnp.ndarray:
    """Hamilton product ``first * second`` of quaternions [..., 4]: rotate by ``second``, then ``first``."""
    w1, x1, y1, z1 = jnp.moveaxis(first, -1, 0)
    w2, x2, y2, z2 = jnp.moveaxis(second, -1, 0)
    return jnp.stack([
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
    ], axis=-1)


def to_rotation(quaternion: jnp.ndarray) -> jnp.ndarray:
    """Rotation matrices [..., 3, 3] of unit quaternions [..., 4]."""
    w, x, y, z = jnp.moveaxis(quaternion, -1, 0)
    rows = [
        [w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z],
    ]
    return jnp.stack([jnp.stack(row, axis=-1) for row in rows], axis=-2)


def from_rotation(rotation: jnp.ndarray) -> jnp.ndarray:
    """Unit quaternions [..., 4] (w >= 0) of rotation matrices [..., 3, 3].

    The quaternion is the eigenvector of the largest eigenvalue of the symmetric 4x4 matrix built from
    the rotation (Bar-Itzhack 2000), which is robust for every rotation angle and tolerates a matrix
    that is only approximately orthogonal.
    """
    r = rotation
    xx, xy, xz = r[..., 0, 0], r[..., 0, 1], r[..., 0, 2]
    yx, yy, yz = r[..., 1, 0], r[..., 1, 1], r[..., 1, 2]
    zx, zy, zz = r[..., 2, 0], r[..., 2, 1], r[..., 2, 2]
    k = [
        [xx + yy + zz, zy - yz, xz - zx, yx - xy],
        [zy - yz, xx - yy - zz, xy + yx, xz + zx],
        [xz - zx, xy + yx, yy - xx - zz, yz + zy],
        [yx - xy, xz + zx, yz + zy, zz - xx - yy],
    ]
    k = jnp.stack([jnp.stack(row, axis=-1) for row in k], axis=-2) / 3.0
    _, eigenvectors = jnp.linalg.eigh(k)
    quaternion = eigenvectors[..., -1]
    return jnp.where(quaternion[..., :1] < 0, -quaternion, quaternion)
