"""Complexes padded to a length bucket and their MSAs to a depth bucket
(:class:`snakefold.model.multimer.inference.MultimerPredictor`), on the multimer miniature with the parity fixtures'
parameters and merged features (tests/multimer/fixtures): a heterodimer of 12 + 9 residues and a homodimer of
10 + 10, with 4 template slots and their MSAs cut to 45 and 30 rows (:data:`MSA_ROWS`).

- ``snakefold predict --length-buckets 32`` predicts both in one process: each runs at 32 residues and 512 MSA rows,
  the second on the first one's compiled iteration (no XLA compilation), and the heterodimer's outputs at its 21
  residues are those of the unpadded prediction (``length_buckets=()``: 21 residues, 45 rows; same parameters and
  seed);
- what makes that so, piece by piece: the features' padding, AlphaFold-Multimer's random draws (per element:
  padding residues leave the draws at real positions as they are; per row and stably sorted: padding rows leave
  the order of the real rows as it is, equal draws included), the confidences and early stopping's CA distance
  change (padding weighs 0).
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from snakefold.cli import main as snakefold_main
from snakefold.common.errors import SnakefoldError
from snakefold.model.hyperparameters import FeatureConfig, MaskedMsaConfig
from snakefold.model.multimer import sampling
from snakefold.model.multimer.inference import MSA_DEPTH_BUCKETS, MultimerPredictor, depth_bucket
from snakefold.model.multimer.model import (
    MULTIMER_INPUT_FEATURES,
    RESIDUE_AXES,
    ROW_FEATURES,
    ca_distance_change,
    model_inputs,
    multimer_confidences,
    multimer_outputs,
    padded_residues,
    padded_rows,
)
from snakefold.model.multimer.presets import small_multimer_config
from snakefold.model.param_sets import params_path
from snakefold.model.params import flat_to_haiku
from tests.multimer.test_parity_fixture import load_fixture
from tests.predict.params import MULTIMER_FIXTURE_PRESET, write_small_multimer_params

BUCKET = 32
#: MSA rows each complex keeps of its fixture's 512 (91 of the heterodimer's have a residue, 24 of the homodimer's):
#: no depth bucket, and both in the first. The heterodimer's 45 are more than the miniature's 24 cluster rows and
#: fewer than its 24 + 32 cluster and extra rows, so that padding rows reach the extra-MSA stack, as they do below
#: 2,556 rows with the full presets; the homodimer's 30 end with 6 empty rows of its own.
MSA_ROWS = {"heterodimer": 45, "homodimer": 30}
DEPTH_BUCKET = 512
SEED = 0
NUM_RECYCLE = 1
#: Largest |difference| between the padded and the unpadded heterodimer at its real residues. Measured (2 cores,
#: float32 CPU, 45 rows padded to 512): atoms 1.5e-5 A, pLDDT 7.6e-6, PAE 3.8e-6 A, pTM 1.9e-9, ipTM 0, interface
#: PAE 1.9e-6 A.
ATOM_TOLERANCE = 1e-3  # Angstrom, over the atoms present
PLDDT_TOLERANCE = 0.01
PAE_TOLERANCE = 0.01  # Angstrom, predicted aligned error and interface PAE
TM_TOLERANCE = 1e-4  # pTM, ipTM, ranking confidence and chain-pair ipTM


def complex_features(case: str) -> dict[str, np.ndarray]:
    """The fixture's merged features with the MSA cut to its first :data:`MSA_ROWS` rows."""
    features = dict(load_fixture(case)["features"])
    for name in ROW_FEATURES:
        features[name] = features[name][:MSA_ROWS[case]]
    return features


@pytest.fixture(scope="module")
def bucketed_run(tmp_path_factory):
    """One `snakefold predict --length-buckets 32` process predicting the heterodimer, then the homodimer."""
    directory = tmp_path_factory.mktemp("bucketed")
    params = write_small_multimer_params(directory / "params")
    features = []
    for case in ("heterodimer", "homodimer"):
        np.savez(directory / f"{case}.npz", **complex_features(case))
        features.append(str(directory / f"{case}.npz"))
    out_dirs = [directory / "heterodimer_run", directory / "homodimer_run"]
    code = snakefold_main(["predict", "--preset", MULTIMER_FIXTURE_PRESET,
                           "--params", str(params_path(params, MULTIMER_FIXTURE_PRESET)), "--seed", str(SEED),
                           "--num-recycle", str(NUM_RECYCLE), "--length-buckets", str(BUCKET),
                           "--features", *features, "--out-dir", *map(str, out_dirs)])
    assert code == 0
    runs = {}
    for case, out_dir in zip(("heterodimer", "homodimer"), out_dirs):
        with np.load(out_dir / "outputs.npz", allow_pickle=False) as outputs:
            runs[case] = (json.loads((out_dir / "scores.json").read_text()), {key: outputs[key] for key in outputs})
    return runs


@pytest.mark.slow
def test_padded_heterodimer_is_the_unpadded_one_at_its_residues(bucketed_run):
    scores, padded = bucketed_run["heterodimer"]
    features = complex_features("heterodimer")
    num_res, num_rows = len(features["aatype"]), MSA_ROWS["heterodimer"]
    assert (scores["length"], scores["compilation"]["padded_length"]) == (num_res, BUCKET) and num_res < BUCKET
    assert scores["compilation"]["padded_msa_rows"] == DEPTH_BUCKET and num_rows < DEPTH_BUCKET
    params = flat_to_haiku(load_fixture("heterodimer")["params"])
    unpadded = MultimerPredictor(small_multimer_config(), params, length_buckets=()).predict(
        features, SEED, NUM_RECYCLE, early_stop_tolerance=0.0)
    assert (unpadded.length, unpadded.padded_length, unpadded.padded_msa_rows) == (num_res, num_res, num_rows)
    assert scores["num_recycles"] == unpadded.num_recycles == NUM_RECYCLE
    expected = unpadded.outputs
    assert set(padded) == set(expected)
    for key, value in expected.items():
        assert padded[key].shape == value.shape, key
    assert padded["structure_module/final_atom_positions"].shape == (num_res, 37, 3)
    assert padded["predicted_aligned_error"].shape == (num_res, num_res)
    assert padded["masked_msa/logits"].shape[1] == num_res

    present = expected["structure_module/final_atom_mask"] > 0
    assert np.array_equal(padded["structure_module/final_atom_mask"] > 0, present)
    atoms = padded["structure_module/final_atom_positions"][present] - \
        expected["structure_module/final_atom_positions"][present]
    assert np.max(np.abs(atoms)) < ATOM_TOLERANCE
    assert np.max(np.abs(padded["plddt"] - expected["plddt"])) < PLDDT_TOLERANCE
    assert np.max(np.abs(padded["predicted_aligned_error"] - expected["predicted_aligned_error"])) < PAE_TOLERANCE
    assert np.max(np.abs(padded["interface_pae"] - expected["interface_pae"])) < PAE_TOLERANCE
    for key in ("ptm", "iptm", "ranking_confidence", "chain_pair_iptm"):
        assert np.max(np.abs(padded[key] - expected[key])) < TM_TOLERANCE, key
    assert scores["iptm"] == pytest.approx(float(expected["iptm"]), abs=TM_TOLERANCE)


@pytest.mark.slow
def test_complexes_of_one_bucket_share_one_compiled_iteration(bucketed_run):
    """The homodimer (20 residues, 30 MSA rows) runs on the iteration compiled for the heterodimer (21 residues,
    45 rows): both at 32 residues and 512 rows."""
    first, _ = bucketed_run["heterodimer"]
    second, outputs = bucketed_run["homodimer"]
    assert first["compilation"]["reused_in_process"] is False and first["compilation"]["xla_compilations"] >= 1
    assert second["compilation"]["reused_in_process"] is True
    assert (second["compilation"]["xla_compilations"], second["compilation"]["cache_hits"]) == (0, 0)
    assert (second["length"], second["compilation"]["padded_length"]) == (20, BUCKET)
    assert MSA_ROWS["homodimer"] != MSA_ROWS["heterodimer"]
    assert first["compilation"]["padded_msa_rows"] == second["compilation"]["padded_msa_rows"] == DEPTH_BUCKET
    assert outputs["structure_module/final_atom_positions"].shape == (20, 37, 3)
    assert outputs["chain_pair_iptm"].shape == (2, 2) and len(second["chains"]) == 2


def test_complex_buckets_default_to_the_single_chain_default():
    params = flat_to_haiku(load_fixture("heterodimer")["params"])
    assert MultimerPredictor(small_multimer_config(), params).length_buckets == FeatureConfig().residue_buckets
    assert MultimerPredictor(small_multimer_config(), params, length_buckets=[48, 96]).length_buckets == (48, 96)


def test_features_are_padded_with_zeros_and_no_chain():
    batch = model_inputs(load_fixture("heterodimer")["features"])
    num_res = len(batch["aatype"])
    assert set(MULTIMER_INPUT_FEATURES) - set(RESIDUE_AXES) == {"cluster_bias_mask"}
    assert np.min(batch["asym_id"]) >= 1 and np.min(batch["entity_id"]) >= 1 and np.min(batch["sym_id"]) >= 1
    padded = padded_residues(batch, BUCKET)
    for name, axis in RESIDUE_AXES.items():
        assert padded[name].shape[axis] == BUCKET and padded[name].dtype == batch[name].dtype, name
        real = np.take(padded[name], np.arange(num_res), axis=axis)
        padding = np.take(padded[name], np.arange(num_res, BUCKET), axis=axis)
        assert np.array_equal(real, batch[name]) and not np.any(padding), name
    assert np.array_equal(padded["cluster_bias_mask"], batch["cluster_bias_mask"])
    assert padded_residues(batch, num_res)["aatype"].shape == (num_res,)
    with pytest.raises(SnakefoldError, match="cannot pad 21 residues to 16"):
        padded_residues(batch, 16)


def test_msa_rows_are_padded_with_empty_rows():
    batch = model_inputs(complex_features("heterodimer"))
    num_rows = MSA_ROWS["heterodimer"]
    assert set(ROW_FEATURES) == {name for name, value in batch.items() if value.shape[0] == num_rows}
    padded = padded_rows(batch, DEPTH_BUCKET)
    for name, value in batch.items():
        if name not in ROW_FEATURES:
            assert padded[name] is value, name
            continue
        assert padded[name].shape == (DEPTH_BUCKET,) + value.shape[1:] and padded[name].dtype == value.dtype, name
        assert np.array_equal(padded[name][:num_rows], value) and not np.any(padded[name][num_rows:]), name
    assert padded_rows(batch, num_rows)["msa"].shape == (num_rows, len(batch["aatype"]))
    with pytest.raises(SnakefoldError, match="cannot pad 45 MSA rows to 40"):
        padded_rows(batch, 40)


def test_masked_msa_logits_keep_the_rows_of_the_unpadded_msa():
    """An MSA of fewer rows than the cluster rows gives, padded, logits for every cluster row: cut back to its
    own rows (deeper MSAs keep all cluster rows)."""
    logits = np.random.default_rng(4).normal(size=(24, BUCKET, 22)).astype(np.float32)
    result = {"masked_msa": {"logits": logits}, "iptm": 0.5, "chain_pair_iptm": np.eye(2), "interface_pae": np.eye(2),
              "num_recycles": 1}
    np.testing.assert_array_equal(multimer_outputs(result, 21, 20)["masked_msa/logits"], logits[:20, :21])
    np.testing.assert_array_equal(multimer_outputs(result, 21, 45)["masked_msa/logits"], logits[:, :21])


def test_depth_buckets():
    assert [depth_bucket(rows) for rows in (1, 45, 512, 513, 2556, 4097)] == [512, 512, 512, 1024, 3072, 5120]
    largest = max(MSA_DEPTH_BUCKETS)
    assert depth_bucket(largest) == largest and depth_bucket(largest + 1) == largest + 2048
    assert depth_bucket(3 * largest - 5) == 3 * largest


def test_sample_order_of_real_rows_ignores_padding_rows():
    """sample_order with 24 keys on 2,000 rows (some of them empty) and on the same rows with 48 empty rows
    appended: the rows with a residue come first, in the same order, also where two of them draw equal noise
    (XLA's unstable sort on the CPU reorders those for 3 of these keys)."""
    rng = np.random.default_rng(3)
    num_rows, num_padded = 2000, 2048
    msa_mask = np.ones((num_rows, 6), np.float32)
    msa_mask[rng.random(num_rows) < 0.05] = 0.0
    bias = np.eye(1, num_rows, dtype=np.float32)[0]
    padded_mask = np.pad(msa_mask, [(0, num_padded - num_rows), (0, 0)])
    padded_bias = np.pad(bias, (0, num_padded - num_rows))
    real = np.flatnonzero(msa_mask.any(axis=1))
    noise = jax.jit(sampling.gumbel_noise, static_argnums=1)
    sample_order = jax.jit(sampling.sample_order)
    keys_with_equal_draws = 0
    for key in map(jax.random.PRNGKey, range(24)):
        keys_with_equal_draws += len(np.unique(np.asarray(noise(key, (num_rows,)))[real])) < len(real)
        plain = np.asarray(sample_order(key, msa_mask, bias))
        padded = np.asarray(sample_order(key, padded_mask, padded_bias))
        np.testing.assert_array_equal(padded[:len(real)], plain[:len(real)])
        assert plain[0] == 0 and set(plain[:len(real)]) == set(real)
        assert not np.any(padded_mask[padded[len(real):]])
    assert keys_with_equal_draws >= 2  # 5 of these keys: equal draws are common at this depth


def test_random_draws_at_real_residues_ignore_padding():
    """mask_msa and sample_order with one key on an MSA and on the same MSA with 7 padding residues."""
    rng = np.random.default_rng(0)
    num_seq, num_res, num_padded = 10, 25, 32
    msa = rng.integers(0, 21, size=(num_seq, num_res)).astype(np.int32)
    msa_mask = (rng.random((num_seq, num_res)) < 0.9).astype(np.float32)
    msa_mask[0] = 1.0
    widths = [(0, 0), (0, num_padded - num_res)]
    padded_msa, padded_mask = np.pad(msa, widths), np.pad(msa_mask, widths)
    config = MaskedMsaConfig()

    @jax.jit
    def masked(key, msa, msa_mask):
        sampled = {"msa": msa, "msa_mask": msa_mask, "bert_mask": jax.numpy.ones_like(msa_mask)}
        return sampling.mask_msa(key, sampled, sampling.msa_profile(msa, msa_mask), config)

    key = jax.random.PRNGKey(7)
    plain, padded = masked(key, msa, msa_mask), masked(key, padded_msa, padded_mask)
    for name in ("msa", "true_msa", "bert_mask"):
        np.testing.assert_array_equal(np.asarray(padded[name])[:, :num_res], np.asarray(plain[name]), err_msg=name)
    assert not np.any(np.asarray(padded["bert_mask"])[:, num_res:])
    chosen = np.asarray(plain["bert_mask"]) > 0
    assert 0 < np.sum(chosen) < np.sum(msa_mask)  # some positions drawn for corruption, not all
    other = masked(jax.random.PRNGKey(8), msa, msa_mask)
    assert not np.array_equal(np.asarray(other["bert_mask"]), np.asarray(plain["bert_mask"]))

    bias = np.eye(1, num_seq, dtype=np.float32)[0]
    sample_order = jax.jit(sampling.sample_order)
    np.testing.assert_array_equal(sample_order(key, padded_mask, bias), sample_order(key, msa_mask, bias))
    grid_uniform = jax.jit(sampling.grid_uniform, static_argnums=1)
    np.testing.assert_array_equal(grid_uniform(key, (num_seq, num_padded, 3))[:, :num_res],
                                  grid_uniform(key, (num_seq, num_res, 3)))


def test_confidences_weigh_padding_zero():
    """Confidences of random head logits, then of the same logits padded with other random logits, no chain and
    a zero mask: the same numbers."""
    rng = np.random.default_rng(1)
    num_res, num_padded = 14, 20
    asym_id = np.repeat([1.0, 2.0, 3.0], [6, 5, 3]).astype(np.float32)
    breaks = np.linspace(0.0, 31.0, 63, dtype=np.float32)

    def confidences(pae_logits, lddt_logits, asym_id, seq_mask):
        result = {"predicted_lddt": {"logits": lddt_logits},
                  "predicted_aligned_error": {"logits": pae_logits, "breaks": breaks}}
        return multimer_confidences(result, {"asym_id": asym_id, "seq_mask": seq_mask})

    pae_logits = rng.normal(scale=3.0, size=(num_padded, num_padded, 64)).astype(np.float32)
    lddt_logits = rng.normal(size=(num_padded, 50)).astype(np.float32)
    plain = confidences(pae_logits[:num_res, :num_res], lddt_logits[:num_res], asym_id, np.ones(num_res, np.float32))
    padded = confidences(pae_logits, lddt_logits, np.pad(asym_id, (0, num_padded - num_res)),
                         np.pad(np.ones(num_res, np.float32), (0, num_padded - num_res)))
    for key in ("ptm", "iptm", "ranking_confidence", "chain_pair_iptm", "interface_pae"):
        assert np.shape(padded[key]) == np.shape(plain[key]), key
        np.testing.assert_allclose(padded[key], plain[key], rtol=1e-6, atol=1e-7, err_msg=key)
    assert plain["chain_pair_iptm"].shape == (3, 3)
    np.testing.assert_allclose(padded["plddt"][:num_res], plain["plddt"], rtol=1e-6)
    np.testing.assert_allclose(padded["predicted_aligned_error"][:num_res, :num_res],
                               plain["predicted_aligned_error"], rtol=1e-6)


def test_early_stopping_change_ignores_padding():
    rng = np.random.default_rng(2)
    num_res, num_padded = 9, 16
    before = rng.normal(scale=10.0, size=(num_res, 37, 3)).astype(np.float32)
    after = before + rng.normal(scale=1.0, size=before.shape).astype(np.float32)
    widths = [(0, num_padded - num_res), (0, 0), (0, 0)]
    padded_before = np.pad(before, widths)
    padded_after = np.pad(after, widths)
    padded_after[num_res:] = rng.normal(scale=100.0, size=padded_after[num_res:].shape)  # padding moves far
    mask = np.pad(np.ones(num_res, np.float32), (0, num_padded - num_res))
    unpadded = float(ca_distance_change(before, after, np.ones(num_res, np.float32)))
    assert unpadded > 0.1
    assert float(ca_distance_change(padded_before, padded_after, mask)) == pytest.approx(unpadded, rel=1e-5)
