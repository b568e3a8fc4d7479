"""The predict stage's runner: one sequence's raw features -> one model run's outputs, compiled once per bucket.

:func:`predict` takes the raw features of one chain, a preset's :class:`~snakefold.model.presets.ModelConfig`,
its parameters, a seed and a recycle count, and returns the run's outputs for the real residues:

1. **Features** (:func:`snakefold.model.feature_processing.process_features`): the seed draws the MSA cluster centres,
   the extra-MSA sample and the masked-MSA corruption of each of the ``num_recycle + 1`` iterations; the
   residue dimension is padded up to its **length bucket** (:func:`~snakefold.model.length_buckets.bucket_length`:
   the smallest bucket >= L, beyond the largest a multiple of 128; no padding without buckets). The MSA
   rows are cut to the depth buckets of the preset's feature configuration
   (:mod:`snakefold.model.padding`), so the length bucket and the alignment's depth bucket decide every
   shape the model sees.
2. **Compile** one recycling iteration for those shapes (:func:`snakefold.model.model.compile_iteration`).
   With :func:`enable_compilation_cache` the compiled program goes to, and later comes from, JAX's
   persistent compilation cache: every later process running the same preset and architecture on the same
   buckets (another target, another seed, a later run) loads it instead of compiling.
3. **Recycle** (:func:`snakefold.model.model.recycle`): the iterations feed back the first MSA row, the pair
   representation and the atom positions (whose pseudo-beta distances the next iteration embeds); with a
   tolerance > 0 they stop once the CA distance matrix stops changing. The iterations run are reported.
4. **Outputs** (:data:`OUTPUT_KEYS`): float32 arrays cut back to the real residues; ``masked_msa/logits``
   keeps the cluster rows the model ran on [N_clust, L, 23].

:class:`Predictor` keeps what the targets of one process share: the preset's parameters, placed on the device
once, and every compiled iteration, by the shapes it was compiled for, so a process predicting several
targets of one bucket (a multi-target ``snakefold predict``) traces, compiles or loads the model once.
:func:`predict` is one target with a predictor of its own.

:func:`expected_param_shapes` keeps the parameter names and shapes a configuration needs (what a parameter
file is checked against: tracing the model's initialisation, seconds) beside the compiled programs, so that
a later process checks its parameter file without tracing again.

:class:`CompilationCounter` counts, from JAX's own monitoring events, the XLA compilations a block of code ran
and the programs it loaded from the persistent cache instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import haiku as hk
import jax
import jax.monitoring
import numpy as np

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError
from snakefold.model.families import config_param_shapes
from snakefold.model.feature_processing import process_features
from snakefold.model.model import compile_iteration, initial_prev, outputs_for_real_residues, recycle, recycling_slices
from snakefold.model.multimer.presets import MultimerConfig
from snakefold.model.presets import ModelConfig

#: The arrays of a model run's outputs.npz (the predict-stage contract); those of the predicted-aligned-error
#: head exist for the _ptm presets only.
OUTPUT_KEYS: tuple[str, ...] = (
    "plddt", "structure_module/final_atom_positions", "structure_module/final_atom_mask", "predicted_lddt/logits",
    "distogram/logits", "distogram/bin_edges", "experimentally_resolved/logits", "masked_msa/logits",
    "predicted_aligned_error", "aligned_confidence_probs", "ptm", "max_predicted_aligned_error",
)
#: JAX's monitoring events: every backend compilation request (a persistent-cache load included), and loads.
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"


#: JAX's GPU memory settings for a prediction process, where the environment sets none. A prediction job has
#: its GPUs to itself (the workflow's `gpu` resource: a group's predictions take turns), so it takes 95 % of the
#: card's memory rather than JAX's default 75 %: a longer sequence fits. JAX still reserves that memory up
#: front (XLA_PYTHON_CLIENT_PREALLOCATE left at true): one pool for all the targets a process predicts.
GPU_MEMORY_SETTINGS = {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.95"}


def claim_gpu_memory(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set :data:`GPU_MEMORY_SETTINGS` where ``environ`` has none; before JAX first touches a device."""
    for name, value in GPU_MEMORY_SETTINGS.items():
        environ.setdefault(name, value)


def enable_compilation_cache(directory: str | Path) -> None:
    """Use JAX's persistent compilation cache in ``directory`` for every later compilation of this process.

    Everything compiled is kept, however quick it was to compile or small it is. Call it before the
    process compiles anything.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SnakefoldError(f"cannot create the compilation cache directory {directory} ({error.strerror}); "
                             f"set model.compilation_cache_dir to a writable directory") from error
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


#: The model's source files: a change to any of them may change the parameters a configuration needs.
MODEL_SOURCES = tuple(sorted(Path(__file__).parent.glob("**/*.py")))


def expected_param_shapes(config: ModelConfig | MultimerConfig,
                          cache_dir: str | Path | None) -> dict[str, tuple[int, ...]]:
    """:func:`snakefold.model.families.config_param_shapes` of ``config``, kept in ``cache_dir`` (when given) as
    ``param_shapes-<key>.json``, the key a hash of the configuration, the JAX and Haiku versions and the
    model's source files."""
    if cache_dir is None:
        return config_param_shapes(config)
    digest = hashlib.sha256(f"{config!r}|{jax.__version__}|{hk.__version__}".encode())
    for source in MODEL_SOURCES:
        digest.update(source.read_bytes())
    path = Path(cache_dir) / f"param_shapes-{digest.hexdigest()[:32]}.json"
    try:
        return {name: tuple(shape) for name, shape in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        shapes = config_param_shapes(config)
        atomic_write_json(path, shapes)
        return shapes


class CompilationCounter:
    """Counts what a ``with`` block compiled: ``compilations`` (XLA compilations actually run) and
    ``cache_hits`` (programs loaded from the persistent compilation cache instead)."""

    def __init__(self):
        self.requests = 0
        self.cache_hits = 0

    def _on_duration(self, event: str, duration: float, **kwargs) -> None:
        if event == BACKEND_COMPILE_EVENT:
            self.requests += 1

    def _on_event(self, event: str, **kwargs) -> None:
        if event == CACHE_HIT_EVENT:
            self.cache_hits += 1

    @property
    def compilations(self) -> int:
        return self.requests - self.cache_hits

    def __enter__(self) -> CompilationCounter:
        jax.monitoring.register_event_duration_secs_listener(self._on_duration)
        jax.monitoring.register_event_listener(self._on_event)
        return self

    def __exit__(self, *exc_info) -> None:
        jax.monitoring.unregister_event_duration_listener(self._on_duration)
        jax.monitoring.unregister_event_listener(self._on_event)


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One model run: its outputs (:data:`OUTPUT_KEYS`, real residues only) and how it ran."""

    outputs: dict[str, np.ndarray]
    num_recycles: int
    length: int
    padded_length: int
    #: seconds: features_s (processing), compile_s (compiling, or loading from the persistent cache, one
    #: iteration; 0 when this process had it compiled already), predict_s (recycling: the model's compute)
    timings: dict[str, float]
    #: whether the compiled iteration came from an earlier target of this process
    reused_compiled: bool
    #: XLA compilations the run caused, and programs it loaded from the persistent cache instead
    xla_compilations: int
    cache_hits: int
    #: a complex's merged MSA rows as run (its depth bucket); None for a single chain, whose rows feature
    #: processing samples and :mod:`snakefold.model.padding` cuts to its row buckets
    padded_msa_rows: int | None = None


#: The shapes and dtypes of one iteration's inputs: what a compiled iteration is kept by.
ShapeSignature = tuple[tuple[str, tuple[int, ...], str], ...]


def shape_signature(batch: Mapping[str, np.ndarray]) -> ShapeSignature:
    return tuple((name, tuple(np.shape(value)), str(np.asarray(value).dtype)) for name, value in sorted(batch.items()))


class CompiledIterations:
    """A process's compiled iterations, kept by the shapes and dtypes of their inputs; ``compile(batch)``
    makes one the first time its shapes come."""

    def __init__(self, compile_for: Callable[[Mapping[str, np.ndarray]], Any]):
        self._compile_for = compile_for
        self._kept: dict[ShapeSignature, Any] = {}

    def get(self, batch: Mapping[str, np.ndarray]) -> tuple[Any, bool]:
        """The compiled iteration for ``batch``'s shapes, and whether this process had it already."""
        signature = shape_signature(batch)
        if signature in self._kept:
            return self._kept[signature], True
        compiled = self._kept[signature] = self._compile_for(batch)
        return compiled, False


def with_bfloat16(config: ModelConfig | MultimerConfig) -> ModelConfig | MultimerConfig:
    """``config`` (monomer or multimer) with bfloat16 activations in the trunk (``GlobalConfig.bfloat16``), and
    on a GPU with cuDNN's fused attention (``attention_implementation="cudnn"``, measured faster there)."""
    attention = "cudnn" if jax.default_backend() == "gpu" else config.global_config.attention_implementation
    return config.replace(global_config=dataclasses.replace(config.global_config, bfloat16=True,
                                                            attention_implementation=attention))


class Predictor:
    """A preset with its parameters on the device, running target after target (module docstring).

    ``length_buckets`` defaults to the configuration's ``features.residue_buckets``; ``()`` pads nothing.
    ``bfloat16`` runs the trunk with bfloat16 activations (``GlobalConfig.bfloat16``).
    """

    def __init__(self, config: ModelConfig, params: hk.Params, *, length_buckets: tuple[int, ...] | None = None,
                 bfloat16: bool = False):
        buckets = config.features.residue_buckets if length_buckets is None else tuple(length_buckets)
        self.feature_config = dataclasses.replace(config.features, residue_buckets=buckets)
        self.config = with_bfloat16(config) if bfloat16 else config
        self.params = jax.device_put(params)
        self._iterations = CompiledIterations(lambda batch: compile_iteration(self.config, self.params, batch))

    def predict(self, raw_features: Mapping[str, np.ndarray], seed: int, num_recycle: int, *,
                early_stop_tolerance: float = 0.0, source: str = "raw features") -> Prediction:
        """One target: ``raw_features`` processed with ``seed``, up to ``num_recycle + 1`` iterations.

        ``source`` names the features in error messages.
        """
        if num_recycle < 0:
            raise SnakefoldError(f"num_recycle must be at least 0, not {num_recycle}")
        with CompilationCounter() as compiled:
            started = time.perf_counter()
            features = process_features(raw_features, self.feature_config, num_recycle=num_recycle, seed=seed,
                                        source=source)
            num_res = int(features["seq_length"][0])
            num_padded = features["aatype"].shape[-1]
            batches = recycling_slices(features, self.config, num_recycle)
            compiling = time.perf_counter()
            step, reused = self._iterations.get(batches[0])
            recycling = time.perf_counter()
            result, num_recycles = recycle(step, batches, initial_prev(self.config, num_padded),
                                           early_stop_tolerance)
            result = jax.tree_util.tree_map(np.asarray, result)
        timings = {"features_s": compiling - started, "compile_s": recycling - compiling,
                   "predict_s": time.perf_counter() - recycling}
        outputs = {key: value for key, value in outputs_for_real_residues(result, num_res).items()
                   if key in OUTPUT_KEYS}
        return Prediction(outputs, num_recycles, num_res, num_padded, timings, reused, compiled.compilations,
                          compiled.cache_hits)


def predict(raw_features: Mapping[str, np.ndarray], config: ModelConfig, params: hk.Params, seed: int,
            num_recycle: int, *, early_stop_tolerance: float = 0.0, length_buckets: tuple[int, ...] | None = None,
            bfloat16: bool = False, source: str = "raw features") -> Prediction:
    """Run ``config`` with ``params`` on ``raw_features``: one target with a :class:`Predictor` of its own."""
    predictor = Predictor(config, params, length_buckets=length_buckets, bfloat16=bfloat16)
    return predictor.predict(raw_features, seed, num_recycle, early_stop_tolerance=early_stop_tolerance,
                             source=source)
