"""The structure module: single and pair representations -> backbone frames, torsion angles, all atoms.

Supplement Algorithm 20 "StructureModule". Every residue starts as a backbone frame at the origin
(identity rotation, zero translation). ``num_layer`` (8) iterations *with shared weights* then refine the
single representation with invariant point attention (Algorithm 22) and a transition, update each frame
by a small rotation and translation predicted from it (Algorithm 23 "BackboneUpdate"), and predict the
seven torsion angles with a small ResNet from which all heavy atoms are
built (Algorithm 24, :mod:`snakefold.model.all_atom`).

Frames are kept as unit quaternions and translations; inside the loop translations are in nanometres
(``position_scale`` = 10 Angstrom per unit, so that the network's outputs stay of order one), and are
scaled to Angstrom for the atoms and all outputs.

Inputs: ``representations['single']`` [N, c_s], ``representations['pair']`` [N, N, c_z] and the batch
features ``aatype`` [N], ``seq_mask`` [N], ``atom14_atom_exists`` [N, 14], ``residx_atom37_to_atom14``
[N, 37], ``atom37_atom_exists`` [N, 37]. Outputs: see :meth:`StructureModule.__call__`.
Parameter scopes: ``structure_module/{single_layer_norm, initial_projection, pair_layer_norm}`` and
``structure_module/fold_iteration/...`` (one set of weights for all iterations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model import quaternion as quat
from snakefold.model.all_atom import atom14_to_atom37, frames_to_atom14_positions, torsion_angles_to_frames
from snakefold.model.hyperparameters import GlobalConfig
from snakefold.model.invariant_point_attention import InvariantPointAttention, InvariantPointAttentionConfig
from snakefold.model.primitives import LayerNorm, Linear, final_initializer
from snakefold.model.rigid import Rigid, rotate

#: Number of torsion angles per residue: pre-omega, phi, psi, chi1-chi4.
NUM_TORSIONS = 7


@dataclass(frozen=True)
class TorsionAngleResNetConfig:
    """The side-chain torsion-angle ResNet: hidden width and number of residual blocks."""

    num_channel: int = 128
    num_residual_block: int = 2


@dataclass(frozen=True)
class StructureModuleConfig:
    """AlphaFold2's structure module (supplement section 1.8).

    ``num_channel``: width of the single representation inside the module; ``num_layer``: iterations
    (shared weights); ``num_layer_in_transition``: linear layers of the transition; ``position_scale``:
    Angstrom per internal length unit; ``dropout``: rate after attention and transition, in training only.
    """

    num_layer: int = 8
    num_channel: int = 384
    num_layer_in_transition: int = 3
    position_scale: float = 10.0
    dropout: float = 0.1
    invariant_point_attention: InvariantPointAttentionConfig = field(default_factory=InvariantPointAttentionConfig)
    torsion_angles: TorsionAngleResNetConfig = field(default_factory=TorsionAngleResNetConfig)


def backbone_update(quaternion: jnp.ndarray, translation: jnp.ndarray, update: jnp.ndarray) -> tuple[
        jnp.ndarray, jnp.ndarray]:
    """Algorithm 23 "BackboneUpdate": compose frames with the update predicted for them, [N, 6].

    The first three update components (b, c, d) give the rotation of the non-normalised quaternion
    (1, b, c, d), the last three a translation; both act in the residue's current local frame, so the
    new frame is T o T_update: q' = normalise(q (1, b, c, d)) and t' = t + R(q) t_update.
    """
    rotation_update = jnp.concatenate([jnp.ones_like(update[..., :1]), update[..., :3]], axis=-1)
    new_quaternion = quat.normalize(quat.multiply(quaternion, rotation_update))
    new_translation = translation + rotate(quat.to_rotation(quaternion), update[..., 3:])
    return new_quaternion, new_translation


class TorsionAngleResNet(hk.Module):
    """The torsion-angle ResNet of Algorithm 20: angles from the current and the initial single representation.

    ``(single [N, c], initial_single [N, c_s]) -> (angles [N, 7, 2], unnormalized_angles [N, 7, 2])``, each
    angle a (sin, cos) pair; the normalised one is a unit vector. Scope ``rigid_sidechain``.
    """

    def __init__(self, config: TorsionAngleResNetConfig, global_config: GlobalConfig = GlobalConfig(),
                 name: str = "rigid_sidechain"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, single: jnp.ndarray, initial_single: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        num_channel = self.config.num_channel
        # Linear(concat(a, b)) written as the sum of two projections, as AlphaFold2's weights are stored.
        act = sum(Linear(num_channel, name="input_projection")(jax.nn.relu(x)) for x in (single, initial_single))
        for _ in range(self.config.num_residual_block):
            hidden = Linear(num_channel, initializer="relu", name="resblock1")(jax.nn.relu(act))
            act = act + Linear(num_channel, initializer=final_initializer(self.global_config),
                               name="resblock2")(jax.nn.relu(hidden))
        unnormalized = Linear(2 * NUM_TORSIONS, name="unnormalized_angles")(jax.nn.relu(act))
        unnormalized = unnormalized.reshape(single.shape[0], NUM_TORSIONS, 2)
        norm = jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(unnormalized), axis=-1, keepdims=True), 1e-12))
        return unnormalized / norm, unnormalized


class FoldIteration(hk.Module):
    """One iteration of Algorithm 20's loop on (single [N, c], quaternions [N, 4], translations [N, 3]).

    Returns the updated state and this iteration's outputs: frames (quaternion and translation in
    Angstrom, [N, 7]), torsion angles, rigid-group frames [N, 8] and atom14 positions [N, 14, 3].
    """

    def __init__(self, config: StructureModuleConfig, global_config: GlobalConfig = GlobalConfig(),
                 name: str = "fold_iteration"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def _dropout(self, act: jnp.ndarray, is_training: bool) -> jnp.ndarray:
        if is_training and self.config.dropout > 0.0:
            return hk.dropout(hk.next_rng_key(), self.config.dropout, act)
        return act

    def __call__(self, act: jnp.ndarray, quaternion: jnp.ndarray, translation: jnp.ndarray,
                 initial_single: jnp.ndarray, pair: jnp.ndarray, mask: jnp.ndarray, aatype: jnp.ndarray,
                 is_training: bool) -> tuple[tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray], dict]:
        c = self.config
        frames = Rigid(quat.to_rotation(quaternion), translation)
        act = act + InvariantPointAttention(c.invariant_point_attention, self.global_config)(act, pair, mask, frames)
        act = LayerNorm(name="attention_layer_norm")(self._dropout(act, is_training))

        transition_input = act
        for layer in range(c.num_layer_in_transition):
            last = layer == c.num_layer_in_transition - 1
            act = Linear(c.num_channel, initializer=final_initializer(self.global_config) if last else "relu",
                         name="transition")(act)
            if not last:
                act = jax.nn.relu(act)
        act = LayerNorm(name="transition_layer_norm")(self._dropout(act + transition_input, is_training))

        update = Linear(6, initializer=final_initializer(self.global_config), name="affine_update")(act)
        quaternion, translation = backbone_update(quaternion, translation, update)

        angles, unnormalized_angles = TorsionAngleResNet(c.torsion_angles, self.global_config)(act, initial_single)
        backbone_frames = Rigid(quat.to_rotation(quaternion), translation * c.position_scale)
        group_frames = torsion_angles_to_frames(aatype, backbone_frames, angles)
        outputs = {
            "affine": jnp.concatenate([quaternion, translation * c.position_scale], axis=-1),
            "angles_sin_cos": angles,
            "unnormalized_angles_sin_cos": unnormalized_angles,
            "frames": group_frames.to_homogeneous(),
            "atom_pos": frames_to_atom14_positions(aatype, group_frames),
        }
        # As in Algorithm 20, no gradient flows into the next iteration through the rotations.
        quaternion = jax.lax.stop_gradient(quaternion)
        return (act, quaternion, translation), outputs


class StructureModule(hk.Module):
    """Algorithm 20: ``module(representations, batch, is_training=False) -> dict`` (see module docstring)."""

    def __init__(self, config: StructureModuleConfig, global_config: GlobalConfig = GlobalConfig(),
                 name: str = "structure_module"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, representations: dict, batch: dict, is_training: bool = False) -> dict:
        """Returns

        - ``representations``: ``{'structure_module': [N, c]}``, the final single representation (input
          of the pLDDT head);
        - ``traj`` [num_layer, N, 7]: each iteration's backbone frames, unit quaternion (w, x, y, z) and
          translation (Angstrom); ``final_affines`` [N, 7], the last of them;
        - ``sidechains``: per iteration, ``angles_sin_cos`` and ``unnormalized_angles_sin_cos``
          [num_layer, N, 7, 2], ``frames`` [num_layer, N, 8, 4, 4] (global rigid-group frames as
          homogeneous matrices) and ``atom_pos`` [num_layer, N, 14, 3];
        - ``final_atom14_positions`` [N, 14, 3] with ``final_atom14_mask`` [N, 14], and
          ``final_atom_positions`` [N, 37, 3] with ``final_atom_mask`` [N, 37] (Angstrom; absent atoms 0).
        """
        c = self.config
        single = LayerNorm(name="single_layer_norm")(representations["single"])
        initial_single = single
        act = Linear(c.num_channel, name="initial_projection")(single)
        pair = LayerNorm(name="pair_layer_norm")(representations["pair"])
        mask = batch["seq_mask"].astype(act.dtype)
        aatype = batch["aatype"]
        num_res = aatype.shape[0]

        fold_iteration = FoldIteration(c, self.global_config)

        def iteration(state, _):
            return fold_iteration(*state, initial_single=initial_single, pair=pair, mask=mask, aatype=aatype,
                                  is_training=is_training)

        identity_quaternion = jnp.tile(jnp.array([1.0, 0.0, 0.0, 0.0], act.dtype), (num_res, 1))
        initial_state = (act, identity_quaternion, jnp.zeros((num_res, 3), act.dtype))
        (act, _, _), outputs = hk.scan(iteration, initial_state, None, length=c.num_layer)

        atom14_positions = outputs["atom_pos"][-1]
        atom37_positions = atom14_to_atom37(atom14_positions, batch["residx_atom37_to_atom14"],
                                            batch["atom37_atom_exists"])
        return {
            "representations": {"structure_module": act},
            "traj": outputs["affine"],
            "final_affines": outputs["affine"][-1],
            "sidechains": {key: outputs[key] for key in
                           ("angles_sin_cos", "unnormalized_angles_sin_cos", "frames", "atom_pos")},
            "final_atom14_positions": atom14_positions,
            "final_atom14_mask": batch["atom14_atom_exists"],
            "final_atom_positions": atom37_positions,
            "final_atom_mask": batch["atom37_atom_exists"],
        }
