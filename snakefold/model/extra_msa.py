"""The extra-MSA stack: Algorithm 18 "ExtraMsaStack" (Algorithm 2 lines 14-16).

The sequences not chosen as cluster centres (up to 5120) are embedded with few channels (c_e = 64) and
run through ``extra_msa_stack_num_block`` Evoformer-like blocks whose column attention is global
(Algorithm 19), so their depth costs little; only the pair representation they update is kept.

Extra-MSA features (one recycling slice): ``extra_msa`` [N_extra, N_res] (AlphaFold2 order, 21 = gap,
22 = mask token), ``extra_has_deletion`` and ``extra_deletion_value`` [N_extra, N_res],
``extra_msa_mask`` [N_extra, N_res].
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from snakefold.model.evoformer import EvoformerIteration
from snakefold.model.hyperparameters import EmbeddingsAndEvoformerConfig, GlobalConfig
from snakefold.model.layer_stack import LayerStack
from snakefold.model.primitives import Linear

#: Classes of MSA tokens: 20 amino acids, unknown, gap, mask token.
NUM_MSA_TOKENS = 23


def extra_msa_features(batch: dict[str, jnp.ndarray]) -> jnp.ndarray:
    """[N_extra, N_res, 25]: one-hot token (23), has-deletion and scaled deletion count."""
    return jnp.concatenate([
        jax.nn.one_hot(batch["extra_msa"], NUM_MSA_TOKENS),
        batch["extra_has_deletion"][..., None],
        batch["extra_deletion_value"][..., None],
    ], axis=-1)


class ExtraMsaStack(hk.Module):
    """Algorithm 2 lines 14-16: embed the extra MSA and update ``pair`` [N_res, N_res, c_z] with it.

    ``pair_mask`` [N_res, N_res]. Parameters: ``evoformer/extra_msa_activations`` and
    ``evoformer/extra_msa_stack/...`` (leading block dimension). Returns the updated pair.
    """

    def __init__(self, config: EmbeddingsAndEvoformerConfig, global_config: GlobalConfig,
                 name: str = "extra_msa_embedder"):
        super().__init__(name=name)
        self.config = config
        self.global_config = global_config

    @hk.transparent
    def __call__(self, batch: dict[str, jnp.ndarray], pair: jnp.ndarray, pair_mask: jnp.ndarray) -> jnp.ndarray:
        extra_msa = Linear(self.config.extra_msa_channel, name="extra_msa_activations")(extra_msa_features(batch))
        extra_msa = extra_msa.astype(pair.dtype)
        block = EvoformerIteration(self.config.evoformer, self.global_config, is_extra_msa=True,
                                   name="extra_msa_stack")
        masks = {"msa": batch["extra_msa_mask"], "pair": pair_mask}
        output = LayerStack(lambda activations: block(activations, masks),
                            self.config.extra_msa_stack_num_block)({"msa": extra_msa, "pair": pair})
        return output["pair"]
