"""The config's ``model:`` section as the workflow reads it when the DAG is built (no JAX imported).

- **Model runs**: every preset of ``model.presets`` with every seed ``random_seed + k``
  (k < ``num_seeds``), named ``<preset>_seed<seed>``, presets in the configured order, seeds within each.
  A run's seed draws its processed features (MSA clusters, extra-MSA sample, masked-MSA corruption, fresh
  for every recycling iteration); the same seed serves every preset, as in ColabFold. (AlphaFold2's
  run_alphafold.py instead derives one seed per model from the random seed and the model's index; here the
  seed is part of the run's name, so any run can be repeated on its own.)
- **Complexes' model runs** (:func:`complex_model_runs`) follow AlphaFold2's run_alphafold.py for
  multimers: ``num_seeds`` predictions per preset of ``model.multimer_presets``, the runs of all presets
  numbered in order (k from 0) and run k seeded ``k + random_seed x number of runs``; the name keeps the
  seed, ``<preset>_seed<seed>``, so each run can be repeated on its own.
- **Problems** that stop the run before any job, each naming its config key: of the section itself
  (:func:`model_section_problems`: ``rank_by: ptm`` with a preset that has no pTM head), and of the parameter files (:func:`params_problems`: a file missing,
  truncated or not an npz archive, as :func:`snakefold.install.check.param_file_problems` finds, or a
  make-params record that does not fit its file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from snakefold.common.errors import SnakefoldError
from snakefold.install.check import param_file_problems
from snakefold.model.param_sets import has_ptm_head, multimer_prediction_seeds, params_info, params_path, record_path


@dataclass(frozen=True)
class ModelRun:
    preset: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.preset}_seed{self.seed}"


def model_runs(model: dict) -> list[ModelRun]:
    """The model runs of a validated ``model:`` section, in the order of its presets, then seeds."""
    seeds = [model["random_seed"] + index for index in range(model["num_seeds"])]
    return [ModelRun(preset, seed) for preset in model["presets"] for seed in seeds]


def complex_model_runs(model: dict) -> list[ModelRun]:
    """The model runs of every complex (module docstring), in the order of ``multimer_presets``, then seeds."""
    presets = tuple(model["multimer_presets"])
    seeds = multimer_prediction_seeds(model["random_seed"], model["num_seeds"], presets)
    return [ModelRun(name.rsplit("_pred_", 1)[0], seed) for name, seed in seeds.items()]


def model_section_problems(config: dict) -> list[str]:
    """The problems of the validated config's model section itself, one message each."""
    model = config["model"]
    problems = []
    without_ptm = [preset for preset in model["presets"] if not has_ptm_head(preset)]
    if model["rank_by"] == "ptm" and without_ptm:
        problems.append(f"config key 'model.rank_by': ranking by pTM needs a pTM head, which {', '.join(without_ptm)} "
                        f"lack(s); use the _ptm presets or rank_by: plddt")
    return problems


def params_problems(config: dict, presets: list[str]) -> list[str]:
    """The problems of the parameter files of ``presets`` (those the run predicts with), one message each."""
    model = config["model"]
    params_dir = configured_params_dir(config)
    where = "config key 'model.params_dir'" + ("" if model["params_dir"] else
                                                f" (null: the download location {params_dir})")
    problems = [f"{where}: {problem}" for problem in param_file_problems(params_dir, presets)]
    if problems:
        if any(record_path(path).is_file() for path in params_dir.glob("params_*.npz")):
            problems.append(f"{where}: {params_dir} holds random parameters: make the missing ones with `snakefold "
                            f"make-params --architecture small --preset <preset> --out {params_dir}/params_<preset>.npz`")
        return problems
    for preset in presets:
        try:
            params_info(params_path(params_dir, preset), preset)
        except SnakefoldError as error:
            problems.append(f"{where}: {error}")
    return problems


def configured_params_dir(config: dict) -> Path:
    """The parameter directory of a validated config: ``model.params_dir``, or where `snakemake download`
    installs the set, ``<download.models_dir>/<download.params_set>``, when it is null."""
    configured = config["model"]["params_dir"]
    if configured:
        return Path(configured)
    return Path(config["download"]["models_dir"]) / config["download"]["params_set"]
