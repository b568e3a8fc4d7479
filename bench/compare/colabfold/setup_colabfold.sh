#!/usr/bin/env bash
# ColabFold (colabfold_batch) in its own virtual environment, for bench/compare/colabfold only.
#
#     bench/compare/colabfold/setup_colabfold.sh [VENV_DIR]
#
# VENV_DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/snakefold/bench-compare/colabfold-venv. ColabFold 1.6.3 from
# PyPI with the AlphaFold2 package it pins (alphafold-colabfold 2.3.20) on the same JAX release as snakefold (0.10.2);
# never a dependency of snakefold and never installed into snakefold's environment. On a machine with an
# NVIDIA GPU (nvidia-smi present) JAX's CUDA 12 build is installed instead of the CPU one. Prints the
# colabfold_batch to pass as `bench_colabfold.py --colabfold-batch`.
set -euo pipefail

venv="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/snakefold/bench-compare/colabfold-venv}"
python="${PYTHON:-python3}"

jax_requirement="jax==0.10.2"
if command -v nvidia-smi >/dev/null 2>&1; then
    jax_requirement="jax[cuda12]==0.10.2"
fi

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "colabfold[alphafold]==1.6.3" \
    "$jax_requirement" "jaxlib==0.10.2" "dm-haiku==0.0.17"
"$venv/bin/python" -c "import colabfold.batch, jax; print('colabfold ready: jax', jax.__version__, jax.default_backend())" >&2
echo "$venv/bin/colabfold_batch"
