"""The two model families by preset name: AlphaFold2's monomer presets and AlphaFold-Multimer v3's.

A preset name decides its family (:data:`snakefold.model.param_sets.MULTIMER_PRESETS` or the monomer
presets); these functions give a preset's configuration for an architecture (``full``, the published
network, or ``small``, its miniature), its parameter names and shapes, and random parameters, whatever
the family, so that commands need not know which model a preset runs.
"""

from __future__ import annotations

import haiku as hk

from snakefold.model.multimer.model import init_multimer_params, multimer_param_shapes
from snakefold.model.multimer.presets import MultimerConfig, multimer_architecture_config
from snakefold.model.param_sets import MONOMER_PRESETS, MULTIMER_PRESETS
from snakefold.model.params import init_params, param_shapes
from snakefold.model.presets import ModelConfig, architecture_config

#: Every preset a parameter file can be made for and run with.
ALL_PRESETS: tuple[str, ...] = MONOMER_PRESETS + MULTIMER_PRESETS


def preset_config(preset: str, architecture: str) -> ModelConfig | MultimerConfig:
    """The configuration of ``preset`` built as ``architecture``."""
    if preset in MULTIMER_PRESETS:
        return multimer_architecture_config(preset, architecture)
    return architecture_config(preset, architecture)


def config_param_shapes(config: ModelConfig | MultimerConfig) -> dict[str, tuple[int, ...]]:
    """``{'scope//name': shape}`` of the parameters ``config`` needs."""
    return multimer_param_shapes(config) if isinstance(config, MultimerConfig) else param_shapes(config)


def random_params(config: ModelConfig | MultimerConfig, seed: int) -> hk.Params:
    """Parameters of ``config`` initialised at random from ``seed``."""
    return init_multimer_params(config, seed) if isinstance(config, MultimerConfig) else init_params(config, seed)
