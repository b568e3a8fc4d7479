"""Predicting complexes target after target: AlphaFold-Multimer v3 on merged complex features.

:class:`MultimerPredictor` is the multimer counterpart of :class:`snakefold.model.inference.Predictor` and
returns the same :class:`~snakefold.model.inference.Prediction`:

1. **Inputs**: the merged features (:func:`snakefold.model.multimer.model.model_inputs`, N residues of all
   chains, S MSA rows); the model samples and masks the MSA itself, from the seed, inside every iteration.
2. **Compile** one iteration for the inputs' shapes (:func:`snakefold.model.multimer.model.compile_iteration`),
   through JAX's persistent compilation cache when the process has it on, and keep it for every later target
   of the same shapes in the process.
3. **Recycle** (:func:`snakefold.model.multimer.model.recycle`) up to ``num_recycle`` times, stopping early
   once the CA distances change by at most the tolerance (AlphaFold-Multimer's 0.5 A); the recycles run are
   reported.
4. **Outputs** (:data:`MULTIMER_OUTPUT_KEYS`): the monomer's output arrays for the N residues, plus
   ``iptm``, ``ranking_confidence`` (0.8 ipTM + 0.2 pTM), ``chain_pair_iptm`` [C, C] and ``interface_pae``
   [C, C].

Residues are not padded to length buckets: a compiled iteration serves complexes of the same total length
and MSA depth, and the persistent cache keeps it for later processes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import haiku as hk
import jax
import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.model.inference import (
    OUTPUT_KEYS,
    CompilationCounter,
    CompiledIterations,
    Prediction,
    with_bfloat16,
)
from snakefold.model.multimer.model import compile_iteration, model_inputs, multimer_outputs, recycle
from snakefold.model.multimer.presets import MultimerConfig

#: The arrays of a complex's model run (outputs.npz): the monomer's, and the complex's confidences.
MULTIMER_OUTPUT_KEYS: tuple[str, ...] = OUTPUT_KEYS + ("iptm", "ranking_confidence", "chain_pair_iptm",
                                                       "interface_pae")


class MultimerPredictor:
    """A multimer preset with its parameters on the device, running complex after complex (module docstring).

    ``bfloat16`` runs the trunk with bfloat16 activations (AlphaFold-Multimer's own default on accelerators).
    """

    def __init__(self, config: MultimerConfig, params: hk.Params, *, bfloat16: bool = False):
        self.config = with_bfloat16(config) if bfloat16 else config
        self.params = jax.device_put(params)
        self._iterations = CompiledIterations(lambda batch: compile_iteration(self.config, self.params, batch))

    def predict(self, merged_features: Mapping[str, np.ndarray], seed: int, num_recycle: int, *,
                early_stop_tolerance: float, source: str = "complex features") -> Prediction:
        """One complex: up to ``num_recycle`` recycles with the model's random ``seed``, then the final iteration.

        ``early_stop_tolerance`` (Angstrom; 0 or less: never stop early) ends recycling once the CA distance
        matrix changes by at most it. ``source`` names the features in error messages.
        """
        if num_recycle < 0:
            raise SnakefoldError(f"num_recycle must be at least 0, not {num_recycle}")
        with CompilationCounter() as compiled_here:
            started = time.perf_counter()
            try:
                batch = model_inputs(merged_features)
            except SnakefoldError as error:
                raise SnakefoldError(f"{source}: {error}") from None
            compiling = time.perf_counter()
            step, reused = self._iterations.get(batch)
            recycling = time.perf_counter()
            tolerance = early_stop_tolerance if early_stop_tolerance > 0 else -1.0
            result = recycle(step, self.config, self.params, batch, seed, num_recycle, tolerance)
        timings = {"features_s": compiling - started, "compile_s": recycling - compiling,
                   "predict_s": time.perf_counter() - recycling}
        outputs = {key: value for key, value in multimer_outputs(result).items() if key in MULTIMER_OUTPUT_KEYS}
        num_res = int(batch["aatype"].shape[0])
        return Prediction(outputs, int(result["num_recycles"]), num_res, num_res, timings, reused,
                          compiled_here.compilations, compiled_here.cache_hits)
