"""The output heads of AlphaFold2 (supplement section 1.9): distogram, masked MSA, predicted lDDT,
predicted aligned error and experimentally resolved.

Each head is a Haiku module called as ``head(representations, batch, is_training=False) -> dict`` with
AlphaFold2's scope and layer names; it returns ``logits`` (and the bin edges where the head has bins).
Which representation each head reads:

=============================  ========================================  ===============================
head (scope)                   input                                     logits
=============================  ========================================  ===============================
distogram_head                 pair [N, N, c_z]                          [N, N, 64] (symmetric)
masked_msa_head                msa [N_seq, N, c_m]                       [N_seq, N, 23]
predicted_lddt_head            structure_module [N, c] (its output)      [N, 50]
predicted_aligned_error_head   pair [N, N, c_z]                          [N, N, 64]
experimentally_resolved_head   single [N, c_s]                           [N, 37] (atom37, sigmoid)
=============================  ========================================  ===============================

The predicted-lDDT head needs the structure module's single representation, so it runs after the
structure module has added ``representations['structure_module']``. :mod:`snakefold.model.confidence`
turns the logits into pLDDT, PAE and pTM.
"""

from __future__ import annotations

from dataclasses import dataclass

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.common import residue_constants as rc
from snakefold.model.hyperparameters import GlobalConfig
from snakefold.model.primitives import LayerNorm, Linear, final_initializer


@dataclass(frozen=True)
class DistogramHeadConfig:
    """``num_bins`` distance bins of the CB-CB distogram: ``num_bins - 1`` edges evenly spaced from
    ``first_break`` to ``last_break`` (Angstrom), the last bin open."""

    num_bins: int = 64
    first_break: float = 2.3125
    last_break: float = 21.6875


@dataclass(frozen=True)
class MaskedMsaHeadConfig:
    """``num_output`` classes per MSA position: 20 amino acids, unknown, gap and the mask token."""

    num_output: int = 23


@dataclass(frozen=True)
class PredictedLDDTHeadConfig:
    """``num_bins`` equal lDDT bins of [0, 1]; ``num_channels`` hidden width."""

    num_bins: int = 50
    num_channels: int = 128


@dataclass(frozen=True)
class PredictedAlignedErrorHeadConfig:
    """``num_bins`` error bins: ``num_bins - 1`` edges evenly spaced on [0, ``max_error_bin``] Angstrom
    (0.5 Angstrom apart), the last bin open. Only the ``_ptm`` presets have this head."""

    num_bins: int = 64
    max_error_bin: float = 31.0


@dataclass(frozen=True)
class ExperimentallyResolvedHeadConfig:
    """The experimentally-resolved head has nothing to configure: one logit per atom37 atom."""


class _Head(hk.Module):
    def __init__(self, config, global_config: GlobalConfig, name: str):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    @hk.transparent
    def _logits(self, num_output: int, inputs: jnp.ndarray, name: str = "logits") -> jnp.ndarray:
        return Linear(num_output, initializer=final_initializer(self.global_config), name=name)(inputs)


class DistogramHead(_Head):
    """Section 1.9.8: distribution of the CB-CB distance (CA for glycine) of every residue pair.

    The logits are made symmetric as ``h_ij + h_ji`` of a linear projection h of the pair representation.
    Returns ``logits`` [N, N, num_bins] and ``bin_edges`` [num_bins - 1] (Angstrom).
    """

    def __init__(self, config: DistogramHeadConfig = DistogramHeadConfig(),
                 global_config: GlobalConfig = GlobalConfig(), name: str = "distogram_head"):
        super().__init__(config, global_config, name)

    def __call__(self, representations: dict, batch: dict, is_training: bool = False) -> dict:
        half_logits = self._logits(self.config.num_bins, representations["pair"], name="half_logits")
        logits = half_logits + jnp.swapaxes(half_logits, 0, 1)
        bin_edges = jnp.linspace(self.config.first_break, self.config.last_break, self.config.num_bins - 1)
        return {"logits": logits, "bin_edges": bin_edges}


class MaskedMsaHead(_Head):
    """Section 1.9.9: the residue type at each MSA position, from the MSA representation.

    Returns ``logits`` [N_seq, N, num_output].
    """

    def __init__(self, config: MaskedMsaHeadConfig = MaskedMsaHeadConfig(),
                 global_config: GlobalConfig = GlobalConfig(), name: str = "masked_msa_head"):
        super().__init__(config, global_config, name)

    def __call__(self, representations: dict, batch: dict, is_training: bool = False) -> dict:
        return {"logits": self._logits(self.config.num_output, representations["msa"])}


class PredictedLDDTHead(_Head):
    """Section 1.9.6, Algorithm 29 "predictPerResidueLDDT_Ca": binned lDDT-CA of each residue, from the
    structure module's final single representation (LayerNorm, two ReLU layers, logits).

    Returns ``logits`` [N, num_bins].
    """

    def __init__(self, config: PredictedLDDTHeadConfig = PredictedLDDTHeadConfig(),
                 global_config: GlobalConfig = GlobalConfig(), name: str = "predicted_lddt_head"):
        super().__init__(config, global_config, name)

    def __call__(self, representations: dict, batch: dict, is_training: bool = False) -> dict:
        act = LayerNorm(name="input_layer_norm")(representations["structure_module"])
        act = jax.nn.relu(Linear(self.config.num_channels, initializer="relu", name="act_0")(act))
        act = jax.nn.relu(Linear(self.config.num_channels, initializer="relu", name="act_1")(act))
        return {"logits": self._logits(self.config.num_bins, act)}


class PredictedAlignedErrorHead(_Head):
    """Section 1.9.7: binned error of residue j's position after aligning on residue i's backbone frame,
    from the pair representation.

    Returns ``logits`` [N, N, num_bins] and ``breaks`` [num_bins - 1] (bin edges, Angstrom).
    """

    def __init__(self, config: PredictedAlignedErrorHeadConfig = PredictedAlignedErrorHeadConfig(),
                 global_config: GlobalConfig = GlobalConfig(), name: str = "predicted_aligned_error_head"):
        super().__init__(config, global_config, name)

    def __call__(self, representations: dict, batch: dict, is_training: bool = False) -> dict:
        logits = self._logits(self.config.num_bins, representations["pair"])
        breaks = jnp.linspace(0.0, self.config.max_error_bin, self.config.num_bins - 1)
        return {"logits": logits, "breaks": breaks}


class ExperimentallyResolvedHead(_Head):
    """Section 1.9.10: whether each atom37 atom would be resolved in a high-resolution experimental
    structure (a sigmoid logit per atom), from the single representation.

    Returns ``logits`` [N, 37].
    """

    def __init__(self, config: ExperimentallyResolvedHeadConfig = ExperimentallyResolvedHeadConfig(),
                 global_config: GlobalConfig = GlobalConfig(), name: str = "experimentally_resolved_head"):
        super().__init__(config, global_config, name)

    def __call__(self, representations: dict, batch: dict, is_training: bool = False) -> dict:
        return {"logits": self._logits(rc.atom_type_num, representations["single"])}
