"""The AlphaFold-Multimer v3 model: one recycling iteration as a Haiku module, and the recycling loop with its keys.

:class:`MultimerIteration` (scope ``alphafold/alphafold_iteration``) runs the trunk
(:mod:`snakefold.model.multimer.trunk`), the structure module (:mod:`snakefold.model.multimer.structure_module`)
and the monomer's heads on the merged complex features and one random key. :class:`MultimerAlphaFold`
(scope ``alphafold``) adds the recycled values. :func:`run_multimer` is the loop: up to ``num_recycle``
recycling iterations, stopping early once the CA distance matrix changes by at most the tolerance, then one
final iteration, whose result it returns with its confidences (pLDDT, PAE, pTM, ipTM, ranking confidence
0.8 ipTM + 0.2 pTM, chain-pair ipTM, interface PAE) and ``num_recycles``, the recycling iterations run.

Random keys (raw uint32[2], ``jax.random.split``), as AlphaFold2 v2.3.2 consumes them, so that a seed gives
the same MSA samples: K_0 = split(PRNGKey(seed))[1]; recycling iteration i runs with T_i where
(K_{i+1}, T_i) = split(K_i); the final iteration after n recycles runs with K_n itself. An iteration's key T
becomes the trunk's key split(T)[1] (AlphaFold2's one-member ensemble).

Features (AlphaFold2's merged complex features, e.g. ``snakefold complex-features`` or the reference's
``_feat.npz``): see :data:`MULTIMER_INPUT_FEATURES`; others are ignored. :func:`padded_residues` pads them
from N to a length bucket's residues with zeros (masks 0, chain ids 0, which no real chain has: they count
from 1); nothing of a padding residue reaches a real one (every attention, triangle update and outer
product is masked by ``seq_mask``/``msa_mask``, the random draws are per element,
:func:`snakefold.model.multimer.sampling.grid_uniform`), and the confidences weight padding 0.
:func:`padded_rows` pads the MSA features from S to a depth bucket's rows with the rows ``snakefold
complex-features`` and AlphaFold2 pad with (all zero: residue type 0 under mask 0, no deletion, no chain
bias). Empty rows come last in every sample's order (:func:`snakefold.model.multimer.sampling.sample_order`, a
stable sort of per-row draws), so the first S rows of each iteration's sample are those of the unpadded MSA;
the rows after them, in the extra-MSA stack and the cluster assignment, are masked everywhere and add nothing.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from snakefold.common import residue_constants
from snakefold.common.errors import SnakefoldError
from snakefold.model import confidence
from snakefold.model.heads import (
    DistogramHead,
    ExperimentallyResolvedHead,
    MaskedMsaHead,
    PredictedAlignedErrorHead,
    PredictedLDDTHead,
)
from snakefold.model.model import outputs_for_real_residues
from snakefold.model.multimer.presets import MultimerConfig
from snakefold.model.multimer.structure_module import MultimerStructureModule
from snakefold.model.multimer.trunk import MultimerEmbeddingsAndEvoformer

#: Merged complex features the model reads, with the dtype it reads them in.
MULTIMER_INPUT_FEATURES: dict[str, type] = {
    "aatype": np.int32, "residue_index": np.int32, "asym_id": np.float32, "entity_id": np.float32,
    "sym_id": np.float32, "seq_mask": np.float32, "msa": np.int32, "deletion_matrix": np.float32,
    "msa_mask": np.float32, "bert_mask": np.float32, "cluster_bias_mask": np.float32,
    "template_aatype": np.int32, "template_all_atom_positions": np.float32, "template_all_atom_mask": np.float32,
}


class MultimerIteration(hk.Module):
    """One recycling iteration: ``(batch with prev_*, key) -> result`` (representations, structure, heads)."""

    def __init__(self, config: MultimerConfig, name: str = "alphafold_iteration"):
        super().__init__(name=name)
        self.config = config

    def __call__(self, batch: Mapping[str, jnp.ndarray], key: jnp.ndarray) -> dict:
        c, gc = self.config, self.config.global_config
        trunk_key = jax.random.split(key, 2)[1]
        representations = MultimerEmbeddingsAndEvoformer(c)(dict(batch), trunk_key)
        structure = MultimerStructureModule(c.structure_module, gc)(representations, batch)
        representations.update(structure.pop("representations"))
        result = {"representations": representations, "structure_module": structure}
        heads = {
            "distogram": DistogramHead(c.heads.distogram, gc),
            "masked_msa": MaskedMsaHead(c.heads.masked_msa, gc),
            "predicted_lddt": PredictedLDDTHead(c.heads.predicted_lddt, gc),
            "experimentally_resolved": ExperimentallyResolvedHead(c.heads.experimentally_resolved, gc),
            "predicted_aligned_error": PredictedAlignedErrorHead(c.heads.predicted_aligned_error, gc),
        }
        for name, head in heads.items():
            result[name] = head(representations, batch)
        return result


class MultimerAlphaFold(hk.Module):
    """``(batch, prev, key) -> (result, values to recycle)``."""

    def __init__(self, config: MultimerConfig, name: str = "alphafold"):
        super().__init__(name=name)
        self.config = config

    def __call__(self, batch: Mapping[str, jnp.ndarray], prev: Mapping[str, jnp.ndarray],
                 key: jnp.ndarray) -> tuple[dict, dict[str, jnp.ndarray]]:
        result = MultimerIteration(self.config)({**batch, **prev}, key)
        new_prev = {"prev_pos": result["structure_module"]["final_atom_positions"],
                    "prev_msa_first_row": result["representations"]["msa_first_row"],
                    "prev_pair": result["representations"]["pair"]}
        return result, new_prev


def forward(config: MultimerConfig) -> hk.Transformed:
    """``apply(params, None, batch, prev, key)``; the randomness is the explicit ``key``."""
    return hk.transform(lambda batch, prev, key: MultimerAlphaFold(config)(batch, prev, key))


def initial_prev(config: MultimerConfig, num_res: int) -> dict[str, np.ndarray]:
    trunk = config.embeddings_and_evoformer
    return {"prev_pos": np.zeros((num_res, residue_constants.atom_type_num, 3), np.float32),
            "prev_msa_first_row": np.zeros((num_res, trunk.msa_channel), np.float32),
            "prev_pair": np.zeros((num_res, num_res, trunk.pair_channel), np.float32)}


def example_batch(config: MultimerConfig, num_res: int = 8, num_seq: int = 6) -> dict[str, np.ndarray]:
    """A zero-filled batch of the right dtypes (one chain), for initialisation and shape tracing."""
    num_templates = config.embeddings_and_evoformer.template.max_templates
    shapes = {
        "msa": (num_seq, num_res), "deletion_matrix": (num_seq, num_res), "msa_mask": (num_seq, num_res),
        "bert_mask": (num_seq, num_res), "cluster_bias_mask": (num_seq,), "template_aatype": (num_templates, num_res),
        "template_all_atom_positions": (num_templates, num_res, 37, 3),
        "template_all_atom_mask": (num_templates, num_res, 37),
    }
    return {name: np.zeros(shapes.get(name, (num_res,)), dtype) for name, dtype in MULTIMER_INPUT_FEATURES.items()}


def multimer_param_shapes(config: MultimerConfig) -> dict[str, tuple[int, ...]]:
    """``{'scope//name': shape}`` of the module tree of ``config``, traced without computing anything."""
    batch = example_batch(config)
    shapes = jax.eval_shape(forward(config).init, jax.random.PRNGKey(0), batch,
                            initial_prev(config, batch["aatype"].shape[0]), jax.random.PRNGKey(0))
    return {f"{scope}//{name}": tuple(value.shape)
            for scope, arrays in shapes.items() for name, value in arrays.items()}


def init_multimer_params(config: MultimerConfig, seed: int) -> hk.Params:
    """Parameters of ``config`` initialised at random from ``seed`` (float32 NumPy arrays)."""
    batch = example_batch(config)
    params = jax.jit(forward(config).init)(jax.random.PRNGKey(seed), batch,
                                           initial_prev(config, batch["aatype"].shape[0]), jax.random.PRNGKey(0))
    return jax.tree_util.tree_map(np.asarray, hk.data_structures.to_mutable_dict(params))


def model_inputs(features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The merged features the model reads, in its dtypes; ``bert_mask`` and ``cluster_bias_mask`` default
    as in AlphaFold2 (all ones; the first row only)."""
    features = dict(features)
    if "bert_mask" not in features and "msa_mask" in features:
        features["bert_mask"] = np.ones_like(features["msa_mask"])
    if "cluster_bias_mask" not in features and "msa" in features:
        features["cluster_bias_mask"] = np.eye(1, len(features["msa"]), dtype=np.float32)[0]
    missing = [name for name in MULTIMER_INPUT_FEATURES if name not in features]
    if missing:
        raise SnakefoldError(f"the complex features lack {', '.join(missing)}: make them with "
                             f"`snakefold complex-features`")
    return {name: np.asarray(features[name]).astype(dtype) for name, dtype in MULTIMER_INPUT_FEATURES.items()}


#: The residue axis of each merged feature of :data:`MULTIMER_INPUT_FEATURES` (``cluster_bias_mask`` has none).
RESIDUE_AXES: dict[str, int] = {
    "aatype": 0, "residue_index": 0, "asym_id": 0, "entity_id": 0, "sym_id": 0, "seq_mask": 0, "msa": 1,
    "deletion_matrix": 1, "msa_mask": 1, "bert_mask": 1, "template_aatype": 1, "template_all_atom_positions": 1,
    "template_all_atom_mask": 1,
}


#: The merged features of :data:`MULTIMER_INPUT_FEATURES` with an MSA row axis (axis 0).
ROW_FEATURES: tuple[str, ...] = ("msa", "deletion_matrix", "msa_mask", "bert_mask", "cluster_bias_mask")


def padded_residues(batch: Mapping[str, np.ndarray], num_padded: int) -> dict[str, np.ndarray]:
    """``batch`` (:func:`model_inputs`, N residues) padded with zeros along the residue axis to ``num_padded``
    residues: masks 0, ``asym_id``/``entity_id``/``sym_id`` 0 (no chain), residue type and index 0."""
    num_res = batch["aatype"].shape[0]
    if num_padded < num_res:
        raise SnakefoldError(f"cannot pad {num_res} residues to {num_padded}")
    padded = dict(batch)
    for name, axis in RESIDUE_AXES.items():
        widths = [(0, 0)] * batch[name].ndim
        widths[axis] = (0, num_padded - num_res)
        padded[name] = np.pad(batch[name], widths)
    return padded


def padded_rows(batch: Mapping[str, np.ndarray], num_padded_rows: int) -> dict[str, np.ndarray]:
    """``batch`` (:func:`model_inputs`, S MSA rows) with zero rows appended to the features of
    :data:`ROW_FEATURES` up to ``num_padded_rows`` rows: residue type 0, no deletion, masks 0, no chain bias."""
    num_rows = batch["msa"].shape[0]
    if num_padded_rows < num_rows:
        raise SnakefoldError(f"cannot pad {num_rows} MSA rows to {num_padded_rows}")
    padded = dict(batch)
    for name in ROW_FEATURES:
        widths = [(0, num_padded_rows - num_rows)] + [(0, 0)] * (batch[name].ndim - 1)
        padded[name] = np.pad(batch[name], widths)
    return padded


@jax.jit
def ca_distance_change(previous_positions: jnp.ndarray, positions: jnp.ndarray, seq_mask: jnp.ndarray) -> jnp.ndarray:
    """sqrt(masked mean of the squared change of the CA distance matrix + 1e-8) (Angstrom), float32,
    between two atom37 positions [N, 37, 3]."""
    def distances(points):
        return jnp.sqrt(jnp.sum((points[:, None] - points[None, :]) ** 2, axis=-1))

    ca = residue_constants.atom_order["CA"]
    squared = jnp.square(distances(previous_positions[:, ca]) - distances(positions[:, ca]))
    mask = seq_mask[:, None] * seq_mask[None, :]
    mean = jnp.sum(mask * squared) / (jnp.sum(mask) + 1e-10)
    return jnp.sqrt(mean + 1e-8)


@functools.lru_cache(maxsize=4)
def jitted_apply(config: MultimerConfig):
    return jax.jit(forward(config).apply)


def compile_iteration(config: MultimerConfig, params: hk.Params, batch: Mapping[str, np.ndarray]):
    """One iteration compiled for ``batch``'s shapes (through JAX's persistent compilation cache when it is on):
    ``compiled(params, None, batch, prev, key) -> (result, new_prev)``."""
    prev = initial_prev(config, batch["aatype"].shape[0])
    return jitted_apply(config).lower(params, None, batch, prev, jax.random.PRNGKey(0)).compile()


def recycle(compiled, config: MultimerConfig, params: hk.Params, batch: Mapping[str, np.ndarray], seed: int,
            num_recycle: int, early_stop_tolerance: float) -> dict:
    """Up to ``num_recycle`` recycles with ``compiled`` (:func:`compile_iteration`) and the final iteration, with
    the keys of the module docstring; the result as NumPy arrays with its confidences and ``num_recycles``."""
    prev = initial_prev(config, batch["aatype"].shape[0])
    key = jax.random.split(jax.random.PRNGKey(seed), 2)[1]
    num_recycles = 0
    for iteration in range(num_recycle):
        if config.resample_msa_in_recycling:
            key, iteration_key = jax.random.split(key, 2)
        else:
            iteration_key = key
        _, new_prev = compiled(params, None, batch, prev, iteration_key)
        change = ca_distance_change(prev["prev_pos"], new_prev["prev_pos"], batch["seq_mask"])
        prev = new_prev
        num_recycles = iteration + 1
        if not (num_recycles < num_recycle and float(change) > early_stop_tolerance):
            break
    result, _ = compiled(params, None, batch, prev, key)
    result = jax.tree_util.tree_map(np.asarray, result)
    result.update(multimer_confidences(result, batch))
    result["num_recycles"] = np.asarray(num_recycles, np.int32)
    return result


def run_multimer(config: MultimerConfig, params: hk.Params, features: Mapping[str, np.ndarray], seed: int,
                 num_recycle: int | None = None, early_stop_tolerance: float | None = None,
                 timings: dict[str, float] | None = None) -> dict:
    """Up to ``num_recycle`` recycles (default the preset's) and a final iteration; its result as NumPy arrays.

    ``early_stop_tolerance`` (default the preset's; negative: never) ends recycling once the CA distances
    change by at most it. ``seed`` is the model's random seed as AlphaFold2's run_alphafold.py passes it.
    """
    num_recycle = config.num_recycle if num_recycle is None else num_recycle
    tolerance = config.recycle_early_stop_tolerance if early_stop_tolerance is None else early_stop_tolerance
    batch = model_inputs(features)
    params = jax.device_put(params)
    compiling = time.perf_counter()
    compiled = compile_iteration(config, params, batch)
    predicting = time.perf_counter()
    result = recycle(compiled, config, params, batch, seed, num_recycle, tolerance)
    if timings is not None:
        timings.update(compile_s=predicting - compiling, predict_s=time.perf_counter() - predicting)
    return result


def multimer_confidences(result: Mapping, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """pLDDT, PAE, pTM, ipTM, ranking confidence (0.8 ipTM + 0.2 pTM), chain-pair ipTM and interface PAE."""
    seq_mask, asym_id = batch["seq_mask"], batch["asym_id"]
    head = result["predicted_aligned_error"]
    scores = {"plddt": confidence.plddt(result["predicted_lddt"]["logits"])}
    scores.update(confidence.predicted_aligned_error(head["logits"], head["breaks"]))
    scores["ptm"] = np.asarray(confidence.ptm(head["logits"], head["breaks"], residue_weights=seq_mask))
    scores["iptm"] = np.asarray(confidence.ptm(head["logits"], head["breaks"], residue_weights=seq_mask,
                                               asym_id=asym_id))
    scores["ranking_confidence"] = np.asarray(0.8 * scores["iptm"] + 0.2 * scores["ptm"])
    scores["chain_pair_iptm"] = confidence.chain_pair_iptm(head["logits"], head["breaks"], asym_id, seq_mask)
    scores["interface_pae"] = confidence.interface_pae(scores["predicted_aligned_error"], asym_id, seq_mask)
    return scores


def multimer_outputs(result: Mapping, num_res: int | None = None, num_rows: int | None = None) -> dict[str, np.ndarray]:
    """The monomer's output arrays (:func:`snakefold.model.model.outputs_for_real_residues`: the first
    ``num_res`` residues, default all; ``masked_msa/logits`` of at most the first ``num_rows`` sampled rows,
    default all) plus ``iptm``, ``chain_pair_iptm``, ``interface_pae`` (float32) and ``num_recycles`` (int32).

    The masked-MSA logits cover min(``num_msa``, S) cluster rows; an MSA of fewer rows than ``num_msa``
    padded to a depth bucket gives ``num_msa``, of which the first S are the unpadded MSA's.
    """
    if num_res is None:
        num_res = int(result["structure_module"]["final_atom_positions"].shape[0])
    outputs = outputs_for_real_residues(result, num_res)
    if num_rows is not None and "masked_msa/logits" in outputs:
        outputs["masked_msa/logits"] = outputs["masked_msa/logits"][:num_rows]
    for name in ("iptm", "chain_pair_iptm", "interface_pae"):
        outputs[name] = np.asarray(result[name], np.float32)
    outputs["num_recycles"] = np.asarray(result["num_recycles"], np.int32)
    return outputs
