"""The AlphaFold2 model: one recycling iteration as a Haiku module, and the recycling loop around it.

:class:`AlphaFoldIteration` (scope ``alphafold/alphafold_iteration``) is Algorithm 2 lines 5-22 for one
recycling slice of the processed features: the trunk (:mod:`snakefold.model.trunk`), the structure
module (:mod:`snakefold.model.structure_module`) and the heads (:mod:`snakefold.model.heads`).
:class:`AlphaFold` (scope ``alphafold``) adds the previous iteration's outputs to the batch and returns
this iteration's result, with its confidence scores (:mod:`snakefold.model.confidence`), and the values
to recycle. :func:`run_model` is Algorithm 2's outer loop (:func:`recycle`): ``num_recycle + 1``
iterations, each on its own slice of the features (AlphaFold2 resamples the MSA every iteration), compiled
once (:func:`compile_iteration`) and reused; optionally it stops early once the CA distance matrix stops
changing (AlphaFold-Multimer's criterion), and it reports the recycling iterations run.

The recycled values (Algorithm 32) are ``prev_msa_first_row`` [N_res, c_m], ``prev_pair`` [N_res, N_res, c_z]
and ``prev_pos`` [N_res, 37, 3] (the structure module's atom positions); all are zero at the first
iteration. Without a structure module (``ModelConfig.trunk_only``) ``prev_pos`` stays zero.

The result of an iteration is AlphaFold2's result dict: ``representations`` (msa, msa_first_row, pair,
single, structure_module), ``structure_module`` (final_atom_positions [N_res, 37, 3], final_atom_mask, ...),
``distogram``, ``masked_msa``, ``predicted_lddt``, ``experimentally_resolved`` (each with ``logits``),
``plddt`` [N_res], ``ranking_confidence`` and, for the ``_ptm`` presets, ``predicted_aligned_error``
[N_res, N_res], ``aligned_confidence_probs``, ``max_predicted_aligned_error`` and ``ptm``.
"""

from __future__ import annotations

import functools
import time
from typing import Callable, Mapping

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from snakefold.common import residue_constants
from snakefold.common.errors import SnakefoldError
from snakefold.common.ranking import ranking_confidence
from snakefold.model import confidence
from snakefold.model.heads import (
    DistogramHead,
    ExperimentallyResolvedHead,
    MaskedMsaHead,
    PredictedAlignedErrorHead,
    PredictedLDDTHead,
)
from snakefold.model.padding import trim_padding_rows
from snakefold.model.presets import ModelConfig
from snakefold.model.structure_module import StructureModule
from snakefold.model.trunk import EmbeddingsAndEvoformer

#: Processed features the model reads (per recycling slice); others in a features file are ignored.
MODEL_INPUT_FEATURES: tuple[str, ...] = (
    "aatype", "residue_index", "seq_mask", "msa_feat", "target_feat", "msa_mask", "extra_msa",
    "extra_has_deletion", "extra_deletion_value", "extra_msa_mask", "atom14_atom_exists", "atom37_atom_exists",
    "residx_atom37_to_atom14",
)
TEMPLATE_INPUT_FEATURES: tuple[str, ...] = (
    "template_aatype", "template_all_atom_positions", "template_all_atom_masks", "template_mask",
    "template_pseudo_beta", "template_pseudo_beta_mask",
)


class AlphaFoldIteration(hk.Module):
    """One recycling iteration (Algorithm 2 lines 5-22): ``batch`` (one slice, with ``prev_*``) -> result.

    The trunk's representations feed the structure module, which adds its final single representation
    (``representations['structure_module']``) that the predicted-lDDT head reads; the other heads read
    the trunk's representations.
    """

    def __init__(self, config: ModelConfig, name: str = "alphafold_iteration"):
        super().__init__(name=name)
        self.config = config

    def __call__(self, batch: Mapping[str, jnp.ndarray]) -> dict:
        c, gc = self.config, self.config.global_config
        batch = dict(batch)
        representations = EmbeddingsAndEvoformer(c.embeddings_and_evoformer, gc)(batch)
        result = {"representations": representations}
        if c.trunk_only:
            return result

        structure = StructureModule(c.structure_module, gc)(representations, batch)
        representations.update(structure.pop("representations"))
        result["structure_module"] = structure
        heads = {
            "distogram": DistogramHead(c.heads.distogram, gc),
            "masked_msa": MaskedMsaHead(c.heads.masked_msa, gc),
            "experimentally_resolved": ExperimentallyResolvedHead(c.heads.experimentally_resolved, gc),
            "predicted_lddt": PredictedLDDTHead(c.heads.predicted_lddt, gc),
        }
        if c.heads.predicted_aligned_error is not None:
            heads["predicted_aligned_error"] = PredictedAlignedErrorHead(c.heads.predicted_aligned_error, gc)
        for name, head in heads.items():
            result[name] = head(representations, batch)
        return result


def confidence_scores(result: Mapping, seq_mask: jnp.ndarray) -> dict[str, jnp.ndarray]:
    """pLDDT, its mean over real residues (the ranking confidence), and with a PAE head PAE and pTM."""
    plddt = confidence.plddt(result["predicted_lddt"]["logits"])
    scores = {"plddt": plddt, "ranking_confidence": ranking_confidence(plddt, seq_mask)}
    if "predicted_aligned_error" in result:
        head = result["predicted_aligned_error"]
        scores.update(confidence.predicted_aligned_error(head["logits"], head["breaks"]))
        scores["ptm"] = confidence.ptm(head["logits"], head["breaks"], residue_weights=seq_mask)
    return scores


class AlphaFold(hk.Module):
    """The model with its recycling inputs: (``batch`` slice, ``prev``) -> (result, values to recycle)."""

    def __init__(self, config: ModelConfig, name: str = "alphafold"):
        super().__init__(name=name)
        self.config = config

    def __call__(self, batch: Mapping[str, jnp.ndarray],
                 prev: Mapping[str, jnp.ndarray]) -> tuple[dict, dict[str, jnp.ndarray]]:
        result = AlphaFoldIteration(self.config)({**batch, **prev})
        representations = result["representations"]
        new_prev = {
            "prev_pos": prev["prev_pos"],
            "prev_msa_first_row": representations["msa_first_row"],
            "prev_pair": representations["pair"],
        }
        if self.config.trunk_only:
            return result, new_prev
        new_prev["prev_pos"] = result["structure_module"]["final_atom_positions"]
        result.update(confidence_scores(result, batch["seq_mask"]))
        return result, new_prev


def forward(config: ModelConfig) -> hk.Transformed:
    """The Haiku transform of :class:`AlphaFold`; ``apply(params, None, batch, prev)`` (no randomness)."""
    return hk.transform(lambda batch, prev: AlphaFold(config)(batch, prev))


def initial_prev(config: ModelConfig, num_res: int) -> dict[str, np.ndarray]:
    """Recycled values of the first iteration: zeros (NumPy, so that making them compiles nothing)."""
    trunk = config.embeddings_and_evoformer
    return {
        "prev_pos": np.zeros((num_res, 37, 3), np.float32),
        "prev_msa_first_row": np.zeros((num_res, trunk.msa_channel), np.float32),
        "prev_pair": np.zeros((num_res, num_res, trunk.pair_channel), np.float32),
    }


def input_feature_names(config: ModelConfig) -> tuple[str, ...]:
    if config.embeddings_and_evoformer.template.enabled:
        return MODEL_INPUT_FEATURES + TEMPLATE_INPUT_FEATURES
    return MODEL_INPUT_FEATURES


def example_batch(config: ModelConfig, num_res: int = 8, num_clusters: int = 4, num_extra: int = 5,
                  num_templates: int | None = None) -> dict[str, jnp.ndarray]:
    """A zero-filled batch slice of the right shapes and dtypes, for initialisation and shape tracing."""
    if num_templates is None:
        num_templates = config.embeddings_and_evoformer.template.max_templates
    f32, i32 = jnp.float32, jnp.int32
    shapes = {
        "aatype": ((num_res,), i32), "residue_index": ((num_res,), i32), "seq_mask": ((num_res,), f32),
        "msa_feat": ((num_clusters, num_res, 49), f32), "target_feat": ((num_res, 22), f32),
        "msa_mask": ((num_clusters, num_res), f32), "extra_msa": ((num_extra, num_res), i32),
        "extra_has_deletion": ((num_extra, num_res), f32), "extra_deletion_value": ((num_extra, num_res), f32),
        "extra_msa_mask": ((num_extra, num_res), f32), "atom14_atom_exists": ((num_res, 14), f32),
        "atom37_atom_exists": ((num_res, 37), f32), "residx_atom37_to_atom14": ((num_res, 37), i32),
        "template_aatype": ((num_templates, num_res), i32),
        "template_all_atom_positions": ((num_templates, num_res, 37, 3), f32),
        "template_all_atom_masks": ((num_templates, num_res, 37), f32), "template_mask": ((num_templates,), f32),
        "template_pseudo_beta": ((num_templates, num_res, 3), f32),
        "template_pseudo_beta_mask": ((num_templates, num_res), f32),
    }
    return {name: jnp.zeros(*shapes[name]) for name in input_feature_names(config)}


def recycling_slices(features: Mapping[str, np.ndarray], config: ModelConfig,
                     num_recycle: int) -> list[dict[str, np.ndarray]]:
    """The per-iteration batches of processed ``features`` (leading dimension ``num_recycle + 1``).

    Features with a single slice (MSA not resampled) serve every iteration. Masked-out MSA and extra-MSA
    rows are dropped, down to the next row bucket (:func:`snakefold.model.padding.trim_padding_rows`).
    """
    names = input_feature_names(config)
    missing = [name for name in names if name not in features]
    if missing:
        raise SnakefoldError(
            f"processed features lack {', '.join(missing)}: make them with `snakefold process-features` "
            f"for preset {config.preset}")
    available = {features[name].shape[0] for name in names}
    if len(available) != 1:
        raise SnakefoldError("processed features disagree on their leading (recycling) dimension: "
                             f"{sorted(available)}; remake them with `snakefold process-features`")
    (num_slices,) = available
    if num_slices != 1 and num_slices < num_recycle + 1:
        raise SnakefoldError(
            f"processed features hold {num_slices} recycling slices, {num_recycle + 1} are needed for "
            f"{num_recycle} recycles: remake them with `snakefold process-features --num-recycle {num_recycle}`")
    return trim_padding_rows([{name: features[name][min(index, num_slices - 1)] for name in names}
                              for index in range(num_recycle + 1)], config.features)


#: One recycling iteration: (batch slice, recycled values) -> (result, values to recycle).
IterationStep = Callable[[Mapping[str, np.ndarray], Mapping[str, jnp.ndarray]], tuple[dict, dict]]


def compile_iteration(config: ModelConfig, params: hk.Params, batch: Mapping[str, np.ndarray]) -> IterationStep:
    """One iteration of ``config`` compiled ahead of time for the shapes of ``batch`` (one slice).

    The parameters are placed on the device once. Compiling goes through JAX's compilation caches: a
    process that enabled the persistent cache loads a program compiled earlier for the same shapes.
    """
    params = jax.device_put(params)
    prev = initial_prev(config, batch["aatype"].shape[0])
    compiled = jitted_apply(config).lower(params, None, batch, prev).compile()

    def step(batch_slice, recycled):
        return compiled(params, None, batch_slice, recycled)

    return step


def ca_distance_change(previous_positions: np.ndarray, positions: np.ndarray, seq_mask: np.ndarray) -> float:
    """Root-mean-square change (Angstrom) of the CA-CA distance matrix between two iterations' atom37
    positions [N_res, 37, 3], over the pairs of real residues (``seq_mask`` [N_res])."""
    def ca_distances(atom_positions):
        ca = np.asarray(atom_positions, np.float64)[:, residue_constants.atom_order["CA"]]
        return np.sqrt(np.sum(np.square(ca[:, None] - ca[None, :]), axis=-1))

    pair_mask = np.outer(seq_mask, seq_mask)
    squared = np.square(ca_distances(positions) - ca_distances(previous_positions))
    return float(np.sqrt(np.sum(squared * pair_mask) / max(np.sum(pair_mask), 1.0)))


def recycle(step: IterationStep, batches: list[dict[str, np.ndarray]], prev: Mapping[str, np.ndarray],
            early_stop_tolerance: float = 0.0) -> tuple[dict, int]:
    """Algorithm 2's outer loop: ``step`` on each slice in turn, feeding back the recycled values.

    With ``early_stop_tolerance`` > 0 the loop stops once the CA distance matrix changes by less than it
    between two iterations (:func:`ca_distance_change`, AlphaFold-Multimer's criterion); 0 runs every slice,
    as AlphaFold2's monomer models do. Returns the last iteration's result and the number of recycling
    iterations run after the first.
    """
    if early_stop_tolerance < 0:
        raise SnakefoldError(f"the early-stop tolerance must be at least 0, not {early_stop_tolerance}")
    result: dict = {}
    previous_positions = None
    for iteration, batch in enumerate(batches):
        result, prev = step(batch, prev)
        if early_stop_tolerance > 0 and "structure_module" in result:
            positions = np.asarray(result["structure_module"]["final_atom_positions"])
            if previous_positions is not None and ca_distance_change(
                    previous_positions, positions, np.asarray(batch["seq_mask"])) < early_stop_tolerance:
                return result, iteration
            previous_positions = positions
    return result, len(batches) - 1


def run_model(config: ModelConfig, params: hk.Params, features: Mapping[str, np.ndarray],
              num_recycle: int | None = None, early_stop_tolerance: float = 0.0,
              timings: dict[str, float] | None = None) -> dict:
    """Algorithm 2: up to ``num_recycle + 1`` iterations on processed ``features``; the last iteration's result.

    ``num_recycle`` defaults to the configuration's; ``early_stop_tolerance`` as in :func:`recycle`. The
    result is a nested dict of NumPy arrays, with ``num_recycles``, the recycling iterations run.
    ``timings``, when given, receives ``compile_s`` (compiling or loading one iteration) and ``predict_s``
    (the iterations), in seconds.
    """
    num_recycle = config.num_recycle if num_recycle is None else num_recycle
    batches = recycling_slices(features, config, num_recycle)
    compiling = time.perf_counter()
    step = compile_iteration(config, params, batches[0])
    recycling = time.perf_counter()
    prev = initial_prev(config, batches[0]["aatype"].shape[0])
    result, num_recycles = recycle(step, batches, prev, early_stop_tolerance)
    result = jax.tree_util.tree_map(np.asarray, result)
    if timings is not None:
        timings.update(compile_s=recycling - compiling, predict_s=time.perf_counter() - recycling)
    result["num_recycles"] = np.asarray(num_recycles, np.int32)
    return result


@functools.lru_cache(maxsize=8)
def jitted_apply(config: ModelConfig):
    """``jax.jit`` of one iteration's apply, shared by all runs of ``config`` (compiled once per shape)."""
    return jax.jit(forward(config).apply)


def flatten_result(result: Mapping, prefix: str = "") -> dict[str, np.ndarray]:
    """Nested result dict -> ``{'a/b': array}``, AlphaFold2's flat output names."""
    flat = {}
    for key, value in result.items():
        if isinstance(value, Mapping):
            flat.update(flatten_result(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = np.asarray(value)
    return flat


#: Output arrays and their residue axes (cut back to the real length); those a preset does not produce
#: (the trunk-only run's structure and heads, the PAE of non-pTM presets) are left out. The clustered-MSA
#: representation ('representations/msa', [N_clust, N_res, c_m]) is not written: it is large and read by
#: no later stage.
OUTPUT_RESIDUE_AXES: dict[str, tuple[int, ...]] = {
    "representations/msa_first_row": (0,),
    "representations/pair": (0, 1),
    "representations/single": (0,),
    "representations/structure_module": (0,),
    "structure_module/final_atom_positions": (0,),
    "structure_module/final_atom_mask": (0,),
    "distogram/logits": (0, 1),
    "distogram/bin_edges": (),
    "masked_msa/logits": (1,),
    "experimentally_resolved/logits": (0,),
    "predicted_lddt/logits": (0,),
    "plddt": (0,),
    "ranking_confidence": (),
    "predicted_aligned_error": (0, 1),
    "aligned_confidence_probs": (0, 1),
    "max_predicted_aligned_error": (),
    "ptm": (),
}


def outputs_for_real_residues(result: Mapping, num_res: int) -> dict[str, np.ndarray]:
    """The arrays of :data:`OUTPUT_RESIDUE_AXES`, float32, cut to ``num_res`` residues."""
    flat = flatten_result(result)
    outputs = {}
    for key, axes in OUTPUT_RESIDUE_AXES.items():
        if key not in flat:
            continue
        array = flat[key]
        for axis in axes:
            array = np.take(array, np.arange(num_res), axis=axis)
        outputs[key] = array.astype(np.float32)
    return outputs
