#!/usr/bin/env bash
# Installs everything fairtune needs on Debian 12 and builds the release binary. Idempotent:
# installs only missing Debian packages, rebuilds the Python environment only when
# data-prep/requirements.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  pkg-config
  libhdf5-dev hdf5-tools          # shards: the HDF5 C library and h5dump
  libopenmpi-dev openmpi-bin      # data-parallel training: Open MPI and mpirun
  libmpich-dev mpich              # the MPICH build test; Open MPI stays the default mpirun/mpicc
                                  # (Debian's alternatives rank it 50, MPICH 40)
  libopenblas-dev                 # GEMM
  shellcheck                      # the tests check the shell scripts (slurm/, Tests/, scripts/)
  libdnnl-dev                     # GEMM: oneDNN matmul, f32 and bf16 operands
)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python environment for data-prep and the Python tests.
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
want=$({ cat data-prep/requirements.txt; cat data-prep/pyproject.toml 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.installed 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages from data-prep/requirements.txt"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r data-prep/requirements.txt
  if [ -f data-prep/pyproject.toml ]; then
    # setuptools warns at length about editable installs; show its output only if it fails.
    .venv/bin/python -m pip install -q --no-deps -e data-prep >.venv/install-data-prep.log 2>&1 \
      || { cat .venv/install-data-prep.log; exit 1; }
  fi
  echo "$want" > .venv/.installed
fi

echo "setup: building the release binary"
swift build -c release 2>&1 | tail -n 1
echo "setup: done; the binary is .build/release/fairtune"
