"""Predicting complexes target after target: AlphaFold-Multimer v3 on merged complex features.

:class:`MultimerPredictor` is the multimer counterpart of :class:`snakefold.model.inference.Predictor` and
returns the same :class:`~snakefold.model.inference.Prediction`:

1. **Inputs**: the merged features (:func:`snakefold.model.multimer.model.model_inputs`, N residues of all
   chains, S MSA rows), padded along the residues (:func:`snakefold.model.multimer.model.padded_residues`)
   to the **length bucket** of N (:func:`~snakefold.model.length_buckets.bucket_length`: the smallest bucket
   >= N, beyond the largest a multiple of 128) and along the rows
   (:func:`snakefold.model.multimer.model.padded_rows`) to the **depth bucket** of S (:func:`depth_bucket`);
   without length buckets nothing is padded. The model samples and masks the MSA itself, from the seed,
   inside every iteration, with draws that padding leaves unchanged.
2. **Compile** one iteration for the inputs' shapes (:func:`snakefold.model.multimer.model.compile_iteration`),
   through JAX's persistent compilation cache when the process has it on, and keep it for every later target
   of the same shapes in the process: complexes of one length bucket and one depth bucket share it.
3. **Recycle** (:func:`snakefold.model.multimer.model.recycle`) up to ``num_recycle`` times, stopping early
   once the CA distances change by at most the tolerance (AlphaFold-Multimer's 0.5 A); the recycles run are
   reported.
4. **Outputs** (:data:`MULTIMER_OUTPUT_KEYS`): the monomer's output arrays cut back to the N real residues,
   plus ``iptm``, ``ranking_confidence`` (0.8 ipTM + 0.2 pTM), ``chain_pair_iptm`` [C, C] and
   ``interface_pae`` [C, C], every confidence weighting padding 0 (the numbers of the unpadded complex).

**Depth buckets.** Every iteration samples an order of all S rows; AlphaFold-Multimer v3 reads the first
``num_msa`` (508) as cluster rows and the next ``num_extra_msa`` (2,048 for models 1-3, 1,152 for models 4 and
5) in the extra-MSA stack, but assigns every other row to a cluster too, so rows can never be cut, only
padded. Empty rows come last in the (stably sorted) order and are masked everywhere, so the first S rows of a
sample are the unpadded MSA's and padding changes no output (the masked-MSA logits of an MSA shallower than
``num_msa`` are cut back to its S rows). Padding costs compute that grows with S (the profile, the sort, the
cluster assignment) and, below ``num_msa`` + ``num_extra_msa`` rows, the padding rows the extra-MSA stack runs
on (up to 1,024 in the buckets below 2,556 rows; that stack has 4 blocks of 64 channels, the Evoformer 48 of
256 on 508 rows). ``snakefold complex-features`` pads merged MSAs to at least 512 rows and crops each chain to
2,048 rows (paired rows included): a dimer has 512 to about 4,100 rows, a complex of C chains fewer than
(C + 1) x 2,048. Hence buckets at most 1,024 rows apart up to 6,144, where the extra-MSA stack runs and dimers lie,
and coarser ones beyond for larger complexes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import haiku as hk
import jax
import numpy as np

from snakefold.common.errors import SnakefoldError
from snakefold.model.hyperparameters import FeatureConfig
from snakefold.model.inference import OUTPUT_KEYS, CompilationCounter, CompiledIterations, Prediction, with_bfloat16
from snakefold.model.length_buckets import bucket_length
from snakefold.model.multimer.model import (
    compile_iteration,
    model_inputs,
    multimer_outputs,
    padded_residues,
    padded_rows,
    recycle,
)
from snakefold.model.multimer.presets import MultimerConfig

#: The arrays of a complex's model run (outputs.npz): the monomer's, and the complex's confidences.
MULTIMER_OUTPUT_KEYS: tuple[str, ...] = OUTPUT_KEYS + ("iptm", "ranking_confidence", "chain_pair_iptm",
                                                       "interface_pae")
#: The merged MSA's row counts a complex's rows are padded up to (module docstring, depth buckets).
MSA_DEPTH_BUCKETS: tuple[int, ...] = (512, 1024, 2048, 3072, 4096, 5120, 6144, 8192)
#: Beyond the largest depth bucket, rows are padded to a multiple of this.
MSA_DEPTH_STEP = 2048


def depth_bucket(num_rows: int) -> int:
    """The rows a merged MSA of ``num_rows`` rows is padded to: the smallest of :data:`MSA_DEPTH_BUCKETS` >= it,
    beyond them a multiple of :data:`MSA_DEPTH_STEP`."""
    return bucket_length(num_rows, MSA_DEPTH_BUCKETS, step=MSA_DEPTH_STEP)


class MultimerPredictor:
    """A multimer preset with its parameters on the device, running complex after complex (module docstring).

    ``length_buckets`` (of the total length) default to the single-chain default, ``FeatureConfig``'s
    ``residue_buckets`` (a multimer preset has no feature configuration); the MSA rows go to
    :data:`MSA_DEPTH_BUCKETS`; ``()`` pads nothing, neither residues nor rows. ``bfloat16`` runs the trunk
    with bfloat16 activations (AlphaFold-Multimer's own default on accelerators).
    """

    def __init__(self, config: MultimerConfig, params: hk.Params, *, length_buckets: tuple[int, ...] | None = None,
                 bfloat16: bool = False):
        self.length_buckets = FeatureConfig().residue_buckets if length_buckets is None else tuple(length_buckets)
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
            num_res, num_rows = int(batch["aatype"].shape[0]), int(batch["msa"].shape[0])
            num_padded, num_padded_rows = num_res, num_rows
            if self.length_buckets:
                num_padded = bucket_length(num_res, self.length_buckets)
                num_padded_rows = depth_bucket(num_rows)
            batch = padded_rows(padded_residues(batch, num_padded), num_padded_rows)
            compiling = time.perf_counter()
            step, reused = self._iterations.get(batch)
            recycling = time.perf_counter()
            tolerance = early_stop_tolerance if early_stop_tolerance > 0 else -1.0
            result = recycle(step, self.config, self.params, batch, seed, num_recycle, tolerance)
        timings = {"features_s": compiling - started, "compile_s": recycling - compiling,
                   "predict_s": time.perf_counter() - recycling}
        outputs = {key: value for key, value in multimer_outputs(result, num_res, num_rows).items()
                   if key in MULTIMER_OUTPUT_KEYS}
        return Prediction(outputs, int(result["num_recycles"]), num_res, num_padded, timings, reused,
                          compiled_here.compilations, compiled_here.cache_hits, padded_msa_rows=num_padded_rows)
