"""Invariant point attention (supplement Algorithm 22 "InvariantPointAttention").

Each residue i attends over all residues j with three kinds of evidence, summed into one logit per head:
scalar query-key products of the single representation, the pair representation as a bias, and the
distances between 3D query points of i and key points of j, which each residue places in its own
backbone frame T_i and which are compared in global coordinates. The attended values are scalars, the
pair representation, and value points, brought back into residue i's local frame; everything that
leaves the module is expressed in local frames, so its output is invariant to global rotations and
translations of the structure.

Shapes: single representation [N, c_s], pair representation [N, N, c_z], frames [N] in the structure
module's internal length unit (nm), mask [N]. Output [N, c_s]. Parameter scope ``invariant_point_attention``
with AlphaFold2's layer names (``q_scalar``, ``kv_scalar``, ``q_point_local``, ``kv_point_local``,
``attention_2d``, ``trainable_point_weights``, ``output_projection``).
"""

from __future__ import annotations

from dataclasses import dataclass

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from snakefold.model.hyperparameters import GlobalConfig
from snakefold.model.primitives import Linear, final_initializer
from snakefold.model.rigid import Rigid

#: Added to a squared norm before the square root, so the norm has a gradient at zero.
DISTANCE_EPSILON = 1e-8
#: Subtracted from the logits of masked query-key pairs.
MASKED_LOGIT_PENALTY = 1e5


@dataclass(frozen=True)
class InvariantPointAttentionConfig:
    """Head count and per-head sizes of invariant point attention (AlphaFold2: 12 heads, 16 scalar
    query/key and value channels, 4 query/key points and 8 value points)."""

    num_head: int = 12
    num_scalar_qk: int = 16
    num_scalar_v: int = 16
    num_point_qk: int = 4
    num_point_v: int = 8


class InvariantPointAttention(hk.Module):
    """Algorithm 22: ``(single [N, c_s], pair [N, N, c_z], mask [N], frames [N]) -> [N, c_s]``."""

    def __init__(self, config: InvariantPointAttentionConfig, global_config: GlobalConfig = GlobalConfig(),
                 name: str = "invariant_point_attention"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, single: jnp.ndarray, pair: jnp.ndarray, mask: jnp.ndarray, frames: Rigid) -> jnp.ndarray:
        c = self.config
        num_res, num_channel = single.shape
        num_head = c.num_head

        def local_points(num_points: int, name: str) -> jnp.ndarray:
            """``num_points`` points per head in each residue's frame, mapped to global: [N, H, P, 3].

            The projection's output is laid out as all x coordinates, then all y, then all z.
            """
            coordinates = Linear(3 * num_head * num_points, name=name)(single)
            coordinates = coordinates.reshape(num_res, 3, num_head, num_points)
            points = jnp.moveaxis(coordinates, 1, -1)
            return Rigid(frames.rotation[:, None, None], frames.translation[:, None, None]).apply(points)

        query_scalar = Linear(num_head * c.num_scalar_qk, name="q_scalar")(single)
        query_scalar = query_scalar.reshape(num_res, num_head, c.num_scalar_qk)
        key_value_scalar = Linear(num_head * (c.num_scalar_qk + c.num_scalar_v), name="kv_scalar")(single)
        key_value_scalar = key_value_scalar.reshape(num_res, num_head, c.num_scalar_qk + c.num_scalar_v)
        key_scalar, value_scalar = jnp.split(key_value_scalar, [c.num_scalar_qk], axis=-1)

        query_points = local_points(c.num_point_qk, "q_point_local")  # [N, H, Pqk, 3]
        key_value_points = local_points(c.num_point_qk + c.num_point_v, "kv_point_local")
        key_points, value_points = jnp.split(key_value_points, [c.num_point_qk], axis=2)

        # Weights that give each of the three logit terms unit variance at initialisation: scalar
        # products of unit-variance vectors have variance num_scalar_qk, and each point term
        # (0.5 |q|^2 - <q, k> for unit-variance coordinates) 9/2 per point.
        scalar_weight = np.sqrt(1.0 / (3 * c.num_scalar_qk))
        point_weight = np.sqrt(1.0 / (3 * c.num_point_qk * 9.0 / 2.0))
        pair_weight = np.sqrt(1.0 / 3)
        # Learned per-head point weights gamma^h, softplus-parameterised; softplus(log(e - 1)) = 1.
        head_weights = jax.nn.softplus(hk.get_parameter(
            "trainable_point_weights", (num_head,), single.dtype, hk.initializers.Constant(np.log(np.e - 1.0))))

        scalar_logits = jnp.einsum("ihc,jhc->hij", scalar_weight * query_scalar, key_scalar)
        squared_distances = jnp.sum(
            jnp.square(query_points[:, None] - key_points[None, :]), axis=(-1, -2))  # [N, N, H]
        point_logits = -0.5 * point_weight * head_weights * squared_distances
        pair_logits = pair_weight * Linear(num_head, name="attention_2d")(pair)  # [N, N, H]
        logits = scalar_logits + jnp.transpose(point_logits + pair_logits, (2, 0, 1))
        pair_mask = mask[:, None] * mask[None, :]
        logits = logits - MASKED_LOGIT_PENALTY * (1.0 - pair_mask)
        attention = jax.nn.softmax(logits, axis=-1)  # [H, N, N]

        result_scalar = jnp.einsum("hij,jhc->ihc", attention, value_scalar)
        # Coordinates are summed in full float32 precision, also on matrix units that default to less.
        result_points_global = jnp.einsum("hij,jhpx->ihpx", attention, value_points,
                                          precision=jax.lax.Precision.HIGHEST)  # [N, H, Pv, 3]
        result_points = Rigid(frames.rotation[:, None, None],
                              frames.translation[:, None, None]).invert_apply(result_points_global)
        result_point_norms = jnp.sqrt(DISTANCE_EPSILON + jnp.sum(jnp.square(result_points), axis=-1))
        result_pair = jnp.einsum("hij,ijc->ihc", attention, pair)

        features = jnp.concatenate([
            result_scalar.reshape(num_res, -1),
            *(result_points[..., axis].reshape(num_res, -1) for axis in range(3)),
            result_point_norms.reshape(num_res, -1),
            result_pair.reshape(num_res, -1),
        ], axis=-1)
        return Linear(num_channel, initializer=final_initializer(self.global_config),
                      name="output_projection")(features)
