"""Quaternions, rigid transformations, the backbone update and the invariance of point attention."""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snakefold.model import quaternion as quat
from snakefold.model.hyperparameters import GlobalConfig
from snakefold.model.invariant_point_attention import InvariantPointAttention, InvariantPointAttentionConfig
from snakefold.model.rigid import Rigid, rotation_about_x
from snakefold.model.structure_module import backbone_update


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_unit_quaternions(rng, count: int) -> np.ndarray:
    q = rng.normal(size=(count, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    q[q[:, 0] < 0] *= -1
    return q.astype(np.float32)


def random_rigids(rng, count: int) -> Rigid:
    return Rigid(quat.to_rotation(random_unit_quaternions(rng, count)),
                 jnp.asarray(rng.normal(scale=5.0, size=(count, 3)), jnp.float32))


def test_quaternion_to_rotation_gives_proper_rotations(rng):
    rotations = np.asarray(quat.to_rotation(random_unit_quaternions(rng, 50)), np.float64)
    np.testing.assert_allclose(rotations @ np.swapaxes(rotations, -1, -2), np.broadcast_to(np.eye(3), (50, 3, 3)),
                               atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-5)


def test_quaternion_of_a_known_rotation():
    # 90 degrees about z: q = (cos 45, 0, 0, sin 45) maps x to y.
    q = np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)], np.float32)
    rotation = np.asarray(quat.to_rotation(q))
    np.testing.assert_allclose(rotation @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(quat.from_rotation(rotation)), q, atol=1e-6)


def test_quaternion_rotation_round_trips(rng):
    q = random_unit_quaternions(rng, 100)
    np.testing.assert_allclose(np.asarray(quat.from_rotation(quat.to_rotation(q))), q, atol=1e-5)
    rotations = np.asarray(quat.to_rotation(q))
    np.testing.assert_allclose(np.asarray(quat.to_rotation(quat.from_rotation(rotations))), rotations, atol=1e-5)


def test_quaternion_product_composes_rotations(rng):
    first, second = random_unit_quaternions(rng, 20), random_unit_quaternions(rng, 20)
    np.testing.assert_allclose(np.asarray(quat.to_rotation(quat.multiply(first, second))),
                               np.asarray(quat.to_rotation(first)) @ np.asarray(quat.to_rotation(second)), atol=1e-5)


def test_rigid_compose_invert_and_apply(rng):
    first, second = random_rigids(rng, 10), random_rigids(rng, 10)
    points = jnp.asarray(rng.normal(size=(10, 3)), jnp.float32)
    np.testing.assert_allclose(first.compose(second).apply(points), first.apply(second.apply(points)), atol=1e-4)
    np.testing.assert_allclose(first.invert().apply(first.apply(points)), points, atol=1e-4)
    np.testing.assert_allclose(first.invert_apply(first.apply(points)), points, atol=1e-4)
    identity = first.compose(first.invert())
    np.testing.assert_allclose(identity.rotation, np.broadcast_to(np.eye(3), (10, 3, 3)), atol=1e-5)
    np.testing.assert_allclose(identity.translation, np.zeros((10, 3)), atol=1e-4)
    homogeneous = first.to_homogeneous()
    assert homogeneous.shape == (10, 4, 4)
    np.testing.assert_allclose(Rigid.from_homogeneous(homogeneous).apply(points), first.apply(points), atol=1e-6)


def test_from_three_points_places_the_points_on_the_axes(rng):
    a, b, c = (jnp.asarray(rng.normal(size=(8, 3)), jnp.float32) for _ in range(3))
    frame = Rigid.from_three_points(point_on_neg_x_axis=a, origin=b, point_on_xy_plane=c)
    local_a, local_c = np.asarray(frame.invert_apply(a)), np.asarray(frame.invert_apply(c))
    np.testing.assert_allclose(local_a[:, 1:], 0.0, atol=1e-4)
    assert np.all(local_a[:, 0] < 0)
    np.testing.assert_allclose(local_c[:, 2], 0.0, atol=1e-4)
    assert np.all(local_c[:, 1] > 0)
    np.testing.assert_allclose(np.linalg.det(np.asarray(frame.rotation, np.float64)), 1.0, atol=1e-5)


def test_rotation_about_x():
    angle = 0.3
    rotation = np.asarray(rotation_about_x(jnp.sin(angle), jnp.cos(angle)))
    np.testing.assert_allclose(rotation @ [1.0, 0.0, 0.0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(rotation @ [0.0, 1.0, 0.0], [0.0, np.cos(angle), np.sin(angle)], atol=1e-7)


def test_backbone_update_composes_in_the_local_frame(rng):
    q = random_unit_quaternions(rng, 6)
    t = rng.normal(size=(6, 3)).astype(np.float32)
    update = rng.normal(scale=0.3, size=(6, 6)).astype(np.float32)
    new_q, new_t = backbone_update(q, t, update)
    np.testing.assert_allclose(np.linalg.norm(new_q, axis=-1), 1.0, atol=1e-6)
    # T' = T o T_update, with T_update the rotation of normalise(1, b, c, d) and the translation (e, f, g).
    update_q = np.concatenate([np.ones((6, 1), np.float32), update[:, :3]], axis=-1)
    update_rigid = Rigid(quat.to_rotation(quat.normalize(update_q)), update[:, 3:])
    expected = Rigid(quat.to_rotation(q), t).compose(update_rigid)
    np.testing.assert_allclose(quat.to_rotation(new_q), expected.rotation, atol=1e-5)
    np.testing.assert_allclose(new_t, expected.translation, atol=1e-5)
    same_q, same_t = backbone_update(q, t, np.zeros((6, 6), np.float32))
    np.testing.assert_allclose(same_q, q, atol=1e-6)
    np.testing.assert_allclose(same_t, t, atol=1e-6)


def test_invariant_point_attention_is_invariant_to_global_motions(rng):
    num_res, num_channel, num_pair_channel = 7, 16, 8
    config = InvariantPointAttentionConfig(num_head=3, num_scalar_qk=4, num_scalar_v=4, num_point_qk=2,
                                           num_point_v=3)
    single = jnp.asarray(rng.normal(size=(num_res, num_channel)), jnp.float32)
    pair = jnp.asarray(rng.normal(size=(num_res, num_res, num_pair_channel)), jnp.float32)
    mask = jnp.asarray([1, 1, 1, 1, 1, 1, 0], jnp.float32)
    frames = random_rigids(rng, num_res)
    motion = random_rigids(rng, 1)
    moved = Rigid(motion.rotation, motion.translation).compose(frames)

    attention = hk.transform(lambda f: InvariantPointAttention(config, GlobalConfig(zero_init=False))(
        single, pair, mask, f))
    params = jax.jit(attention.init)(jax.random.PRNGKey(0), frames)
    params = jax.tree_util.tree_map(lambda p: p + 0.1, params)  # no zero biases or unit point weights
    apply = jax.jit(attention.apply)
    original = np.asarray(apply(params, None, frames))
    np.testing.assert_allclose(np.asarray(apply(params, None, moved)), original, atol=1e-3)
    # A change of the residues' relative geometry does change the output.
    shifted = Rigid(frames.rotation, frames.translation.at[0].add(3.0))
    assert np.abs(np.asarray(apply(params, None, shifted)) - original).max() > 1e-2
