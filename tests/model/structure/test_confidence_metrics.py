"""Confidence metrics on logits whose answer can be computed by hand."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from snakefold.common.ranking import ranking_confidence
from snakefold.model import confidence

PAE_BREAKS = np.linspace(0.0, 31.0, 63).astype(np.float32)  # the PAE head's bin edges


def one_hot_logits(shape: tuple[int, ...], num_bins: int, hot_bin: int) -> np.ndarray:
    logits = np.zeros(shape + (num_bins,), np.float32)
    logits[..., hot_bin] = 1e4  # softmax puts all probability on this bin
    return logits


@pytest.mark.parametrize("hot_bin, expected", [(0, 1.0), (24, 49.0), (49, 99.0)])
def test_plddt_of_certain_logits_is_the_bin_centre(hot_bin, expected):
    np.testing.assert_allclose(confidence.plddt(one_hot_logits((3,), 50, hot_bin)), [expected] * 3, rtol=1e-6)


def test_plddt_of_flat_logits_is_fifty():
    np.testing.assert_allclose(confidence.plddt(np.zeros((4, 50), np.float32)), 50.0, rtol=1e-6)


@pytest.mark.parametrize("hot_bin, expected", [(0, 0.25), (10, 5.25), (62, 31.25), (63, 31.75)])
def test_predicted_aligned_error_of_certain_logits_is_the_bin_centre(hot_bin, expected):
    result = confidence.predicted_aligned_error(one_hot_logits((2, 2), 64, hot_bin), PAE_BREAKS)
    np.testing.assert_allclose(result["predicted_aligned_error"], np.full((2, 2), expected), rtol=1e-6)
    assert float(result["max_predicted_aligned_error"]) == pytest.approx(31.75)
    np.testing.assert_allclose(result["aligned_confidence_probs"].sum(-1), 1.0, rtol=1e-6)


def test_ptm_of_a_perfect_prediction_is_limited_only_by_d0():
    # All probability on the first bin: every aligned error counts as its centre, 0.25 Angstrom.
    # For 50 residues d0 = 1.24 * 35^(1/3) - 1.8 = 2.2562 and TM = 1 / (1 + (0.25 / 2.2562)^2) = 0.98787.
    logits = one_hot_logits((50, 50), 64, 0)
    assert float(confidence.tm_score_d0(50)) == pytest.approx(2.2562, abs=1e-4)
    assert float(confidence.ptm(logits, PAE_BREAKS)) == pytest.approx(0.98787, abs=1e-5)


def test_ptm_clips_short_chains_to_nineteen_residues():
    # d0(19) = 1.24 * 4^(1/3) - 1.8 = 0.16838, so even a perfect 10-residue prediction scores 0.31206.
    logits = one_hot_logits((10, 10), 64, 0)
    assert float(confidence.tm_score_d0(10)) == pytest.approx(0.16838, abs=1e-5)
    assert float(confidence.ptm(logits, PAE_BREAKS)) == pytest.approx(0.31206, abs=1e-4)


def test_ptm_ignores_residues_of_zero_weight_and_takes_the_best_alignment():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(30, 30, 64)).astype(np.float32)
    weights = np.ones(30, np.float32)
    weights[20:] = 0.0
    padded = float(confidence.ptm(logits, PAE_BREAKS, weights))
    assert padded == pytest.approx(float(confidence.ptm(logits[:20, :20], PAE_BREAKS)), rel=1e-5)
    # Make alignment on residue 0 certain of small errors: pTM is at least its score.
    logits[0, :20] = one_hot_logits((20,), 64, 0)
    best = float(confidence.ptm(logits, PAE_BREAKS, weights))
    assert best == pytest.approx(1.0 / (1.0 + (0.25 / float(confidence.tm_score_d0(20))) ** 2), rel=1e-5)


def test_numpy_and_jax_inputs_give_the_same_values():
    rng = np.random.default_rng(4)
    plddt_logits = rng.normal(size=(12, 50)).astype(np.float32)
    pae_logits = rng.normal(size=(12, 12, 64)).astype(np.float32)
    mask = (np.arange(12) < 10).astype(np.float32)
    np.testing.assert_allclose(confidence.plddt(jnp.asarray(plddt_logits)), confidence.plddt(plddt_logits),
                               rtol=1e-5)
    assert isinstance(confidence.plddt(jnp.asarray(plddt_logits)), jnp.ndarray)
    np.testing.assert_allclose(confidence.ptm(jnp.asarray(pae_logits), jnp.asarray(PAE_BREAKS), jnp.asarray(mask)),
                               confidence.ptm(pae_logits, PAE_BREAKS, mask), rtol=1e-5)
    np.testing.assert_allclose(
        confidence.predicted_aligned_error(jnp.asarray(pae_logits), jnp.asarray(PAE_BREAKS))["predicted_aligned_error"],
        confidence.predicted_aligned_error(pae_logits, PAE_BREAKS)["predicted_aligned_error"], rtol=1e-5)


def test_ranking_confidence():
    plddt = np.array([90.0, 70.0, 10.0])
    assert ranking_confidence(plddt) == pytest.approx(170.0 / 3)
    assert ranking_confidence(plddt, mask=np.array([1.0, 1.0, 0.0])) == pytest.approx(80.0)
    assert ranking_confidence(plddt, ptm_value=0.8, rank_by="ptm") == pytest.approx(80.0)
    with pytest.raises(ValueError, match="pTM"):
        ranking_confidence(plddt, rank_by="ptm")
    with pytest.raises(ValueError, match="rank_by"):
        ranking_confidence(plddt, rank_by="iptm")


@pytest.mark.parametrize("value, category", [
    (95.0, "very high"), (90.0, "confident"), (70.5, "confident"), (70.0, "low"), (50.5, "low"),
    (50.0, "very low"), (0.0, "very low"),
])
def test_plddt_categories(value, category):
    assert confidence.plddt_category(value) == category


def test_plddt_category_rejects_nan():
    with pytest.raises(ValueError):
        confidence.plddt_category(float("nan"))
