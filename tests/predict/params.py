"""Random parameters of the small architecture for tests, in the official format, written in no time.

They are the parity fixtures' parameters (tests/model/fixtures/model_small_<preset>.npz: the reference
implementation's random initialisation of :func:`snakefold.model.presets.small_config`, perturbed so that
every parameter matters), saved as ``params_<preset>.npz`` with a record saying what they are, exactly as
``snakefold make-params --architecture small`` would describe its own (which takes half a minute per preset).
"""

from __future__ import annotations

from pathlib import Path

from snakefold.model.param_sets import params_path, write_random_params_record
from snakefold.model.params import flat_to_haiku, save_params
from tests.model.test_parity_fixture import load_fixture
from tests.multimer.test_parity_fixture import load_fixture as load_multimer_fixture

#: Presets with a parity fixture: one with templates and the PAE head, one with neither.
FIXTURE_PRESETS = ("model_1_ptm", "model_3")
#: The multimer preset whose miniature has parity fixtures (tests/multimer/fixtures).
MULTIMER_FIXTURE_PRESET = "model_1_multimer_v3"
FIXTURE_SEED = 0  # make_fixture.py's default --seed


def write_small_params(directory: Path, presets=FIXTURE_PRESETS) -> Path:
    """``directory`` holding params_<preset>.npz and its record for each of ``presets``."""
    for preset in presets:
        path = params_path(directory, preset)
        save_params(path, flat_to_haiku(load_fixture(preset)["params"]))
        write_random_params_record(path, {
            "made_by": "tests/model/fixtures/make_fixture.py (the reference implementation's initialisation)",
            "preset": preset, "architecture": "small", "seed": FIXTURE_SEED, "zero_init": False, "untrained": True})
    return directory


def write_small_multimer_params(directory: Path) -> Path:
    """``directory`` holding params_model_1_multimer_v3.npz of the multimer miniature (the parameters of the
    multimer parity fixtures: the official implementation's random initialisation) and its record."""
    path = params_path(directory, MULTIMER_FIXTURE_PRESET)
    save_params(path, flat_to_haiku(load_multimer_fixture("heterodimer")["params"]))
    write_random_params_record(path, {
        "made_by": "tests/multimer/fixtures/make_fixture.py (the reference implementation's initialisation)",
        "preset": MULTIMER_FIXTURE_PRESET, "architecture": "small", "seed": FIXTURE_SEED, "zero_init": False,
        "untrained": True})
    return directory
