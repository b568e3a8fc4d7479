"""The trunk: embeddings, recycling, templates, extra-MSA stack and Evoformer (Algorithm 2 lines 5-18).

:class:`EmbeddingsAndEvoformer` (scope ``evoformer`` in the published parameters) turns one recycling
slice of the processed features, plus the previous iteration's outputs, into the representations the
structure module and heads read:

* ``msa`` [N_clust, N_res, c_m] -- the clustered MSA rows (template rows removed);
* ``msa_first_row`` [N_res, c_m] -- the query row, recycled into the next iteration;
* ``pair`` [N_res, N_res, c_z] -- recycled into the next iteration;
* ``single`` [N_res, c_s] -- Linear of the first MSA row, the structure module's input.

Batch keys read: ``target_feat``, ``msa_feat``, ``msa_mask``, ``seq_mask``, ``aatype``, ``residue_index``,
the extra-MSA features, the template features (template presets), and ``prev_pos`` [N_res, 37, 3],
``prev_msa_first_row``, ``prev_pair`` (zeros at the first iteration). Padded residues (``seq_mask`` 0)
and padded MSA rows (mask 0) never influence the representations of real residues.

With ``GlobalConfig.bfloat16`` the MSA and pair activations of the template embedding, the extra-MSA
stack and the Evoformer are bfloat16, and so are the parameters they read (cast as they are read; layer
normalisations keep theirs and compute in float32); the representations returned are float32.
"""

from __future__ import annotations

import haiku as hk
import jax.numpy as jnp

from snakefold.model.embeddings import InputEmbedder, RecyclingEmbedder, RelativePositionEncoding
from snakefold.model.evoformer import EvoformerStack
from snakefold.model.extra_msa import ExtraMsaStack
from snakefold.model.hyperparameters import EmbeddingsAndEvoformerConfig, GlobalConfig
from snakefold.model.primitives import LayerNorm
from snakefold.model.template_embedding import TemplateEmbedding, TemplateTorsionEmbedder


class EmbeddingsAndEvoformer(hk.Module):
    """Algorithm 2 lines 5-18: one recycling iteration's trunk; returns the representations dict."""

    def __init__(self, config: EmbeddingsAndEvoformerConfig, global_config: GlobalConfig, name: str = "evoformer"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    def __call__(self, batch: dict[str, jnp.ndarray]) -> dict[str, jnp.ndarray]:
        if not self.global_config.bfloat16:
            return self._representations(batch, jnp.float32)
        with hk.custom_getter(bfloat16_parameters):
            return self._representations(batch, jnp.bfloat16)

    @hk.transparent
    def _representations(self, batch: dict[str, jnp.ndarray], dtype) -> dict[str, jnp.ndarray]:
        c, gc = self.config, self.global_config
        seq_mask = batch["seq_mask"]
        pair_mask = seq_mask[:, None] * seq_mask[None, :]

        msa, pair = InputEmbedder(c)(batch["target_feat"], batch["msa_feat"])
        recycled = RecyclingEmbedder(c)(batch["aatype"], batch["prev_pos"], batch["prev_msa_first_row"],
                                        batch["prev_pair"])
        msa, pair = recycled.added_to(msa, pair)
        if c.max_relative_feature:
            pair += RelativePositionEncoding(c)(batch["residue_index"])
        msa, pair = msa.astype(dtype), pair.astype(dtype)

        if c.template.enabled:
            pair += TemplateEmbedding(c.template, gc)(pair, batch, pair_mask)

        pair = ExtraMsaStack(c, gc)(batch, pair, pair_mask)

        msa_mask = batch["msa_mask"]
        num_clusters = msa.shape[0]
        if c.template.enabled and c.template.embed_torsion_angles:
            template_rows, template_row_mask = TemplateTorsionEmbedder(c)(batch)
            msa = jnp.concatenate([msa, template_rows.astype(dtype)], axis=0)
            msa_mask = jnp.concatenate([msa_mask, template_row_mask], axis=0)

        msa, pair, single = EvoformerStack(c, gc)(msa, pair, msa_mask, pair_mask)
        representations = {"msa": msa[:num_clusters], "msa_first_row": msa[0], "pair": pair, "single": single}
        return {name: value.astype(jnp.float32) for name, value in representations.items()}


def bfloat16_parameters(next_getter, value: jnp.ndarray, context: hk.GetterContext) -> jnp.ndarray:
    """Haiku getter: float32 parameters as bfloat16, except those of layer normalisations.

    It casts what the inner getters return (one layer's slice of a stacked parameter, not the stack).
    """
    value = next_getter(value)
    if value.dtype == jnp.float32 and not isinstance(context.module, LayerNorm):
        return value.astype(jnp.bfloat16)
    return value
