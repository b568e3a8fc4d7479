"""Parity of the structure module, heads and confidence metrics with the reference AlphaFold2.

The stored fixture (fixtures/structure_small.npz, made by fixtures/make_fixture.py with
``alphafold-colabfold==2.3.27``) holds a miniature structure module (3 layers, 32 channels) and all five
heads with random parameters in the official key format, random representations and a processed batch
with an unknown residue and a masked (padding) residue. Full-size parity is measured with the same
code outside the suite (see parity.py).
"""

from __future__ import annotations

import csv

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snakefold.common.residue_geometry import atom14_atom37_maps
from snakefold.model.heads import (
    DistogramHead,
    ExperimentallyResolvedHead,
    MaskedMsaHead,
    PredictedAlignedErrorHead,
    PredictedLDDTHead,
)
from snakefold.model.hyperparameters import GlobalConfig
from snakefold.model.structure_module import StructureModule, StructureModuleConfig

from .parity import SMALL_FIXTURE, differences, haiku_params, load_fixture, run_snakefold, structure_module_config

#: Limits for the small fixture (float32 rounding is about 1e-5 here; a wrong formula is off by far more).
TOLERANCES = {
    "final_atom_positions_A": 1e-3,
    "final_atom14_positions_A": 1e-3,
    "trajectory_atom14_positions_A": 1e-3,
    "traj": 1e-3,
    "angles_sin_cos": 1e-4,
    "unnormalized_angles_relative": 1e-5,
    "structure_module_representation_relative": 1e-5,
    "final_atom_mask": 0.0,
    "predicted_lddt_logits_relative": 1e-5,
    "distogram_logits_relative": 1e-5,
    "distogram_bin_edges": 1e-6,
    "masked_msa_logits_relative": 1e-5,
    "experimentally_resolved_logits_relative": 1e-5,
    "plddt": 1e-3,
    "mean_plddt": 1e-3,
    "predicted_aligned_error_logits_relative": 1e-5,
    "predicted_aligned_error_breaks": 1e-6,
    "pae": 1e-3,
    "max_pae": 1e-6,
    "ptm": 1e-5,
}


@pytest.fixture(scope="module")
def fixture_and_result():
    fixture = load_fixture(SMALL_FIXTURE)
    return fixture, run_snakefold(fixture)


def test_small_fixture_matches_reference(fixture_and_result):
    fixture, ours = fixture_and_result
    measured = differences(fixture, ours)
    for name, limit in TOLERANCES.items():
        assert measured[name] <= limit, f"{name}: {measured[name]:.3g} > {limit}"
    torsion_errors = {name: value for name, value in measured.items() if name.startswith("torsions/")}
    assert torsion_errors and max(torsion_errors.values()) <= 1e-4, torsion_errors


def test_fixture_exercises_masking_and_unknown_residues(fixture_and_result):
    fixture, ours = fixture_and_result
    batch = fixture["batch"]
    assert 20 in batch["aatype"] and batch["seq_mask"].min() == 0.0
    # The reference's processed atom maps are the ones residue_geometry provides to feature processing.
    for name, table in atom14_atom37_maps(batch["aatype"]).items():
        np.testing.assert_array_equal(table, batch[name], err_msg=name)
    unknown = batch["aatype"] == 20
    assert not np.any(ours["structure_module/final_atom_positions"][unknown])


def _published_shapes(shared_reference, preset: str) -> dict[str, tuple[int, ...]]:
    path = shared_reference / "af2_param_shapes" / f"{preset}.tsv"
    shapes = {}
    with open(path, newline="") as handle:
        for key, shape in csv.reader(handle, delimiter="\t"):
            if "/structure_module/" in key or "_head/" in key:
                shapes[key] = tuple(int(size) for size in shape.split(","))
    return shapes


@pytest.mark.parametrize("preset", ["model_1_ptm", "model_3"])
def test_full_size_parameter_names_and_shapes_are_the_published_ones(shared_reference, preset):
    num_res = 5
    aatype = np.arange(num_res, dtype=np.int32)
    batch = {"aatype": aatype, "seq_mask": np.ones(num_res, np.float32), **atom14_atom37_maps(aatype)}
    representations = {"single": jnp.zeros((num_res, 384)), "pair": jnp.zeros((num_res, num_res, 128)),
                       "msa": jnp.zeros((3, num_res, 256))}

    def forward(representations, batch):
        with hk.name_scope("alphafold/alphafold_iteration"):
            for head in (DistogramHead(), ExperimentallyResolvedHead(), MaskedMsaHead()):
                head(representations, batch)
            structure = StructureModule(StructureModuleConfig())(representations, batch)
            representations = {**representations, **structure["representations"]}
            PredictedLDDTHead()(representations, batch)
            if preset.endswith("_ptm"):
                PredictedAlignedErrorHead()(representations, batch)

    params = jax.eval_shape(hk.transform(forward).init, jax.random.PRNGKey(0), representations, batch)
    ours = {f"{scope}//{name}": tuple(value.shape) for scope, values in params.items()
            for name, value in values.items()}
    assert ours == _published_shapes(shared_reference, preset)


def test_dropout_changes_the_structure_in_training_only(fixture_and_result):
    fixture, _ = fixture_and_result
    config = structure_module_config(fixture["config"])
    representations = {key: jnp.asarray(fixture["input"][key]) for key in ("single", "pair")}
    batch = {key: jnp.asarray(value) for key, value in fixture["batch"].items()}

    def forward():
        with hk.name_scope("alphafold/alphafold_iteration"):
            return StructureModule(config, GlobalConfig(zero_init=False))(representations, batch, is_training=True)

    params = haiku_params({key: value for key, value in fixture["params"].items() if "/structure_module/" in key})
    training = jax.jit(hk.transform(forward).apply)(params, jax.random.PRNGKey(1))["final_atom_positions"]
    # At inference the module reproduces the reference (test above); with dropout it does not.
    inference = fixture["output"]["structure_module/final_atom_positions"]
    assert np.abs(np.asarray(training) - inference).max() > 0.1
