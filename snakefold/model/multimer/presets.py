"""The five AlphaFold-Multimer v3 presets (AlphaFold2 v2.3.2) and a miniature for tests.

A :class:`MultimerConfig` holds the trunk (the monomer's :class:`EmbeddingsAndEvoformerConfig`, with
AlphaFold-Multimer's block order and fused triangle weights), the MSA sampling done inside the model
(:mod:`snakefold.model.multimer.sampling`), the chain-aware relative position encoding, the structure
module, the heads and recycling with early stopping.

What differs from the monomer presets: the MSA is sampled on the device every recycling iteration
(``num_msa`` 508 cluster rows, ``num_extra_msa`` extra rows), the outer product mean starts each block,
triangle multiplications store fused weights, templates act within chains and have no point-wise
attention, the structure module works in ``position_scale`` 20 units, the masked-MSA head has 22 classes,
every preset has the predicted-aligned-error head, and recycling runs up to 20 times, stopping once the
CA distances change by at most ``recycle_early_stop_tolerance`` Angstrom. Models 4 and 5 read 1152
extra-MSA rows, models 1-3 2048; otherwise the five presets are the same network.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from snakefold.common.errors import SnakefoldError
from snakefold.model.heads import MaskedMsaHeadConfig, PredictedAlignedErrorHeadConfig
from snakefold.model.hyperparameters import (
    EmbeddingsAndEvoformerConfig,
    EvoformerBlockConfig,
    GlobalConfig,
    MaskedMsaConfig,
    TemplateConfig,
    TemplatePairStackConfig,
)
from snakefold.model.param_sets import MULTIMER_PRESETS
from snakefold.model.presets import HeadsConfig, small_config
from snakefold.model.structure_module import StructureModuleConfig


@dataclass(frozen=True)
class MultimerConfig:
    """One AlphaFold-Multimer preset.

    ``num_msa``: cluster rows sampled per iteration (each chain's query row always among them);
    ``num_extra_msa``: rows of the remaining MSA the extra-MSA stack reads; ``masked_msa``: BERT corruption
    of the sampled rows; ``max_relative_chain``: clip of the relative symmetry index of two copies of one
    entity; ``num_recycle``: most recycling iterations; ``recycle_early_stop_tolerance``: stop recycling once
    the CA distance matrix changes by at most this (Angstrom RMS); negative: never stop early.
    """

    preset: str
    embeddings_and_evoformer: EmbeddingsAndEvoformerConfig
    structure_module: StructureModuleConfig = field(
        default_factory=lambda: StructureModuleConfig(position_scale=20.0))
    heads: HeadsConfig = field(default_factory=lambda: HeadsConfig(
        masked_msa=MaskedMsaHeadConfig(num_output=22), predicted_aligned_error=PredictedAlignedErrorHeadConfig()))
    global_config: GlobalConfig = field(default_factory=GlobalConfig)
    num_msa: int = 508
    num_extra_msa: int = 2048
    masked_msa: MaskedMsaConfig = field(default_factory=MaskedMsaConfig)
    max_relative_chain: int = 2
    num_recycle: int = 20
    recycle_early_stop_tolerance: float = 0.5
    resample_msa_in_recycling: bool = True

    def replace(self, **changes) -> MultimerConfig:
        return dataclasses.replace(self, **changes)

    @property
    def trunk_only(self) -> bool:
        """The multimer always runs whole (:func:`snakefold.model.params.check_params` asks)."""
        return False


def multimer_block(block: EvoformerBlockConfig) -> EvoformerBlockConfig:
    """``block`` in AlphaFold-Multimer v3's layout: outer product mean first, fused triangle weights."""
    return dataclasses.replace(
        block,
        outer_product_mean=dataclasses.replace(block.outer_product_mean, first=True),
        triangle_multiplication_outgoing=dataclasses.replace(block.triangle_multiplication_outgoing,
                                                             fuse_projection_weights=True),
        triangle_multiplication_incoming=dataclasses.replace(block.triangle_multiplication_incoming,
                                                             fuse_projection_weights=True))


def multimer_template(template: TemplateConfig) -> TemplateConfig:
    """``template`` enabled, with fused triangle weights in its pair stack."""
    stack: TemplatePairStackConfig = template.template_pair_stack
    stack = dataclasses.replace(
        stack,
        triangle_multiplication_outgoing=dataclasses.replace(stack.triangle_multiplication_outgoing,
                                                             fuse_projection_weights=True),
        triangle_multiplication_incoming=dataclasses.replace(stack.triangle_multiplication_incoming,
                                                             fuse_projection_weights=True))
    return dataclasses.replace(template, enabled=True, embed_torsion_angles=True, template_pair_stack=stack)


def multimer_trunk(trunk: EmbeddingsAndEvoformerConfig) -> EmbeddingsAndEvoformerConfig:
    return dataclasses.replace(trunk, evoformer=multimer_block(trunk.evoformer),
                               template=multimer_template(trunk.template))


def multimer_config(preset: str) -> MultimerConfig:
    """The configuration of a published AlphaFold-Multimer v3 preset (``model_1_multimer_v3`` ..)."""
    if preset not in MULTIMER_PRESETS:
        raise SnakefoldError(f"unknown multimer preset {preset!r}: choose one of {', '.join(MULTIMER_PRESETS)}")
    model_number = int(preset.split("_")[1])
    config = MultimerConfig(preset=preset, embeddings_and_evoformer=multimer_trunk(EmbeddingsAndEvoformerConfig()))
    if model_number in (4, 5):
        config = config.replace(num_extra_msa=1152)
    return config


def small_multimer_config(preset: str = "model_1_multimer_v3", *, num_msa: int = 24,
                          num_extra_msa: int = 32) -> MultimerConfig:
    """A miniature of ``preset`` for tests: the monomer miniature's channels and blocks
    (:func:`snakefold.model.presets.small_config`) in the multimer layout, random parameters not zero-initialised."""
    full = multimer_config(preset)
    small = small_config("model_1_ptm")
    return full.replace(
        embeddings_and_evoformer=multimer_trunk(small.embeddings_and_evoformer),
        structure_module=dataclasses.replace(small.structure_module,
                                             position_scale=full.structure_module.position_scale),
        heads=dataclasses.replace(full.heads, predicted_lddt=small.heads.predicted_lddt),
        global_config=small.global_config, num_msa=num_msa, num_extra_msa=num_extra_msa, num_recycle=1)


def multimer_architecture_config(preset: str, architecture: str) -> MultimerConfig:
    """``preset`` built as ``full`` (the published network) or ``small`` (:func:`small_multimer_config`)."""
    if architecture == "full":
        return multimer_config(preset)
    if architecture == "small":
        return small_multimer_config(preset)
    raise SnakefoldError(f"unknown architecture {architecture!r}: choose one of full, small")
