"""Config validation: defaults from the schema reach into every section file; problems name their key."""

from __future__ import annotations

import pytest
import yaml

from snakefold.common.errors import SnakefoldError
from snakefold.model.param_sets import MONOMER_PRESETS, MULTIMER_PRESETS
from snakefold.plan.config import SCHEMA_DIR, config_problems, schema_defaults, validate_config


def test_defaults_fill_nested_sections_and_keep_user_values():
    config = validate_config({"inputs": ["a.fasta"], "relax": {"mode": "all"}})
    assert config["relax"]["mode"] == "all"
    assert config["relax"]["stiffness"] == 10.0  # from relax.schema.yaml, behind a $ref
    assert config["msa"]["jackhmmer"]["flags"]["incE"] == 0.0001  # two levels down
    assert config["results_dir"] == "results"


def test_defaults_are_not_shared_between_configs():
    first = validate_config({"inputs": ["a.fasta"]})
    first["msa"]["jackhmmer"]["flags"]["E"] = 1.0
    assert validate_config({"inputs": ["a.fasta"]})["msa"]["jackhmmer"]["flags"]["E"] == 0.0001


def test_nested_unknown_key_and_type_are_named():
    problems = config_problems({"inputs": ["a.fasta"], "relax": {"stifness": 5, "max_attempts": "three"}})
    assert "config key 'relax.stifness' is not a known setting (did you mean 'relax.stiffness'?)" in problems
    assert any(p.startswith("config key 'relax.max_attempts' must be of type integer") for p in problems)
    with pytest.raises(SnakefoldError, match="2 problem"):
        validate_config({"inputs": ["a.fasta"], "relax": {"stifness": 5, "max_attempts": "three"}})


def test_schema_defaults_of_a_section():
    assert schema_defaults("relax")["mode"] == "best"
    assert "inputs" not in schema_defaults()


def test_min_length_above_max_length_is_a_contradiction():
    with pytest.raises(SnakefoldError, match="'min_length' \\(50\\) and 'max_length' \\(40\\) contradict"):
        validate_config({"inputs": ["a.fasta"], "min_length": 50, "max_length": 40})


def test_the_schema_names_exactly_the_presets_the_model_registry_knows():
    """The presets a config may name (model.schema.yaml's enums) are those snakefold.model.param_sets loads."""
    schema = yaml.safe_load((SCHEMA_DIR / "model.schema.yaml").read_text(encoding="utf-8"))["properties"]
    assert tuple(schema["presets"]["items"]["enum"]) == MONOMER_PRESETS
    assert tuple(schema["multimer_presets"]["items"]["enum"]) == MULTIMER_PRESETS
