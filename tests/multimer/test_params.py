"""Every AlphaFold-Multimer v3 preset has exactly the published parameter names and shapes.

The published names and shapes of ``params_model_1_multimer_v3.npz`` are in
../shared/reference/af2_param_shapes/model_1_multimer_v3.tsv; the five v3 presets differ only in the extra-MSA
depth, which shapes no parameter, so each must match the same list. The module trees are traced with
``jax.eval_shape`` (nothing is computed or compiled).
"""

from __future__ import annotations

import numpy as np
import pytest

from snakefold.common.errors import SnakefoldError
from snakefold.model.multimer.model import multimer_param_shapes
from snakefold.model.multimer.presets import multimer_config
from snakefold.model.param_sets import MULTIMER_PRESETS, multimer_prediction_seeds
from snakefold.model.params import check_params, flat_to_haiku


def published_shapes(shared_reference) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for line in (shared_reference / "af2_param_shapes" / "model_1_multimer_v3.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.split("\t")
        shapes[key] = tuple(int(size) for size in shape.split(",")) if shape else ()
    return shapes


@pytest.mark.parametrize("preset", MULTIMER_PRESETS)
def test_preset_has_the_published_names_and_shapes(preset, shared_reference):
    expected = published_shapes(shared_reference)
    assert len(expected) == 330
    shapes = multimer_param_shapes(multimer_config(preset))
    assert sorted(set(expected) - set(shapes)) == []
    assert sorted(set(shapes) - set(expected)) == []
    assert {key: shapes[key] for key in expected if shapes[key] != expected[key]} == {}


def test_v3_preset_values():
    assert [multimer_config(preset).num_extra_msa for preset in MULTIMER_PRESETS] == [2048, 2048, 2048, 1152, 1152]
    config = multimer_config("model_1_multimer_v3")
    assert (config.num_msa, config.num_recycle, config.recycle_early_stop_tolerance) == (508, 20, 0.5)
    assert config.structure_module.position_scale == 20.0
    assert config.heads.masked_msa.num_output == 22
    assert config.embeddings_and_evoformer.evoformer.outer_product_mean.first
    with pytest.raises(SnakefoldError, match="unknown multimer preset"):
        multimer_config("model_1_multimer_v2")


def test_parameters_of_another_layout_are_named(shared_reference):
    config = multimer_config("model_1_multimer_v3")
    shapes = multimer_param_shapes(config)
    params = {key: np.zeros(shape, np.float32) for key, shape in published_shapes(shared_reference).items()}
    check_params(flat_to_haiku(params), config, "published layout", expected=shapes)
    projection = "alphafold/alphafold_iteration/evoformer/evoformer_iteration/triangle_multiplication_outgoing/" \
                 "projection//weights"
    params[projection.replace("/projection//", "/left_projection//")] = params.pop(projection)
    with pytest.raises(SnakefoldError, match="left_projection"):
        check_params(flat_to_haiku(params), config, "monomer-style file", expected=shapes)


def test_prediction_seeds_follow_run_alphafold():
    seeds = multimer_prediction_seeds(random_seed=3)
    assert len(seeds) == 25
    assert seeds["model_1_multimer_v3_pred_0"] == 75
    assert seeds["model_1_multimer_v3_pred_4"] == 79
    assert seeds["model_2_multimer_v3_pred_0"] == 80
    assert seeds["model_5_multimer_v3_pred_4"] == 99
    assert multimer_prediction_seeds(0, num_predictions_per_model=1)["model_3_multimer_v3_pred_0"] == 2
