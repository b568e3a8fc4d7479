"""AlphaFold-Multimer's MSA processing inside the model, redone every recycling iteration.

From the merged MSA of a complex (``msa`` [N_seq, N_res] in AlphaFold2's 22-token order, ``deletion_matrix``,
``msa_mask``, ``cluster_bias_mask`` [N_seq] marking each chain's query row, ``bert_mask``) one iteration:

1. :func:`msa_profile` -- the masked mean of the one-hot MSA over all rows, [N_res, 22];
2. :func:`sample_msa` -- a random order of the rows by Gumbel-perturbed logits (rows without any residue
   last, rows of ``cluster_bias_mask`` first): the first ``num_msa`` become cluster rows, the rest extra rows;
3. :func:`mask_msa` -- BERT corruption of the cluster rows (uniform residue, profile draw, itself, or the
   mask token 22);
4. :func:`cluster_statistics` -- each extra row is softly assigned to the cluster row it agrees with most
   (amino acids and X count, gaps and masks do not); the cluster profile [N_clust, N_res, 23] and mean
   deletions [N_clust, N_res];
5. :func:`cluster_msa_features` [N_clust, N_res, 49] and :func:`extra_msa_batch` (the extra-MSA stack's input).

Random numbers are drawn per element from keys folded with the element's indices (:func:`grid_uniform`),
so padding never changes the draws of real rows; the keys are consumed exactly as AlphaFold2 v2.3.2 does
(``jax.random.split``/``fold_in`` of raw uint32[2] keys), so that one seed gives one sample.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from snakefold.model.hyperparameters import MaskedMsaConfig

#: Amino acids and X (21 classes) count towards agreement of an extra row with a cluster row; gaps and masks do not.
AGREEMENT_WEIGHTS = np.array([1.0] * 21 + [0.0, 0.0], np.float32)
#: MSA tokens: 20 amino acids, X, gap; the mask token 22 makes 23 classes.
NUM_MSA_TOKENS = 22
GUMBEL_EPSILON = 1e-6


def grid_uniform(key: jnp.ndarray, shape: tuple[int, ...]) -> jnp.ndarray:
    """Uniform [0, 1) float32 noise of ``shape``; element (i, j, ..) from ``fold_in(fold_in(key, i), j)..``."""
    def grid_keys(grid_key, remaining):
        if not remaining:
            return grid_key
        keys = jax.vmap(lambda index: jax.random.fold_in(grid_key, index))(jnp.arange(remaining[0]))
        return jax.vmap(lambda sub_key: grid_keys(sub_key, remaining[1:]))(keys)

    keys = grid_keys(key, tuple(shape)).reshape(-1, 2)
    draws = jax.vmap(lambda element_key: jax.random.uniform(element_key, (), jnp.float32, 0.0, 1.0))(keys)
    return draws.reshape(shape)


def gumbel_noise(key: jnp.ndarray, shape: tuple[int, ...]) -> jnp.ndarray:
    uniform = grid_uniform(key, shape)
    return -jnp.log(-jnp.log(uniform + GUMBEL_EPSILON) + GUMBEL_EPSILON)


def msa_profile(msa: jnp.ndarray, msa_mask: jnp.ndarray) -> jnp.ndarray:
    """[N_res, 22]: frequency of each token per column over the rows where ``msa_mask`` is 1."""
    one_hot = jax.nn.one_hot(msa, NUM_MSA_TOKENS)
    mask = msa_mask[:, :, None]
    return jnp.sum(mask * one_hot, axis=0) / (jnp.sum(mask, axis=0) + 1e-10)


def sample_order(key: jnp.ndarray, msa_mask: jnp.ndarray, cluster_bias_mask: jnp.ndarray) -> jnp.ndarray:
    """A random order [N_seq] of the MSA rows: biased rows first, then other rows with a residue, empty rows last.

    Row n gets the logit (min(1, residues of n) - 1 + bias_n) * 1e6 plus Gumbel noise; rows are sorted by
    it, largest first (a Gumbel-top-k sample without replacement), equal values by their row index, latest
    first. AlphaFold2 v2.3.2 sorts unstably, leaving equal values (frequent: the float32 uniform draws take
    2^23 values, so an MSA of 2,000 rows holds two equal draws about once in five keys) in an order that
    depends on the backend and on the number of rows; sorted stably, the real rows keep their order when
    empty rows are appended (MSA depth buckets, :mod:`snakefold.model.multimer.inference`).
    """
    logits = (jnp.clip(jnp.sum(msa_mask, axis=-1), 0.0, 1.0) - 1.0) * 1e6 + cluster_bias_mask * 1e6
    perturbed = logits + gumbel_noise(key, logits.shape)
    rows = jax.lax.broadcasted_iota(jnp.int32, logits.shape, 0)
    _, order = jax.lax.sort_key_val(perturbed, rows, dimension=-1, is_stable=True)
    return order[::-1]


def sample_msa(key: jnp.ndarray, batch: dict[str, jnp.ndarray], num_msa: int) -> dict[str, jnp.ndarray]:
    """The cluster rows (``msa``, ``deletion_matrix``, ``msa_mask``, ``bert_mask``: the first ``num_msa`` of
    :func:`sample_order`) and the extra rows (the same keys prefixed ``extra_``: the rest)."""
    order = sample_order(key, batch["msa_mask"], batch["cluster_bias_mask"])
    selected, extra = order[:num_msa], order[num_msa:]
    sampled = {}
    for name in ("msa", "deletion_matrix", "msa_mask", "bert_mask"):
        sampled[name] = batch[name][selected]
        sampled[f"extra_{name}"] = batch[name][extra]
    return sampled


def mask_msa(key: jnp.ndarray, sampled: dict[str, jnp.ndarray], profile: jnp.ndarray,
             config: MaskedMsaConfig) -> dict[str, jnp.ndarray]:
    """BERT corruption of the cluster rows (supplement section 1.2.7).

    A position is chosen where a uniform draw (``replace_fraction``) says so and ``msa_mask`` is 1; a chosen
    position becomes a Gumbel-max draw from ``uniform_prob`` x uniform over the 20 amino acids +
    ``profile_prob`` x ``profile`` + ``same_prob`` x itself + the rest on the mask token. Returns ``sampled``
    with the corrupted ``msa``, ``true_msa`` (before) and ``bert_mask`` (chosen positions).
    """
    _, position_key, token_key = jax.random.split(key, 3)
    msa, msa_mask = sampled["msa"], sampled["msa_mask"]
    uniform_residue = jnp.array([0.05] * 20 + [0.0, 0.0], jnp.float32)
    probabilities = (config.uniform_prob * uniform_residue + config.profile_prob * profile
                     + config.same_prob * jax.nn.one_hot(msa, NUM_MSA_TOKENS))
    probabilities = jnp.pad(probabilities, [(0, 0), (0, 0), (0, 1)], constant_values=config.mask_token_prob)
    chosen = (grid_uniform(position_key, msa.shape) < config.replace_fraction) * msa_mask
    logits = jnp.log(probabilities + GUMBEL_EPSILON)
    replacement = jnp.argmax(logits + gumbel_noise(token_key, logits.shape), axis=-1)
    corrupted = jnp.where(chosen > 0, replacement, msa) * msa_mask.astype(msa.dtype)
    return {**sampled, "msa": corrupted.astype(msa.dtype), "true_msa": msa,
            "bert_mask": sampled["bert_mask"] * chosen.astype(jnp.float32)}


def cluster_statistics(sampled: dict[str, jnp.ndarray]) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(cluster profile [N_clust, N_res, 23], mean deletion count [N_clust, N_res]) of the cluster rows.

    Extra row m is assigned to the cluster rows by softmax over clusters of 1000 x its agreement with each
    (positions where both have the same amino acid or X); a cluster's statistics average itself and its
    assigned (soft) extra rows.
    """
    msa_mask, extra_mask = sampled["msa_mask"], sampled["extra_msa_mask"]
    msa_one_hot = msa_mask[:, :, None] * jax.nn.one_hot(sampled["msa"], NUM_MSA_TOKENS + 1)
    extra_one_hot = extra_mask[:, :, None] * jax.nn.one_hot(sampled["extra_msa"], NUM_MSA_TOKENS + 1)
    agreement = jnp.einsum("mrc,nrc->nm", extra_one_hot, AGREEMENT_WEIGHTS * msa_one_hot)
    assignment = jax.nn.softmax(1e3 * agreement, axis=0)
    assignment *= jnp.einsum("mr,nr->mn", msa_mask, extra_mask)
    count = jnp.sum(assignment, axis=-1) + 1.0
    profile = (jnp.einsum("nm,mrc->nrc", assignment, extra_one_hot) + msa_one_hot) / count[:, None, None]
    deletions = jnp.einsum("nm,mc->nc", assignment, extra_mask * sampled["extra_deletion_matrix"])
    deletion_mean = (deletions + sampled["deletion_matrix"]) / count[:, None]
    return profile, deletion_mean


def scaled_deletions(deletion_count: jnp.ndarray) -> jnp.ndarray:
    """Deletion counts squashed to [0, 1): 2/pi arctan(d / 3)."""
    return jnp.arctan(deletion_count / 3.0) * (2.0 / jnp.pi)


def cluster_msa_features(sampled: dict[str, jnp.ndarray], profile: jnp.ndarray,
                         deletion_mean: jnp.ndarray) -> jnp.ndarray:
    """``msa_feat`` [N_clust, N_res, 49]: one-hot token (23), has deletion, scaled deletions, cluster profile
    (23), scaled mean deletions."""
    deletion_matrix = sampled["deletion_matrix"]
    return jnp.concatenate([
        jax.nn.one_hot(sampled["msa"], NUM_MSA_TOKENS + 1),
        jnp.clip(deletion_matrix, 0.0, 1.0)[..., None],
        scaled_deletions(deletion_matrix)[..., None],
        profile,
        scaled_deletions(deletion_mean)[..., None],
    ], axis=-1)


def extra_msa_batch(sampled: dict[str, jnp.ndarray], num_extra_msa: int) -> dict[str, jnp.ndarray]:
    """The first ``num_extra_msa`` extra rows as the extra-MSA stack reads them
    (:func:`snakefold.model.extra_msa.extra_msa_features`)."""
    deletion_matrix = sampled["extra_deletion_matrix"][:num_extra_msa]
    return {
        "extra_msa": sampled["extra_msa"][:num_extra_msa],
        "extra_has_deletion": jnp.clip(deletion_matrix, 0.0, 1.0),
        "extra_deletion_value": scaled_deletions(deletion_matrix),
        "extra_msa_mask": sampled["extra_msa_mask"][:num_extra_msa],
    }
