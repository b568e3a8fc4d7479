#!/usr/bin/env bash
# The wheels the GPU machine lacks, for its Python 3.12 (x86-64), into .whl/ (git-ignored locally):
# snakefold's model needs dm-haiku (and jmp); the reference needs alphafold-colabfold 2.3.27 and what its
# modules import that the machine's image does not hold. JAX itself is the machine's own.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any -d .whl \
    dm-haiku==0.0.17 jmp==0.0.4 alphafold-colabfold==2.3.27 colabfold-kernels==0.9.0 ml-collections==1.1.0 \
    dm-tree==0.1.10 immutabledict biopython==1.88
ls .whl
