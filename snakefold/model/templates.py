"""Template embedding: structural hints from homologous structures (Algorithm 2 lines 7-13, Algorithms 16-17).

Pair side (:class:`TemplateEmbedding`): each template becomes a pair-shaped feature map (its pseudo-beta
distogram, residue types of both ends, backbone masks), is embedded to 64 channels and refined by the
template pair stack (Algorithm 16, :class:`TemplatePairStack`); the query pair then attends over the
templates at every position (Algorithm 17 "TemplatePointwiseAttention"), and the result is added to the
pair representation.

MSA side (:class:`TemplateTorsionEmbedder`): each template's residue types and backbone/side-chain torsion
angles (sin, cos, the pi-shifted alternatives and their masks: 57 features) are projected to MSA rows that
are appended below the clustered MSA, masked where the template's psi angle is undefined.

Template features (one recycling slice): ``template_aatype`` [T, N_res] (AlphaFold2 order, 21 = gap),
``template_all_atom_positions`` [T, N_res, 37, 3], ``template_all_atom_masks`` [T, N_res, 37],
``template_pseudo_beta`` [T, N_res, 3], ``template_pseudo_beta_mask`` [T, N_res], ``template_mask`` [T].
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.common import residue_constants as rc
from snakefold.model.all_atom import atom37_to_torsion_angles
from snakefold.model.attention import Attention
from snakefold.model.config import EmbeddingsAndEvoformerConfig, GlobalConfig, TemplateConfig, TemplatePairStackConfig
from snakefold.model.embeddings import distance_one_hot
from snakefold.model.layer_stack import LayerStack
from snakefold.model.primitives import LayerNorm, Linear, apply_in_chunks, mask_bias
from snakefold.model.transition import Transition
from snakefold.model.triangle import TriangleAttention, TriangleMultiplication

#: Residue-type classes of template features: 20 amino acids, unknown, gap.
NUM_TEMPLATE_AATYPES = 22

#: Per-template arrays, in the order :class:`TemplateEmbedding` hands them to the single-template embedder.
TEMPLATE_FEATURES = ("template_aatype", "template_all_atom_positions", "template_all_atom_masks",
                     "template_pseudo_beta", "template_pseudo_beta_mask")


class TemplatePairStack(hk.Module):
    """Algorithm 16 "TemplatePairStack": ``num_block`` blocks over one template's pair features.

    Each block updates ``pair_act`` [N_res, N_res, c_t] with triangle attention (starting, then ending
    node), triangle multiplication (outgoing, then incoming) and a pair transition, in that order;
    ``pair_mask`` [N_res, N_res] is the residue padding mask.
    """

    def __init__(self, config: TemplatePairStackConfig, global_config: GlobalConfig,
                 name: str = "template_pair_stack"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, pair_act: jnp.ndarray, pair_mask: jnp.ndarray) -> jnp.ndarray:
        c, gc = self.config, self.global_config
        if not c.num_block:
            return pair_act

        def block(pair: jnp.ndarray) -> jnp.ndarray:
            pair = pair + TriangleAttention(c.triangle_attention_starting_node, gc, ending_node=False,
                                            name="triangle_attention_starting_node")(pair, pair_mask)
            pair = pair + TriangleAttention(c.triangle_attention_ending_node, gc, ending_node=True,
                                            name="triangle_attention_ending_node")(pair, pair_mask)
            pair = pair + TriangleMultiplication(c.triangle_multiplication_outgoing, gc,
                                                 name="triangle_multiplication_outgoing")(pair, pair_mask)
            pair = pair + TriangleMultiplication(c.triangle_multiplication_incoming, gc,
                                                 name="triangle_multiplication_incoming")(pair, pair_mask)
            return pair + Transition(c.pair_transition, gc, name="pair_transition")(pair)

        return LayerStack(block, c.num_block)(pair_act)


class SingleTemplateEmbedding(hk.Module):
    """Algorithm 2 lines 9-11 for one template: pair features (88 channels) -> [N_res, N_res, c_t].

    Features at (i, j): the 39-bin pseudo-beta distogram and the pseudo-beta pair mask; the one-hot residue
    type (22) of j and of i; three unit-vector channels, zero in every published monomer model; and the
    backbone pair mask (N, CA and C present at both ends), which also masks all features. They are
    embedded (``embedding2d``), refined by the template pair stack and layer-normalised.
    """

    def __init__(self, config: TemplateConfig, global_config: GlobalConfig, name: str = "single_template_embedding"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, template_aatype: jnp.ndarray, atom_positions: jnp.ndarray, atom_masks: jnp.ndarray,
                 pseudo_beta: jnp.ndarray, pseudo_beta_mask: jnp.ndarray, pair_mask: jnp.ndarray) -> jnp.ndarray:
        num_res = template_aatype.shape[0]
        dtype = pair_mask.dtype
        pseudo_beta_mask_2d = (pseudo_beta_mask[:, None] * pseudo_beta_mask[None, :]).astype(dtype)
        distogram = distance_one_hot(pseudo_beta, self.config.dgram_features).astype(dtype)
        aatype = jax.nn.one_hot(template_aatype, NUM_TEMPLATE_AATYPES, dtype=dtype)
        n, ca, c = (rc.atom_order[atom] for atom in ("N", "CA", "C"))
        backbone_mask = atom_masks[:, n] * atom_masks[:, ca] * atom_masks[:, c]
        backbone_mask_2d = (backbone_mask[:, None] * backbone_mask[None, :]).astype(dtype)
        unit_vector = jnp.zeros((num_res, num_res, 3), dtype)
        features = jnp.concatenate([
            distogram,
            pseudo_beta_mask_2d[..., None],
            jnp.broadcast_to(aatype[None, :, :], (num_res, num_res, NUM_TEMPLATE_AATYPES)),
            jnp.broadcast_to(aatype[:, None, :], (num_res, num_res, NUM_TEMPLATE_AATYPES)),
            unit_vector,
            backbone_mask_2d[..., None],
        ], axis=-1)
        features *= backbone_mask_2d[..., None]

        act = Linear(self.config.num_channel, initializer="relu", name="embedding2d")(features)
        act = TemplatePairStack(self.config.template_pair_stack, self.global_config)(act, pair_mask)
        return LayerNorm(name="output_layer_norm")(act)


class TemplateEmbedding(hk.Module):
    """Algorithm 2 lines 9-13 with Algorithm 17 "TemplatePointwiseAttention".

    ``query_pair`` [N_res, N_res, c_z], template features (module docstring), ``pair_mask`` [N_res, N_res]
    -> pair update [N_res, N_res, c_z]. Templates are embedded one after the other (shared weights); at
    every pair position the query attends over the templates present (``template_mask``). Without any
    template present the update is zero.
    """

    def __init__(self, config: TemplateConfig, global_config: GlobalConfig, name: str = "template_embedding"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, query_pair: jnp.ndarray, batch: dict[str, jnp.ndarray], pair_mask: jnp.ndarray) -> jnp.ndarray:
        num_res, _, pair_channel = query_pair.shape
        template_mask = batch["template_mask"].astype(query_pair.dtype)
        num_templates = template_mask.shape[0]
        embedder = SingleTemplateEmbedding(self.config, self.global_config)

        def embed_templates(*template_arrays: jnp.ndarray) -> jnp.ndarray:
            embed_one = lambda *arrays: embedder(*arrays, pair_mask)
            return hk.vmap(embed_one, split_rng=False)(*template_arrays)

        templates = apply_in_chunks(embed_templates, [batch[key] for key in TEMPLATE_FEATURES], chunk_size=1)

        flat_query = query_pair.reshape(num_res * num_res, 1, pair_channel)
        flat_templates = jnp.transpose(templates, (1, 2, 0, 3)).reshape(num_res * num_res, num_templates, -1)
        bias = mask_bias(template_mask)[None, None, None, :]
        attention = Attention(self.config.attention, self.global_config, pair_channel)
        update = attention(flat_query, flat_templates, bias, chunk_size=self.config.subbatch_size)
        update = update.reshape(num_res, num_res, pair_channel)
        return update * (jnp.sum(template_mask) > 0.0).astype(update.dtype)


class TemplateTorsionEmbedder(hk.Module):
    """Algorithm 2 lines 7-8: templates as extra MSA rows from their residue types and torsion angles.

    Features per template residue (57): one-hot residue type (22), the sin/cos of the seven torsion angles
    (14), the same with pi-periodic side-chain angles turned by 180 degrees (14) and the seven angle masks.
    Undefined angles are not replaced by a placeholder, as in AlphaFold2's inference. Returns (rows
    [T, N_res, c_m], row mask [T, N_res]: the psi-angle mask, which depends on one residue's backbone only).
    """

    def __init__(self, config: EmbeddingsAndEvoformerConfig, name: str = "template_torsion_embedder"):
        super().__init__(name=name)
        self.config = config

    @hk.transparent
    def __call__(self, batch: dict[str, jnp.ndarray]) -> tuple[jnp.ndarray, jnp.ndarray]:
        template_aatype = batch["template_aatype"]
        num_templates, num_res = template_aatype.shape
        torsions = atom37_to_torsion_angles(template_aatype, batch["template_all_atom_positions"],
                                            batch["template_all_atom_masks"], placeholder_for_undefined=False)
        features = jnp.concatenate([
            jax.nn.one_hot(template_aatype, NUM_TEMPLATE_AATYPES),
            torsions["torsion_angles_sin_cos"].reshape(num_templates, num_res, 14),
            torsions["alt_torsion_angles_sin_cos"].reshape(num_templates, num_res, 14),
            torsions["torsion_angles_mask"],
        ], axis=-1)
        rows = jax.nn.relu(Linear(self.config.msa_channel, initializer="relu",
                                  name="template_single_embedding")(features))
        rows = Linear(self.config.msa_channel, initializer="relu", name="template_projection")(rows)
        psi_index = 2
        return rows, torsions["torsion_angles_mask"][..., psi_index]
