#!/usr/bin/env bash
# The GPU bench on the GPU machine, from the repository root:
#
#     bench/gpu/run_on_device.sh OUT_DIR [gpu_bench.py run options]
#
# That machine has no network and its own Python with JAX for CUDA; what it lacks (dm-haiku, jmp, and the
# reference implementation: alphafold-colabfold 2.3.27 with its dependencies) travels as wheels in .whl/,
# made here beforehand by bench/gpu/download_wheels.sh. They go to /tmp/site, never into that Python.
set -euo pipefail
out="$1"
shift
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# Several processes share the card (the reference's, then this one): none takes 75 % of it up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_MEM_FRACTION=0.95 TF_CPP_MIN_LOG_LEVEL=2
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/nvidia-smi.csv" || true
python3 -c "import haiku, alphafold.model.model, snakefold.model.model"  # fail at once where an import does
python3 bench/gpu/gpu_bench.py run --out "$out" "$@" 2>&1 | tee "$out/run.log"
