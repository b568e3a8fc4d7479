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
from snakefold.model.embeddings import distance_one_hot
from snakefold.model.hyperparameters import (
    EmbeddingsAndEvoformerConfig,
    GlobalConfig,
    TemplateConfig,
    TemplatePairStackConfig,
)
from snakefold.model.layer_stack import LayerStack
from snakefold.model.primitives import LayerNorm, Linear, chunk_size_for, mask_bias, update_in_chunks
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
            # Triangle attention and the transition add their updates themselves.
            pair = TriangleAttention(c.triangle_attention_starting_node, gc, ending_node=False,
                                     name="triangle_attention_starting_node")(pair, pair_mask)
            pair = TriangleAttention(c.triangle_attention_ending_node, gc, ending_node=True,
                                     name="triangle_attention_ending_node")(pair, pair_mask)
            for name, config in (("triangle_multiplication_outgoing", c.triangle_multiplication_outgoing),
                                 ("triangle_multiplication_incoming", c.triangle_multiplication_incoming)):
                pair = pair + TriangleMultiplication(config, gc, name=name)(pair, pair_mask).astype(pair.dtype)
            return Transition(c.pair_transition, gc, name="pair_transition")(pair)

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

    The attention is computed as the templates are embedded, with a running softmax (per position and
    head: the largest logit so far, the sum of exponentials and the exponential-weighted sum of values,
    rescaled when the largest logit grows), so that only one embedded template [N_res, N_res, c_t] exists
    at a time; pair rows are processed ``subbatch_size`` at a time (``"auto"``: as many as the chunk
    budget holds), in place.
    """

    def __init__(self, config: TemplateConfig, global_config: GlobalConfig, name: str = "template_embedding"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, query_pair: jnp.ndarray, batch: dict[str, jnp.ndarray], pair_mask: jnp.ndarray) -> jnp.ndarray:
        num_res, _, pair_channel = query_pair.shape
        template_channel = self.config.num_channel
        num_head = self.config.attention.num_head
        key_dim, value_dim = (dim // num_head for dim in (self.config.attention.key_dim or pair_channel,
                                                          self.config.attention.value_dim or template_channel))
        template_mask = batch["template_mask"].astype(jnp.float32)
        embedder = SingleTemplateEmbedding(self.config, self.global_config)
        attention = Attention(self.config.attention, self.global_config, pair_channel)
        # In the activations' precision: the features built from the mask, and so the pair stack, follow it.
        activation_mask = pair_mask.astype(query_pair.dtype)
        # Per pair row, float32 at most: query, key and value projections, the running sums, the inputs.
        row_bytes = 4 * num_res * (num_head * (2 * key_dim + 2 * value_dim + 2) + pair_channel + template_channel)
        row_chunk = chunk_size_for(self.config.subbatch_size, num_res, row_bytes, self.global_config)

        def add_template(state, template):
            *arrays, present = template
            embedded = embedder(*arrays, activation_mask)
            weights = attention.parameters(pair_channel, template_channel, embedded.dtype)
            bias = mask_bias(present)

            def update_rows(state_rows, query_rows, embedded_rows):
                largest, total, weighted = state_rows
                queries = jnp.einsum("ija,ahc->ijhc", query_rows, weights["query_w"]) * key_dim ** (-0.5)
                keys = jnp.einsum("ija,ahc->ijhc", embedded_rows, weights["key_w"])
                values = jnp.einsum("ija,ahc->ijhc", embedded_rows, weights["value_w"])
                logits = jnp.sum(queries * keys, axis=-1, dtype=jnp.float32) + bias
                new_largest = jnp.maximum(largest, logits)
                rescale, exponential = jnp.exp(largest - new_largest), jnp.exp(logits - new_largest)
                return (new_largest, total * rescale + exponential,
                        weighted * rescale[..., None] + exponential[..., None] * values.astype(jnp.float32))

            return update_in_chunks(update_rows, state, (query_pair, embedded), row_chunk), None

        state = (jnp.full((num_res, num_res, num_head), -jnp.inf, jnp.float32),
                 jnp.zeros((num_res, num_res, num_head), jnp.float32),
                 jnp.zeros((num_res, num_res, num_head, value_dim), jnp.float32))
        templates = [batch[key] for key in TEMPLATE_FEATURES] + [template_mask]
        (_, total, weighted), _ = hk.scan(add_template, state, templates)
        weights = attention.parameters(pair_channel, template_channel, query_pair.dtype)
        attended = (weighted / total[..., None]).astype(query_pair.dtype)
        if "gating_w" in weights:
            attended *= jax.nn.sigmoid(jnp.einsum("ija,ahc->ijhc", query_pair, weights["gating_w"])
                                       + weights["gating_b"])
        update = jnp.einsum("ijhc,hco->ijo", attended, weights["output_w"]) + weights["output_b"]
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
