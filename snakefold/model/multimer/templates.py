"""AlphaFold-Multimer's template embedding: templates act within chains, torsion angles computed in the model.

Pair side (:class:`MultimerTemplateEmbedding`, scope ``evoformer/template_embedding``): each template t
gives nine pair features, each projected to c_t channels and summed (``template_pair_embedding_0`` .. ``_8``):
its pseudo-beta distogram [N, N, 39] and mask, the one-hot residue types (22) of the column and of the row
residue, the unit vector from each residue's backbone frame to every other residue (x, y, z), the backbone
mask, and the layer-normalised query pair [N, N, c_z]. Distogram, unit vectors and their masks are zero
between residues of different chains (``asym_id``). The result goes through ``template_embedding_iteration``
blocks (triangle multiplication outgoing and incoming, triangle attention starting and ending node, pair
transition) and a layer normalisation; the embeddings of the T template slots are averaged (empty slots
count), passed through ReLU and ``output_linear`` to c_z.

MSA side (:func:`template_rows`): per template residue the one-hot type (22), sin and cos of the four chi
angles and their masks (34 features) -> two layers to c_m; rows masked by the chi1 mask.

Template features: ``template_aatype`` [T, N] (AlphaFold2 order, 21 = gap), ``template_all_atom_positions``
[T, N, 37, 3], ``template_all_atom_mask`` [T, N, 37].
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.common import residue_constants as rc
from snakefold.model.all_atom import atom37_to_torsion_angles
from snakefold.model.embeddings import distance_one_hot, pseudo_beta
from snakefold.model.hyperparameters import GlobalConfig, TemplateConfig, TemplatePairStackConfig
from snakefold.model.layer_stack import LayerStack
from snakefold.model.primitives import LayerNorm, Linear, ShapedLinear
from snakefold.model.template_embedding import NUM_TEMPLATE_AATYPES
from snakefold.model.transition import Transition
from snakefold.model.triangle import TriangleAttention, TriangleMultiplication

#: Clip of squared lengths before normalising a vector (AlphaFold-Multimer's struct-of-arrays geometry).
UNIT_VECTOR_EPSILON = 1e-6
NUM_CHI = 4


def _normalized(vector: list[jnp.ndarray]) -> list[jnp.ndarray]:
    squared = vector[0] * vector[0] + vector[1] * vector[1] + vector[2] * vector[2]
    norm = jnp.sqrt(jnp.maximum(squared, UNIT_VECTOR_EPSILON ** 2))
    return [component / norm for component in vector]


def backbone_unit_vectors(positions: jnp.ndarray, mask: jnp.ndarray) -> tuple[list[jnp.ndarray], jnp.ndarray]:
    """For atom37 ``positions`` [N, 37, 3] and ``mask`` [N, 37]: the unit vectors [N, N] (x, y, z) from residue
    i's CA to residue j's CA in i's backbone frame (x along CA->C, N in the xy-plane), and the backbone mask [N]
    (N, CA and C present)."""
    n_atom, ca_atom, c_atom = (rc.atom_order[name] for name in ("N", "CA", "C"))
    backbone_mask = mask[:, n_atom] * mask[:, ca_atom] * mask[:, c_atom]
    ca = [positions[:, ca_atom, axis] for axis in range(3)]
    e0 = _normalized([positions[:, c_atom, axis] - ca[axis] for axis in range(3)])
    towards_n = [positions[:, n_atom, axis] - ca[axis] for axis in range(3)]
    along = towards_n[0] * e0[0] + towards_n[1] * e0[1] + towards_n[2] * e0[2]
    e1 = _normalized([towards_n[axis] - along * e0[axis] for axis in range(3)])
    e2 = [e0[1] * e1[2] - e0[2] * e1[1], e0[2] * e1[0] - e0[0] * e1[2], e0[0] * e1[1] - e0[1] * e1[0]]
    # [i, j]: frame i's inverse applied to CA_j, i.e. R_i^T CA_j + R_i^T (-CA_i), summed in this order.
    local = [(axis_vector[0][:, None] * ca[0][None, :] + axis_vector[1][:, None] * ca[1][None, :]
              + axis_vector[2][:, None] * ca[2][None, :])
             + (axis_vector[0] * -ca[0] + axis_vector[1] * -ca[1] + axis_vector[2] * -ca[2])[:, None]
             for axis_vector in (e0, e1, e2)]
    return _normalized(local), backbone_mask


class TemplateEmbeddingIteration(hk.Module):
    """One block of the template pair stack in AlphaFold-Multimer's order, on [N, N, c_t] with mask [N, N]."""

    def __init__(self, config: TemplatePairStackConfig, global_config: GlobalConfig,
                 name: str = "template_embedding_iteration"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, pair: jnp.ndarray, pair_mask: jnp.ndarray) -> jnp.ndarray:
        c, gc = self.config, self.global_config
        for name, config in (("triangle_multiplication_outgoing", c.triangle_multiplication_outgoing),
                             ("triangle_multiplication_incoming", c.triangle_multiplication_incoming)):
            pair = pair + TriangleMultiplication(config, gc, name=name)(pair, pair_mask).astype(pair.dtype)
        pair = TriangleAttention(c.triangle_attention_starting_node, gc, ending_node=False,
                                 name="triangle_attention_starting_node")(pair, pair_mask)
        pair = TriangleAttention(c.triangle_attention_ending_node, gc, ending_node=True,
                                 name="triangle_attention_ending_node")(pair, pair_mask)
        return Transition(c.pair_transition, gc, name="pair_transition")(pair)


class SingleTemplateEmbedding(hk.Module):
    """One template's pair embedding [N, N, c_t] (see the module docstring)."""

    def __init__(self, config: TemplateConfig, global_config: GlobalConfig, name: str = "single_template_embedding"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, query_pair: jnp.ndarray, template_aatype: jnp.ndarray, positions: jnp.ndarray,
                 atom_mask: jnp.ndarray, pair_mask: jnp.ndarray, same_chain: jnp.ndarray) -> jnp.ndarray:
        c = self.config
        dtype = query_pair.dtype
        is_glycine = template_aatype == rc.restype_order["G"]
        beta_mask = jnp.where(is_glycine, atom_mask[:, rc.atom_order["CA"]], atom_mask[:, rc.atom_order["CB"]])
        beta_mask_2d = beta_mask[:, None] * beta_mask[None, :] * same_chain
        distogram = distance_one_hot(pseudo_beta(template_aatype, positions), c.dgram_features)
        distogram = (distogram * beta_mask_2d[..., None]).astype(dtype)
        aatype = jax.nn.one_hot(template_aatype, NUM_TEMPLATE_AATYPES, dtype=dtype)
        unit_vector, backbone_mask = backbone_unit_vectors(positions.astype(jnp.float32), atom_mask)
        backbone_mask_2d = backbone_mask[:, None] * backbone_mask[None, :] * same_chain
        unit_vector = [(component * backbone_mask_2d).astype(dtype) for component in unit_vector]
        query = LayerNorm(name="query_embedding_norm")(query_pair)
        features = [(distogram, 1), (beta_mask_2d.astype(dtype), 0), (aatype[None, :, :], 1),
                    (aatype[:, None, :], 1), *((component, 0) for component in unit_vector),
                    (backbone_mask_2d.astype(dtype), 0), (query, 1)]
        act = 0.0
        for index, (feature, num_input_dims) in enumerate(features):
            act += ShapedLinear((c.num_channel,), num_input_dims=num_input_dims, initializer="relu",
                                name=f"template_pair_embedding_{index}")(feature)

        iteration = TemplateEmbeddingIteration(c.template_pair_stack, self.global_config)
        act = LayerStack(lambda pair: iteration(pair, pair_mask), c.template_pair_stack.num_block)(act)
        return LayerNorm(name="output_layer_norm")(act)


class MultimerTemplateEmbedding(hk.Module):
    """``(query_pair [N, N, c_z], batch, pair_mask [N, N]) -> update [N, N, c_z]`` (see the module docstring)."""

    def __init__(self, config: TemplateConfig, global_config: GlobalConfig, name: str = "template_embedding"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, query_pair: jnp.ndarray, batch: dict[str, jnp.ndarray], pair_mask: jnp.ndarray) -> jnp.ndarray:
        c = self.config
        num_res = query_pair.shape[0]
        asym_id = batch["asym_id"]
        same_chain = (asym_id[:, None] == asym_id[None, :]).astype(jnp.float32)
        embedder = SingleTemplateEmbedding(c, self.global_config)

        def add_template(total, template):
            return total + embedder(query_pair, *template, pair_mask, same_chain), None

        templates = (batch["template_aatype"], batch["template_all_atom_positions"], batch["template_all_atom_mask"])
        initial = jnp.zeros((num_res, num_res, c.num_channel), query_pair.dtype)
        total, _ = hk.scan(add_template, initial, templates)
        embedding = jax.nn.relu(total / batch["template_aatype"].shape[0])
        return Linear(query_pair.shape[-1], initializer="relu", name="output_linear")(embedding)


def template_rows(batch: dict[str, jnp.ndarray], msa_channel: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Templates as MSA rows: (rows [T, N, c_m], row mask [T, N] = the chi1 mask). Call inside the trunk's
    scope (layers ``template_single_embedding`` and ``template_projection``)."""
    template_aatype = batch["template_aatype"]
    torsions = atom37_to_torsion_angles(template_aatype, batch["template_all_atom_positions"],
                                        batch["template_all_atom_mask"])
    chi_sin_cos = torsions["torsion_angles_sin_cos"][..., 3:, :]
    chi_mask = torsions["torsion_angles_mask"][..., 3:]
    features = jnp.concatenate([
        jax.nn.one_hot(template_aatype, NUM_TEMPLATE_AATYPES),
        chi_sin_cos[..., 0] * chi_mask,
        chi_sin_cos[..., 1] * chi_mask,
        chi_mask,
    ], axis=-1)
    rows = jax.nn.relu(Linear(msa_channel, initializer="relu", name="template_single_embedding")(features))
    rows = Linear(msa_channel, initializer="relu", name="template_projection")(rows)
    return rows, chi_mask[..., 0]
