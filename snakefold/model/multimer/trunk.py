"""AlphaFold-Multimer's trunk: MSA sampling, embeddings, templates, extra-MSA stack and Evoformer.

:class:`MultimerEmbeddingsAndEvoformer` (scope ``evoformer``) takes the merged complex features and one
recycling iteration's random key and returns the representations (``msa`` [N_clust, N_res, c_m],
``msa_first_row``, ``pair`` [N_res, N_res, c_z], ``single`` [N_res, c_s]). In order:

1. the MSA profile of the whole MSA; the key is split in three (kept, sampling, masking); the sampled cluster
   rows, their BERT corruption and cluster statistics (:mod:`snakefold.model.multimer.sampling`) give
   ``msa_feat`` [N_clust, N_res, 49]; ``target_feat`` is one_hot(aatype, 21);
2. the monomer's input embedder and recycling embedder (:mod:`snakefold.model.embeddings`);
3. the chain-aware relative position encoding (:meth:`_relative_encoding`, 73 features);
4. templates within chains (:mod:`snakefold.model.multimer.templates`);
5. the monomer's extra-MSA stack on the first ``num_extra_msa`` extra rows, and its Evoformer stack on the
   cluster rows with the template rows appended.

Batch keys: ``aatype``, ``residue_index``, ``asym_id``, ``entity_id``, ``sym_id``, ``seq_mask`` [N_res];
``msa``, ``deletion_matrix``, ``msa_mask``, ``bert_mask`` [N_seq, N_res]; ``cluster_bias_mask`` [N_seq];
the template features; ``prev_pos``, ``prev_msa_first_row``, ``prev_pair``.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model.embeddings import InputEmbedder, RecyclingEmbedder
from snakefold.model.evoformer import EvoformerStack
from snakefold.model.extra_msa import ExtraMsaStack
from snakefold.model.multimer import sampling
from snakefold.model.multimer.presets import MultimerConfig
from snakefold.model.multimer.templates import MultimerTemplateEmbedding, template_rows
from snakefold.model.primitives import Linear
from snakefold.model.trunk import bfloat16_parameters

#: Classes of ``target_feat``: 20 amino acids and unknown.
NUM_TARGET_CLASSES = 21


class MultimerEmbeddingsAndEvoformer(hk.Module):
    """One recycling iteration's trunk: ``(batch, key) -> representations`` (see the module docstring)."""

    def __init__(self, config: MultimerConfig, name: str = "evoformer"):
        super().__init__(name=name)
        self.config = config

    def __call__(self, batch: dict[str, jnp.ndarray], key: jnp.ndarray) -> dict[str, jnp.ndarray]:
        if not self.config.global_config.bfloat16:
            return self._representations(batch, key, jnp.float32)
        with hk.custom_getter(bfloat16_parameters):
            return self._representations(batch, key, jnp.bfloat16)

    def _relative_encoding(self, batch: dict[str, jnp.ndarray], dtype) -> jnp.ndarray:
        """[N_res, N_res, c_z] from 73 features of each residue pair (i, j):

        * the residue-index offset clipped to [-32, 32] within a chain, one bin (65) for different chains;
        * whether i and j belong to the same entity (identical chains);
        * the symmetry-index offset clipped to [-2, 2] within an entity, one bin (5) for different entities.
        """
        trunk = self.config.embeddings_and_evoformer
        max_offset, max_chain = trunk.max_relative_feature, self.config.max_relative_chain
        residue_index, asym_id = batch["residue_index"], batch["asym_id"]
        same_chain = asym_id[:, None] == asym_id[None, :]
        offset = jnp.clip(residue_index[:, None] - residue_index[None, :] + max_offset, 0, 2 * max_offset)
        offset = jnp.where(same_chain, offset, 2 * max_offset + 1).astype(jnp.int32)
        entity_id, sym_id = batch["entity_id"], batch["sym_id"]
        same_entity = entity_id[:, None] == entity_id[None, :]
        chain_offset = jnp.clip(sym_id[:, None] - sym_id[None, :] + max_chain, 0, 2 * max_chain)
        chain_offset = jnp.where(same_entity, chain_offset, 2 * max_chain + 1).astype(jnp.int32)
        features = jnp.concatenate([
            jax.nn.one_hot(offset, 2 * max_offset + 2),
            same_entity.astype(jnp.float32)[..., None],
            jax.nn.one_hot(chain_offset, 2 * max_chain + 2),
        ], axis=-1).astype(dtype)
        return Linear(trunk.pair_channel, name="position_activations")(features)

    @hk.transparent
    def _representations(self, batch: dict[str, jnp.ndarray], key: jnp.ndarray, dtype) -> dict[str, jnp.ndarray]:
        config = self.config
        c, gc = config.embeddings_and_evoformer, config.global_config
        profile = sampling.msa_profile(batch["msa"], batch["msa_mask"])
        _, sample_key, mask_key = jax.random.split(key, 3)
        sampled = sampling.sample_msa(sample_key, batch, config.num_msa)
        sampled = sampling.mask_msa(mask_key, sampled, profile, config.masked_msa)
        cluster_profile, deletion_mean = sampling.cluster_statistics(sampled)
        msa_feat = sampling.cluster_msa_features(sampled, cluster_profile, deletion_mean)
        target_feat = jax.nn.one_hot(batch["aatype"], NUM_TARGET_CLASSES)

        seq_mask = batch["seq_mask"]
        pair_mask = (seq_mask[:, None] * seq_mask[None, :]).astype(dtype)
        msa, pair = InputEmbedder(c)(target_feat.astype(dtype), msa_feat.astype(dtype))
        recycled = RecyclingEmbedder(c)(batch["aatype"], batch["prev_pos"], batch["prev_msa_first_row"],
                                        batch["prev_pair"])
        msa, pair = recycled.added_to(msa, pair)
        pair += self._relative_encoding(batch, dtype)
        msa, pair = msa.astype(dtype), pair.astype(dtype)

        if c.template.enabled:
            pair += MultimerTemplateEmbedding(c.template, gc)(pair, batch, pair_mask)

        pair = ExtraMsaStack(c, gc)(sampling.extra_msa_batch(sampled, config.num_extra_msa), pair, pair_mask)

        msa_mask = sampled["msa_mask"].astype(dtype)
        num_clusters = msa.shape[0]
        if c.template.enabled:
            rows, row_mask = template_rows(batch, c.msa_channel)
            msa = jnp.concatenate([msa, rows.astype(dtype)], axis=0)
            msa_mask = jnp.concatenate([msa_mask, row_mask.astype(dtype)], axis=0)

        msa, pair, single = EvoformerStack(c, gc)(msa, pair, msa_mask, pair_mask)
        representations = {"msa": msa[:num_clusters], "msa_first_row": msa[0], "pair": pair, "single": single}
        return {name: value.astype(jnp.float32) for name, value in representations.items()}
