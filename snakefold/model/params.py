"""Model parameters in the official AlphaFold2 file format, and freshly initialised ones.

The published files ``params_<preset>.npz`` are uncompressed npz archives with one float32 array per
parameter, keyed ``<module scope>//<parameter name>`` (for example
``alphafold/alphafold_iteration/evoformer/preprocess_1d//weights``); parameters of stacked layers carry a
leading layer dimension. Haiku keeps the same parameters as ``{scope: {name: array}}``: the two forms map
one to one, with no renaming or conversion.

:func:`load_params` reads such a file and checks it against the module tree of the configuration it will
run with, naming every missing, unexpected or misshapen array. :func:`init_params` initialises that tree
at random (the demo and test parameters); :func:`save_params` writes any tree in the official format.
"""

from __future__ import annotations

import functools
import os
import zipfile
from typing import Mapping

import haiku as hk
import jax
import numpy as np

from snakefold.common.atomic import atomic_save_npz
from snakefold.common.errors import SnakefoldError
from snakefold.model.model import example_batch, forward, initial_prev
from snakefold.model.presets import ModelConfig

SCOPE_SEPARATOR = "//"
#: Scope of the trunk's parameters (embeddings, templates, extra-MSA stack, Evoformer).
TRUNK_SCOPE = "alphafold/alphafold_iteration/evoformer/"


def flat_to_haiku(flat: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """``{'scope//name': array}`` -> ``{scope: {name: array}}``."""
    params: dict[str, dict[str, np.ndarray]] = {}
    for key, array in flat.items():
        scope, separator, name = key.rpartition(SCOPE_SEPARATOR)
        if not separator or not scope or not name:
            raise ValueError(f"parameter key {key!r} is not of the form '<module scope>//<parameter name>'")
        params.setdefault(scope, {})[name] = array
    return params


def haiku_to_flat(params: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``{scope: {name: array}}`` -> ``{'scope//name': array}`` (NumPy arrays)."""
    return {f"{scope}{SCOPE_SEPARATOR}{name}": np.asarray(array)
            for scope, arrays in params.items() for name, array in arrays.items()}


def param_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """``{'scope//name': shape}`` of the module tree of ``config``, traced without computing anything."""
    transformed = forward(config)
    batch = example_batch(config)
    prev = initial_prev(config, batch["aatype"].shape[0])
    shapes = jax.eval_shape(transformed.init, jax.random.PRNGKey(0), batch, prev)
    return {f"{scope}{SCOPE_SEPARATOR}{name}": tuple(value.shape)
            for scope, arrays in shapes.items() for name, value in arrays.items()}


@functools.lru_cache(maxsize=4)
def _compiled_init(config: ModelConfig):
    """The compiled initialisation of ``config``'s module tree, kept for further seeds.

    It runs once per seed, so it is compiled without XLA's backend optimisations, which would take most
    of its time (the hundreds of random-number generators are a large program).
    """
    batch = example_batch(config)
    prev = initial_prev(config, batch["aatype"].shape[0])
    lowered = jax.jit(forward(config).init).lower(jax.random.PRNGKey(0), batch, prev)
    compiled = lowered.compile(compiler_options={"xla_backend_optimization_level": 0})
    return compiled, batch, prev


def init_params(config: ModelConfig, seed: int) -> hk.Params:
    """Parameters of ``config`` initialised at random from ``seed`` (float32, as NumPy arrays).

    With ``GlobalConfig.zero_init`` (the default) the last layer of every residual update is zero, as in
    AlphaFold2's training; demo and test parameters use ``zero_init=False`` so that every layer matters.
    """
    compiled, batch, prev = _compiled_init(config)
    params = compiled(jax.random.PRNGKey(seed), batch, prev)
    return jax.tree_util.tree_map(np.asarray, hk.data_structures.to_mutable_dict(params))


def check_params(params: Mapping[str, Mapping[str, np.ndarray]], config: ModelConfig, source: str,
                 expected: Mapping[str, tuple[int, ...]] | None = None) -> None:
    """Raise a :class:`SnakefoldError` unless ``params`` has exactly the names and shapes ``config`` needs.

    A trunk-only configuration accepts (and ignores) the structure module's and heads' parameters.
    ``expected`` is :func:`param_shapes` of ``config`` where the caller has it already.
    """
    expected = param_shapes(config) if expected is None else expected
    found = {key: tuple(np.shape(array)) for key, array in haiku_to_flat(params).items()}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(key for key in set(found) - set(expected)
                        if not (config.trunk_only and _outside_trunk(key)))
    misshapen = sorted(key for key in set(expected) & set(found) if expected[key] != found[key])
    if not (missing or unexpected or misshapen):
        return

    def listing(keys: list[str], describe) -> str:
        shown = [describe(key) for key in keys[:5]]
        more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
        return "; ".join(shown) + more

    problems = []
    if missing:
        problems.append(f"{len(missing)} missing ({listing(missing, lambda k: f'{k} {expected[k]}')})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected ({listing(unexpected, lambda k: k)})")
    if misshapen:
        problems.append(f"{len(misshapen)} with the wrong shape "
                        f"({listing(misshapen, lambda k: f'{k} is {found[k]}, expected {expected[k]}')})")
    raise SnakefoldError(
        f"{source}: the parameters do not fit preset {config.preset}: {', '.join(problems)}. "
        f"Check that the file is params_{config.preset}.npz from the official AlphaFold2 release "
        f"(or written by `snakefold make-params --preset {config.preset}`)")


def _outside_trunk(key: str) -> bool:
    return not key.startswith(TRUNK_SCOPE)


def load_params(path: str | os.PathLike, config: ModelConfig | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Read an official-format parameter file; with ``config``, check it fits that preset's module tree.

    With a trunk-only ``config`` the parameters outside the trunk are left out of the result.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SnakefoldError(f"parameter file {path} does not exist: download it with `snakefold download` "
                             f"or make random ones with `snakefold make-params`")
    try:
        with np.load(path, allow_pickle=False) as archive:
            flat = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise SnakefoldError(f"parameter file {path} is not a readable npz archive ({error}); "
                             f"download it again") from error
    try:
        params = flat_to_haiku(flat)
    except ValueError as error:
        raise SnakefoldError(f"parameter file {path}: {error}") from error
    if config is not None:
        check_params(params, config, source=f"parameter file {path}")
        if config.trunk_only:
            params = {scope: arrays for scope, arrays in params.items() if scope.startswith(TRUNK_SCOPE)}
    return params


def save_params(path: str | os.PathLike, params: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    """Write ``params`` as an official-format (uncompressed) npz file, atomically."""
    atomic_save_npz(path, haiku_to_flat(params), compress=False)
