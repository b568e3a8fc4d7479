#!/usr/bin/env bash
# Set up the reference implementation of AlphaFold2 in its own virtual environment, for bench/compare only.
#
#     bench/compare/setup_reference.sh [VENV_DIR]
#
# VENV_DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/snakefold/bench-compare/reference-venv. The reference is
# the PyPI package alphafold-colabfold 2.3.27 on the same JAX release as snakefold (0.10.2); it is never a
# dependency of snakefold and never installed into snakefold's environment. colabfold-kernels is an
# undeclared dependency of that release (its fused kernels stay off on CPU). On a machine with an NVIDIA
# GPU (nvidia-smi present) JAX's CUDA 12 build is installed instead of the CPU one. Prints the interpreter
# to pass as `compare.py --reference-python`.
set -euo pipefail

venv="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/snakefold/bench-compare/reference-venv}"
python="${PYTHON:-python3}"

jax_requirement="jax==0.10.2"
if command -v nvidia-smi >/dev/null 2>&1; then
    jax_requirement="jax[cuda12]==0.10.2"
fi

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "alphafold-colabfold==2.3.27" colabfold-kernels "$jax_requirement" \
    "jaxlib==0.10.2" "dm-haiku==0.0.17" ml-collections dm-tree
"$venv/bin/python" -c "import alphafold.model.model, jax; print('reference ready: jax', jax.__version__, jax.default_backend())" >&2
echo "$venv/bin/python"
