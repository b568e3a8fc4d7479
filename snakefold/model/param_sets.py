"""What a parameter file holds: an official (trained) AlphaFold2 set, or random parameters made here.

A parameter file ``params_<preset>.npz`` says nothing about itself, yet the predict stage must know two
things before it runs it: the architecture it was made for (the published, full-size network, or the
miniature of :func:`snakefold.model.presets.small_config`) and whether it is trained. So
``snakefold make-params`` writes a small JSON record beside each file it makes, ``params_<preset>.json``::

    {"made_by": "snakefold make-params", "preset": "model_1_ptm", "architecture": "small", "seed": 0,
     "zero_init": false, "untrained": true}

The official files have no such record: a file without one is taken as the published, trained, full-size
parameters, named after its directory (``alphafold_params_2022-12-06``). Random parameters are named
``random-<architecture>-seed<seed>``, and every output made with them says they are untrained.

This module reads and writes those records only (no JAX), so the workflow can use it when the DAG is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from snakefold.common.atomic import atomic_write_json
from snakefold.common.errors import SnakefoldError

#: The published monomer presets, one parameter file each (params_<preset>.npz).
MONOMER_PRESETS: tuple[str, ...] = tuple(f"model_{i}" for i in range(1, 6)) + tuple(
    f"model_{i}_ptm" for i in range(1, 6))
#: The published AlphaFold-Multimer v3 presets (params_<preset>.npz), AlphaFold2 v2.3's complex models.
MULTIMER_PRESETS: tuple[str, ...] = tuple(f"model_{i}_multimer_v3" for i in range(1, 6))
#: Predictions AlphaFold2's run_alphafold.py makes per multimer model by default (one seed each).
MULTIMER_PREDICTIONS_PER_MODEL = 5


def multimer_prediction_seeds(random_seed: int, num_predictions_per_model: int = MULTIMER_PREDICTIONS_PER_MODEL,
                              presets: tuple[str, ...] = MULTIMER_PRESETS) -> dict[str, int]:
    """``{'<preset>_pred_<j>': model seed}`` as AlphaFold2's run_alphafold.py numbers its multimer runs: the
    runs of all presets in order, run k (from 0) seeded ``k + random_seed * number of runs``."""
    names = [f"{preset}_pred_{index}" for preset in presets for index in range(num_predictions_per_model)]
    return {name: index + random_seed * len(names) for index, name in enumerate(names)}


#: Architectures a parameter file can be made for: the published network and the miniature for tests and demos.
ARCHITECTURES: tuple[str, ...] = ("full", "small")
MADE_BY = "snakefold make-params"
#: What every output made with untrained parameters says.
UNTRAINED_WARNING = "parameters are untrained (random); structures are meaningless"


@dataclass(frozen=True)
class ParamsInfo:
    """One preset's parameter file: where it is, which set it belongs to, its architecture, whether trained."""

    path: Path
    preset: str
    set: str
    architecture: str
    untrained: bool
    seed: int | None = None

    def as_json(self) -> dict:
        """The ``params`` entry of a model run's scores.json."""
        return {"set": self.set, "path": str(self.path), "untrained": self.untrained,
                "architecture": self.architecture, "seed": self.seed}


def params_path(params_dir: str | Path, preset: str) -> Path:
    """The file of ``preset`` in a parameter directory: ``params_<preset>.npz``."""
    return Path(params_dir) / f"params_{preset}.npz"


def has_ptm_head(preset: str) -> bool:
    """Whether ``preset`` has the predicted-aligned-error head (pTM, PAE): the ``_ptm`` presets."""
    return preset.endswith("_ptm")


def record_path(params_file: str | Path) -> Path:
    """The JSON record beside a parameter file made by ``snakefold make-params``."""
    return Path(params_file).with_suffix(".json")


def random_params_record(preset: str, architecture: str, seed: int, zero_init: bool) -> dict:
    if architecture not in ARCHITECTURES:
        raise SnakefoldError(f"unknown architecture {architecture!r}: choose one of {', '.join(ARCHITECTURES)}")
    return {"made_by": MADE_BY, "preset": preset, "architecture": architecture, "seed": seed,
            "zero_init": zero_init, "untrained": True}


def write_random_params_record(params_file: str | Path, record: dict) -> None:
    atomic_write_json(record_path(params_file), record)


def read_record(params_file: str | Path) -> dict | None:
    """The make-params record of ``params_file``, or None when it has none (an official file)."""
    path = record_path(params_file)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SnakefoldError(f"{path}: the record of the random parameters {Path(params_file).name} cannot be "
                             f"read ({error}); delete both files and make them again with "
                             f"`snakefold make-params`") from error
    if not isinstance(record, dict):
        raise SnakefoldError(f"{path}: the record of random parameters must be a JSON object")
    return record


def params_info(params_file: str | Path, preset: str) -> ParamsInfo:
    """What ``params_file`` (the parameters of ``preset``) is, from its make-params record if it has one."""
    params_file = Path(params_file)
    record = read_record(params_file)
    if record is None:
        return ParamsInfo(params_file, preset, set=params_file.resolve().parent.name, architecture="full",
                          untrained=False)
    where = record_path(params_file)
    missing = [key for key in ("preset", "architecture", "seed", "untrained") if key not in record]
    if missing:
        raise SnakefoldError(f"{where}: the record lacks {', '.join(missing)}; make the parameters again with "
                             f"`snakefold make-params --preset {preset} --out {params_file}`")
    if record["preset"] != preset:
        raise SnakefoldError(f"{where}: these random parameters were made for preset {record['preset']!r}, not "
                             f"{preset!r}; make them with "
                             f"`snakefold make-params --preset {preset} --out {params_file}`")
    if record["architecture"] not in ARCHITECTURES:
        raise SnakefoldError(f"{where}: unknown architecture {record['architecture']!r} (known: "
                             f"{', '.join(ARCHITECTURES)})")
    seed = int(record["seed"])
    return ParamsInfo(params_file, preset, set=f"random-{record['architecture']}-seed{seed}",
                      architecture=record["architecture"], untrained=bool(record["untrained"]), seed=seed)
