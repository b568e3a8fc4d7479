"""Length buckets: the residue count a sequence of L residues is padded up to, so that one compiled model serves
every sequence of its bucket.

The smallest configured bucket >= L; beyond the largest, the next multiple of :data:`LONG_LENGTH_STEP`; no
buckets, no padding is the caller's choice. The same rule, with a step of its own, pads a complex's MSA rows
to their depth bucket (:data:`snakefold.model.multimer.inference.MSA_DEPTH_BUCKETS`). Plain Python: the
workflow's planning (which groups predictions by bucket, :mod:`snakefold.plan.predict_groups`) imports it
without JAX.
"""

from __future__ import annotations

#: Residue lengths beyond the last bucket are padded up to a multiple of this.
LONG_LENGTH_STEP = 128


def bucket_length(num_res: int, buckets: tuple[int, ...], step: int = LONG_LENGTH_STEP) -> int:
    """The padded residue count: the smallest bucket >= ``num_res``, beyond the buckets a multiple of ``step``."""
    for bucket in sorted(buckets):
        if bucket >= num_res:
            return bucket
    return -(-num_res // step) * step
