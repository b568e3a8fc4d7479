"""No work for padding: masked-out MSA and extra-MSA rows are dropped before the model runs.

AlphaFold2's feature processing pads every input to fixed row counts: ``msa_feat`` to 508 or 512 cluster
rows, the extra MSA to 5120 or 1024 rows, whatever the depth of the real alignment. A row that is masked
out everywhere contributes nothing to the rows and residues that are real: MSA row attention works
within a row; column attention gives masked rows zero weight (their logits carry the -1e9 mask bias,
whose exponential is exactly zero); the outer product mean multiplies them by their zero mask, in the
sum and in the normaliser; global column attention averages its queries with the mask as weights. The
pair representation, and through it every output of real residues, is therefore the same with or
without those rows (up to float rounding from shorter sums).

:func:`trim_padding_rows` drops them from the recycling slices of one prediction: it keeps the rows up to
the last one with any unmasked position (in any slice), rounded up to the next row bucket
(``FeatureConfig.msa_row_buckets`` and ``extra_msa_row_buckets``; never more rows than the input has),
so that inputs of similar depth share one compiled model. The masked-MSA logits then cover the kept
cluster rows only. Residue padding is left alone: residue counts are bucketed by feature processing.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from snakefold.model.hyperparameters import FeatureConfig

#: Features with cluster rows (leading axis after the recycling slice).
CLUSTER_ROW_FEATURES: tuple[str, ...] = ("msa_feat", "msa_mask", "msa_row_mask", "bert_mask", "true_msa")
#: Features with extra-MSA rows.
EXTRA_ROW_FEATURES: tuple[str, ...] = ("extra_msa", "extra_msa_mask", "extra_has_deletion",
                                       "extra_deletion_value", "extra_msa_row_mask")


def row_bucket(num_rows: int, buckets: Sequence[int], available: int) -> int:
    """The smallest bucket holding ``num_rows`` (at least 1), capped at the ``available`` rows."""
    num_rows = max(num_rows, 1)
    for bucket in sorted(buckets):
        if bucket >= num_rows:
            return min(bucket, available)
    return available


def used_rows(masks: Sequence[np.ndarray]) -> int:
    """Rows up to the last one with any unmasked position, over all ``masks`` [rows, residues]."""
    used = 0
    for mask in masks:
        rows = np.flatnonzero(np.any(np.asarray(mask) != 0, axis=1))
        if rows.size:
            used = max(used, int(rows[-1]) + 1)
    return used


def trim_padding_rows(batches: Sequence[Mapping[str, np.ndarray]],
                      config: FeatureConfig) -> list[dict[str, np.ndarray]]:
    """The recycling slices without their masked-out cluster and extra-MSA rows (module docstring).

    All slices keep the same row counts, so that one compiled model runs every iteration.
    """
    batches = [dict(batch) for batch in batches]
    groups = (("msa_mask", CLUSTER_ROW_FEATURES, config.msa_row_buckets),
              ("extra_msa_mask", EXTRA_ROW_FEATURES, config.extra_msa_row_buckets))
    for mask_name, names, buckets in groups:
        if not batches or mask_name not in batches[0]:
            continue
        available = batches[0][mask_name].shape[0]
        keep = row_bucket(used_rows([batch[mask_name] for batch in batches]), buckets, available)
        for batch in batches:
            for name in names:
                if name in batch:
                    batch[name] = batch[name][:keep]
    return batches
