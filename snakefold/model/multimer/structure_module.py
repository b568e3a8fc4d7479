"""AlphaFold-Multimer's structure module (Algorithm 20 in AlphaFold-Multimer v3's parameter layout), float32.

The algorithm is the monomer's (:mod:`snakefold.model.structure_module`): eight shared-weight iterations of
invariant point attention, a transition and a backbone update, with the side chains built from torsion angles
(the monomer's :class:`~snakefold.model.structure_module.TorsionAngleResNet` and
:mod:`snakefold.model.all_atom`). What differs:

* backbone frames are kept as rotation matrices, not quaternions: the update (``quat_rigid/rigid``: the
  quaternion (1, b, c, d), normalised, and a translation) is turned into a rotation matrix and composed
  with the frame, T <- T o T_update;
* :class:`MultimerInvariantPointAttention` stores per-head projections ([c, heads, channels], scalar ones
  without bias, point ones ``*_point_projection/point_projection`` in the local frame, x then y then z),
  sums the three logit terms and scales the sum by sqrt(1/3);
* positions are in units of ``position_scale`` (20 Angstrom) inside the loop.

Inputs: ``representations`` single [N, c_s] and pair [N, N, c_z]; ``batch`` ``aatype`` [N], ``seq_mask`` [N].
Returns ``final_atom_positions`` [N, 37, 3] (Angstrom, zero where absent), ``final_atom_mask`` [N, 37] and
``representations['structure_module']`` [N, c] (the pLDDT head's input).
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from snakefold.common import residue_geometry
from snakefold.model.all_atom import atom14_to_atom37, frames_to_atom14_positions, torsion_angles_to_frames
from snakefold.model.hyperparameters import GlobalConfig
from snakefold.model.invariant_point_attention import InvariantPointAttentionConfig
from snakefold.model.primitives import LayerNorm, Linear, ShapedLinear, final_initializer
from snakefold.model.rigid import Rigid
from snakefold.model.structure_module import StructureModuleConfig, TorsionAngleResNet

QUATERNION_EPSILON = 1e-6
#: Clip of squared norms of attended points (struct-of-arrays geometry: max(norm^2, eps^2)).
POINT_NORM_EPSILON = 1e-8
MASKED_LOGIT_PENALTY = 1e5


def rotation_from_quaternion(w: jnp.ndarray, x: jnp.ndarray, y: jnp.ndarray, z: jnp.ndarray) -> jnp.ndarray:
    """Rotation matrices [..., 3, 3] of quaternions (w, x, y, z) [...], normalised first."""
    inverse_norm = jax.lax.rsqrt(jnp.maximum(QUATERNION_EPSILON, w ** 2 + x ** 2 + y ** 2 + z ** 2))
    w, x, y, z = w * inverse_norm, x * inverse_norm, y * inverse_norm, z * inverse_norm
    rows = [[1 - 2 * (jnp.square(y) + jnp.square(z)), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (jnp.square(x) + jnp.square(z)), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (jnp.square(x) + jnp.square(y))]]
    return jnp.stack([jnp.stack(row, axis=-1) for row in rows], axis=-2)


class QuatRigid(hk.Module):
    """Backbone update [N, c] -> Rigid [N]: quaternion (1, b, c, d) and translation from one linear layer."""

    def __init__(self, global_config: GlobalConfig, name: str = "quat_rigid"):
        super().__init__(name=name)
        self.global_config = global_config

    def __call__(self, act: jnp.ndarray) -> Rigid:
        update = Linear(6, initializer=final_initializer(self.global_config), name="rigid")(act)
        b, c, d = update[..., 0], update[..., 1], update[..., 2]
        return Rigid(rotation_from_quaternion(jnp.ones_like(b), b, c, d), update[..., 3:])


class PointProjection(hk.Module):
    """``num_points`` points per head in each residue's frame, mapped to global: three arrays [N, H, P]."""

    def __init__(self, num_head: int, num_points: int, name: str):
        super().__init__(name=name)
        self.num_head = num_head
        self.num_points = num_points

    def __call__(self, act: jnp.ndarray, frames: Rigid) -> list[jnp.ndarray]:
        local = ShapedLinear((self.num_head, 3 * self.num_points), name="point_projection")(act)
        x, y, z = jnp.split(local, 3, axis=-1)
        rotation = frames.rotation[:, None, None]
        translation = frames.translation[:, None, None]
        return [rotation[..., row, 0] * x + rotation[..., row, 1] * y + rotation[..., row, 2] * z
                + translation[..., row] for row in range(3)]


class MultimerInvariantPointAttention(hk.Module):
    """Algorithm 22 in AlphaFold-Multimer's layout: ``(act [N, c], pair [N, N, c_z], mask [N], frames) -> [N, c]``."""

    def __init__(self, config: InvariantPointAttentionConfig, num_output: int, global_config: GlobalConfig,
                 name: str = "invariant_point_attention"):
        super().__init__(name=name)
        self.config = config
        self.num_output = num_output
        self.global_config = global_config

    def __call__(self, act: jnp.ndarray, pair: jnp.ndarray, mask: jnp.ndarray, frames: Rigid) -> jnp.ndarray:
        c = self.config
        num_res = act.shape[0]
        num_head = c.num_head
        raw_point_weights = hk.get_parameter("trainable_point_weights", (num_head,), act.dtype,
                                             hk.initializers.Constant(np.log(np.exp(1.0) - 1.0)))
        point_weights = np.sqrt(1.0 / (max(c.num_point_qk, 1) * 9.0 / 2)) * jnp.logaddexp(
            raw_point_weights, jnp.zeros_like(raw_point_weights))
        query_points = PointProjection(num_head, c.num_point_qk, name="q_point_projection")(act, frames)
        key_points = PointProjection(num_head, c.num_point_qk, name="k_point_projection")(act, frames)
        differences = [q[:, None] - k[None, :] for q, k in zip(query_points, key_points)]  # [Q, K, H, P]
        squared_distances = (differences[0] * differences[0] + differences[1] * differences[1]
                             + differences[2] * differences[2])
        logits = -0.5 * jnp.sum(point_weights[:, None] * squared_distances, axis=-1)  # [Q, K, H]

        query_scalar = ShapedLinear((num_head, c.num_scalar_qk), use_bias=False, name="q_scalar_projection")(act)
        key_scalar = ShapedLinear((num_head, c.num_scalar_qk), use_bias=False, name="k_scalar_projection")(act)
        query_scalar *= np.sqrt(1.0 / max(c.num_scalar_qk, 1))
        logits += jnp.einsum("qhc,khc->qkh", query_scalar, key_scalar)
        logits += Linear(num_head, name="attention_2d")(pair)
        pair_mask = mask[:, None] * mask[None, :]
        logits -= MASKED_LOGIT_PENALTY * (1.0 - pair_mask[..., None])
        logits *= np.sqrt(1.0 / 3)
        attention = jax.nn.softmax(logits, axis=-2)

        value_scalar = ShapedLinear((num_head, c.num_scalar_v), use_bias=False, name="v_scalar_projection")(act)
        result_scalar = jnp.einsum("qkh,khc->qhc", attention, value_scalar).reshape(num_res, -1)
        value_points = PointProjection(num_head, c.num_point_v, name="v_point_projection")(act, frames)
        result_global = [jnp.sum(attention[..., None] * v[None], axis=-3).reshape(num_res, -1) for v in value_points]
        rotation = frames.rotation[:, None]
        centred = [result_global[axis] - frames.translation[:, None, axis] for axis in range(3)]
        result_local = [rotation[..., 0, column] * centred[0] + rotation[..., 1, column] * centred[1]
                        + rotation[..., 2, column] * centred[2] for column in range(3)]
        norms = jnp.sqrt(jnp.maximum(result_local[0] * result_local[0] + result_local[1] * result_local[1]
                                     + result_local[2] * result_local[2], POINT_NORM_EPSILON ** 2))
        result_pair = jnp.einsum("ijh,ijc->ihc", attention, pair).reshape(num_res, -1)
        features = jnp.concatenate([result_scalar, *result_local, norms, result_pair], axis=-1)
        return Linear(self.num_output, initializer=final_initializer(self.global_config),
                      name="output_projection")(features)


class MultimerFoldIteration(hk.Module):
    """One iteration: (act [N, c], frames) -> (act, frames, atom14 positions [N, 14, 3] in Angstrom)."""

    def __init__(self, config: StructureModuleConfig, global_config: GlobalConfig, name: str = "fold_iteration"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, act: jnp.ndarray, frames: Rigid, initial_act: jnp.ndarray, pair: jnp.ndarray,
                 mask: jnp.ndarray, aatype: jnp.ndarray) -> tuple[jnp.ndarray, Rigid, jnp.ndarray]:
        c, gc = self.config, self.global_config
        act += MultimerInvariantPointAttention(c.invariant_point_attention, c.num_channel, gc)(act, pair, mask, frames)
        act = LayerNorm(name="attention_layer_norm")(act)
        transition_input = act
        for layer in range(c.num_layer_in_transition):
            last = layer == c.num_layer_in_transition - 1
            act = Linear(c.num_channel, initializer=final_initializer(gc) if last else "relu", name="transition")(act)
            if not last:
                act = jax.nn.relu(act)
        act += transition_input
        act = LayerNorm(name="transition_layer_norm")(act)
        frames = frames.compose(QuatRigid(gc)(act))
        angles, _ = TorsionAngleResNet(c.torsion_angles, gc)(act, initial_act)
        group_frames = torsion_angles_to_frames(aatype, frames.scale_translation(c.position_scale), angles)
        return act, frames, frames_to_atom14_positions(aatype, group_frames)


class MultimerStructureModule(hk.Module):
    """``(representations, batch) -> dict`` (see the module docstring)."""

    def __init__(self, config: StructureModuleConfig, global_config: GlobalConfig, name: str = "structure_module"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, representations: dict, batch: dict) -> dict:
        c = self.config
        aatype, seq_mask = batch["aatype"], batch["seq_mask"]
        single = LayerNorm(name="single_layer_norm")(representations["single"])
        act = Linear(c.num_channel, name="initial_projection")(single)
        pair = LayerNorm(name="pair_layer_norm")(representations["pair"])
        num_res = aatype.shape[0]
        frames = Rigid.identity((num_res,), act.dtype)
        iteration = MultimerFoldIteration(c, self.global_config)
        for _ in range(c.num_layer):
            act, frames, atom14_positions = iteration(act, frames, single, pair, seq_mask, aatype)
        restype = jnp.minimum(aatype, residue_geometry.RESTYPE_ATOM37_MASK.shape[0] - 1)
        atom37_mask = jnp.asarray(residue_geometry.RESTYPE_ATOM37_MASK)[restype] * seq_mask[:, None]
        atom37_positions = atom14_to_atom37(atom14_positions,
                                            jnp.asarray(residue_geometry.RESTYPE_ATOM37_TO_ATOM14)[restype],
                                            atom37_mask)
        return {"final_atom_positions": atom37_positions, "final_atom_mask": atom37_mask,
                "representations": {"structure_module": act}}
