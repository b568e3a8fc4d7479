"""The ten AlphaFold2 monomer presets and a miniature for tests: the whole model's configuration.

A :class:`ModelConfig` holds everything that shapes the network (trunk, structure module, heads) and the
feature processing that feeds it. :func:`model_config` returns one published preset, ``model_1`` ..
``model_5`` and ``model_1_ptm`` .. ``model_5_ptm``, with AlphaFold2's values (Jumper et al. 2021,
supplement section 1.11 and Table 5); :func:`small_config` a miniature of the same architecture for tests.

What differs between presets:

* templates: models 1 and 2 embed templates (pair stack, point-wise attention and torsion-angle MSA rows);
  they take four MSA cluster slots less (508 clusters instead of 512) to make room for the template rows;
* extra-MSA depth: 5120 sequences for models 1, 3 and 4, 1024 for models 2 and 5;
* ``_ptm`` presets add the predicted-aligned-error head (pTM and PAE).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from snakefold.common.errors import SnakefoldError
from snakefold.model.heads import (
    DistogramHeadConfig,
    ExperimentallyResolvedHeadConfig,
    MaskedMsaHeadConfig,
    PredictedAlignedErrorHeadConfig,
    PredictedLDDTHeadConfig,
)
from snakefold.model.hyperparameters import (
    AttentionConfig,
    EmbeddingsAndEvoformerConfig,
    EvoformerBlockConfig,
    FeatureConfig,
    GlobalConfig,
    OuterProductMeanConfig,
    TemplatePairStackConfig,
    TransitionConfig,
    TriangleMultiplicationConfig,
)
from snakefold.model.invariant_point_attention import InvariantPointAttentionConfig
from snakefold.model.param_sets import ARCHITECTURES, MONOMER_PRESETS, has_ptm_head
from snakefold.model.structure_module import StructureModuleConfig, TorsionAngleResNetConfig


@dataclass(frozen=True)
class HeadsConfig:
    """The output heads; ``predicted_aligned_error`` is None except in the ``_ptm`` presets."""

    distogram: DistogramHeadConfig = field(default_factory=DistogramHeadConfig)
    masked_msa: MaskedMsaHeadConfig = field(default_factory=MaskedMsaHeadConfig)
    predicted_lddt: PredictedLDDTHeadConfig = field(default_factory=PredictedLDDTHeadConfig)
    experimentally_resolved: ExperimentallyResolvedHeadConfig = field(
        default_factory=ExperimentallyResolvedHeadConfig)
    predicted_aligned_error: PredictedAlignedErrorHeadConfig | None = None


@dataclass(frozen=True)
class ModelConfig:
    """One preset: feature processing, trunk, structure module, heads, global settings and recycling.

    ``trunk_only`` runs the network up to the trunk's representations (msa, msa_first_row, pair, single),
    without the structure module and heads; recycling then feeds back the representations only.
    """

    preset: str
    features: FeatureConfig = field(default_factory=FeatureConfig)
    embeddings_and_evoformer: EmbeddingsAndEvoformerConfig = field(default_factory=EmbeddingsAndEvoformerConfig)
    structure_module: StructureModuleConfig = field(default_factory=StructureModuleConfig)
    heads: HeadsConfig = field(default_factory=HeadsConfig)
    global_config: GlobalConfig = field(default_factory=GlobalConfig)
    num_recycle: int = 3
    trunk_only: bool = False

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)


def _with_templates(config: ModelConfig) -> ModelConfig:
    trunk = config.embeddings_and_evoformer
    template = dataclasses.replace(trunk.template, enabled=True, embed_torsion_angles=True)
    features = dataclasses.replace(config.features, use_templates=True, reduce_msa_clusters_by_max_templates=True)
    return config.replace(features=features,
                          embeddings_and_evoformer=dataclasses.replace(trunk, template=template))


def model_config(preset: str) -> ModelConfig:
    """The configuration of a published AlphaFold2 monomer preset (``model_1`` .. ``model_5_ptm``)."""
    if preset not in MONOMER_PRESETS:
        raise SnakefoldError(
            f"unknown model preset {preset!r}: choose one of {', '.join(MONOMER_PRESETS)}")
    model_number = int(preset.split("_")[1])
    config = ModelConfig(preset=preset)
    if model_number in (1, 2):
        config = _with_templates(config)
    if model_number in (1, 3, 4):
        config = config.replace(features=dataclasses.replace(config.features, max_extra_msa=5120))
    if has_ptm_head(preset):
        config = config.replace(heads=dataclasses.replace(
            config.heads, predicted_aligned_error=PredictedAlignedErrorHeadConfig()))
    return config


def small_config(preset: str = "model_1_ptm", *, num_block: int = 2, msa_channel: int = 16,
                 pair_channel: int = 8, seq_channel: int = 12, extra_msa_channel: int = 8,
                 num_head: int = 2, max_msa_clusters: int = 24, max_extra_msa: int = 32,
                 template_channel: int = 8) -> ModelConfig:
    """A miniature of ``preset`` for tests: the same modules, names and wiring, few blocks and channels."""
    config = model_config(preset)
    trunk = config.embeddings_and_evoformer
    head_dim = 4
    attention = AttentionConfig(num_head=num_head)
    block = EvoformerBlockConfig(
        msa_row_attention_with_pair_bias=attention,
        msa_column_attention=attention,
        msa_transition=TransitionConfig(2),
        outer_product_mean=OuterProductMeanConfig(num_outer_channel=4, chunk_size=5),
        triangle_multiplication_outgoing=TriangleMultiplicationConfig(outgoing=True,
                                                                      num_intermediate_channel=pair_channel),
        triangle_multiplication_incoming=TriangleMultiplicationConfig(outgoing=False,
                                                                      num_intermediate_channel=pair_channel),
        triangle_attention_starting_node=attention,
        triangle_attention_ending_node=attention,
        pair_transition=TransitionConfig(2),
    )
    template_attention = AttentionConfig(num_head=num_head, key_dim=num_head * head_dim,
                                         value_dim=template_channel)
    pair_stack = TemplatePairStackConfig(
        num_block=1,
        triangle_attention_starting_node=template_attention,
        triangle_attention_ending_node=template_attention,
        triangle_multiplication_outgoing=TriangleMultiplicationConfig(outgoing=True,
                                                                      num_intermediate_channel=template_channel),
        triangle_multiplication_incoming=TriangleMultiplicationConfig(outgoing=False,
                                                                      num_intermediate_channel=template_channel),
        pair_transition=TransitionConfig(2),
    )
    template = dataclasses.replace(
        trunk.template,
        attention=AttentionConfig(num_head=num_head, gating=False, key_dim=num_head * head_dim,
                                  value_dim=num_head * head_dim),
        template_pair_stack=pair_stack,
        subbatch_size=7,
    )
    trunk = dataclasses.replace(
        trunk, evoformer_num_block=num_block, evoformer=block, extra_msa_channel=extra_msa_channel,
        extra_msa_stack_num_block=1, msa_channel=msa_channel, pair_channel=pair_channel,
        seq_channel=seq_channel, template=template)
    features = dataclasses.replace(config.features, max_msa_clusters=max_msa_clusters,
                                   max_extra_msa=max_extra_msa, residue_buckets=(8, 16, 32))
    structure_module = StructureModuleConfig(
        num_layer=2, num_channel=seq_channel,
        invariant_point_attention=InvariantPointAttentionConfig(num_head=num_head, num_scalar_qk=4, num_scalar_v=4,
                                                                num_point_qk=2, num_point_v=3),
        torsion_angles=TorsionAngleResNetConfig(num_channel=8))
    heads = dataclasses.replace(config.heads, predicted_lddt=PredictedLDDTHeadConfig(num_channels=8))
    return config.replace(embeddings_and_evoformer=trunk, features=features, structure_module=structure_module,
                          heads=heads, global_config=GlobalConfig(subbatch_size=3, zero_init=False), num_recycle=1)


def architecture_config(preset: str, architecture: str) -> ModelConfig:
    """``preset`` built as one of :data:`~snakefold.model.param_sets.ARCHITECTURES`: ``full`` (the published
    network, :func:`model_config`) or ``small`` (:func:`small_config` with its defaults)."""
    if architecture == "full":
        return model_config(preset)
    if architecture == "small":
        return small_config(preset)
    raise SnakefoldError(f"unknown architecture {architecture!r}: choose one of {', '.join(ARCHITECTURES)}")
