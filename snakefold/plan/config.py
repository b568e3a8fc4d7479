"""Validate the Snakemake config against its schemas (``snakefold/plan/schemas/``, package data; the workflow
sees them as ``workflow/schemas/``) and explain every problem by config key.

:func:`validate_config` checks the whole config against the JSON schema and collects *every* violation,
each phrased for a person (the dotted config key, what is wrong, for a misspelled key the closest known
key); then :func:`snakemake.utils.validate` validates it and fills the top-level defaults. The schema is
the single source of truth for defaults, but each section lives in its own file behind a ``$ref``, and
``snakemake.utils.validate`` cannot fill defaults there (jsonschema swaps in its stock validator where a
referenced file declares ``$schema``), so a second, default-filling pass over the same schema fills the
sections.
"""

from __future__ import annotations

import copy
import difflib
import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import jsonschema
import yaml
from jsonschema import validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from snakefold.common.errors import SnakefoldError

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
CONFIG_SCHEMA = SCHEMA_DIR / "config.schema.yaml"


#: libyaml's parser where PyYAML was built with it (ten times faster than the pure-Python one)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=None)
def _parsed_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)


def _load_yaml(path: Path) -> Any:
    """The document of a schema file, parsed once per process (a copy: callers may change it)."""
    return copy.deepcopy(_parsed_yaml(Path(path).resolve()))


def _with_defaults(validator_class):
    """A validator class that also sets every missing property that has a ``default``."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _with_defaults(jsonschema.Draft202012Validator)


@functools.lru_cache(maxsize=None)
def _validator(schema_path: Path, fill_defaults: bool = False) -> jsonschema.Draft202012Validator:
    schema = _load_yaml(schema_path)
    schema["$id"] = schema_path.resolve().as_uri()

    def retrieve(uri: str) -> Resource:
        section = _load_yaml(Path(url2pathname(urlparse(uri).path)))
        section.pop("$schema", None)  # keep this validator class inside the section (see module docstring)
        return Resource.from_contents(section, default_specification=DRAFT202012)

    cls = _DefaultFillingValidator if fill_defaults else jsonschema.Draft202012Validator
    return cls(schema, registry=Registry(retrieve=retrieve))


def _key(path) -> str:
    parts = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(top level)"


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a mapping", type(None): "empty (null)"}
    return names.get(type(value), type(value).__name__)


def _explain(error: jsonschema.ValidationError) -> list[str]:
    key = _key(error.absolute_path)
    prefix = "" if key == "(top level)" else f"{key}."
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = [name for name in error.instance if name not in error.schema.get("properties", {})]
        messages = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
            messages.append(f"config key '{prefix}{name}' is not a known setting{hint}")
        return messages
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return [f"config key '{prefix}{missing}' is required but missing"]
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(
            error.validator_value)
        return [f"config key '{key}' must be of type {expected}, but it is {_type_name(error.instance)} "
                f"({error.instance!r})"]
    if error.validator == "enum":
        choices = ", ".join(repr(choice) for choice in error.validator_value)
        return [f"config key '{key}' must be one of {choices}, not {error.instance!r}"]
    return [f"config key '{key}': {error.message}"]


def config_problems(config: dict, schema_path: Path = CONFIG_SCHEMA) -> list[str]:
    """Every schema violation of ``config``, one readable message each (an empty list when valid)."""
    errors = sorted(_validator(schema_path).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    return [message for error in errors for message in _explain(error)]


def contradictions(config: dict) -> list[str]:
    """Keys that are each valid but contradict each other (checked once the schema's defaults are filled)."""
    problems = []
    if config["min_length"] > config["max_length"]:
        problems.append(f"config keys 'min_length' ({config['min_length']}) and 'max_length' ({config['max_length']}) "
                        "contradict each other: no sequence can be at least the one and at most the other")
    pulldown, sheets = config["pulldown"], config["complexes"]["sheets"]
    if not (config["inputs"] or sheets or pulldown["baits"] or pulldown["preys"]):
        problems.append("config key 'inputs' is required but missing (or empty): list FASTA files, directories or "
                        "glob patterns, or give a pulldown screen ('pulldown.baits') or complex sheets "
                        "('complexes.sheets')")
    if not pulldown["all_vs_all"]:
        for given, other in (("baits", "preys"), ("preys", "baits")):
            if pulldown[given] and not pulldown[other]:
                problems.append(f"config key 'pulldown.{given}' is given but 'pulldown.{other}' is not: a screen folds "
                                f"every bait with every prey; give {other} too, or set 'pulldown.all_vs_all: true' "
                                f"to fold every pair of the records given")
    if (pulldown["all_vs_all"] or pulldown["homodimers"]) and not (pulldown["baits"] or pulldown["preys"]):
        option = "all_vs_all" if pulldown["all_vs_all"] else "homodimers"
        problems.append(f"config key 'pulldown.{option}' is set, but 'pulldown.baits' and 'pulldown.preys' name no "
                        "file: give the records to fold")
    return problems


def validate_config(config: dict, schema_path: Path = CONFIG_SCHEMA, *, with_snakemake: bool = True) -> dict:
    """Check ``config`` and fill in the schema's defaults in place; raise with every problem listed.

    ``with_snakemake`` also runs Snakemake's own ``validate`` on it (as the workflow's main process does); a
    job's process, which gets the config the main process checked, skips that second reading of the schemas.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    problems = config_problems(config, schema_path)
    if not problems:
        try:
            if with_snakemake:
                validate(config, str(schema_path), set_default=True)
            _validator(schema_path, fill_defaults=True).validate(config)
        except (WorkflowError, jsonschema.ValidationError) as error:
            problems = [str(error)]
    if not problems and schema_path == CONFIG_SCHEMA:
        problems = contradictions(config)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise SnakefoldError(f"the configuration has {len(problems)} problem(s):\n{listing}")
    return config


def schema_defaults(section: str | None = None, schema_path: Path = CONFIG_SCHEMA) -> dict:
    """The defaults the schema gives a config that sets nothing (of one section, when named)."""
    config = validate_config({"inputs": ["-"]}, schema_path)
    del config["inputs"]
    return config if section is None else config[section]
