#!/usr/bin/env bash
# fairtune builds against an MPICH-family MPI (FAIRTUNE_MPI_PC=mpich, Debian's libmpich-dev; and
# FAIRTUNE_HDF5_PC=hdf5, the HDF5 name of most clusters, which Debian also installs) and
# works under MPICH's own launcher: the Communicator checks pass with `mpiexec.mpich -n 2`,
# `fairtune env` names MPICH on both ranks, and a tiny 2-rank `fairtune train` ends with exactly
# the weights and validation metrics of the same run of the Open MPI build under `mpirun -n 2`.
# Debug builds of the two products only (half the time of release builds; the Open MPI build to
# compare with is the debug one too, so the arithmetic is the same), in their own scratch
# directory (.build-mpich), so the Open MPI build in .build is untouched. Without MPICH's
# pkg-config file it prints a skip.
# Usage: Tests/mpich/build_and_run.sh [path/to/open-mpi/debug/fairtune]   (default .build/debug/fairtune)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if ! pkg-config --exists mpich || ! command -v mpiexec.mpich >/dev/null 2>&1; then
    echo "skipped: MPICH not installed (apt-get install libmpich-dev mpich)"
    exit 0
fi
openmpi_binary=$(realpath "${1:-.build/debug/fairtune}")
python=${PYTHON:-$root/.venv/bin/python}
scratch=.build-mpich
mkdir -p "$scratch"

# A name pkg-config does not know stops the build at once, naming the variable to set.
if unknown=$(FAIRTUNE_HDF5_PC=no-such-hdf5 swift package --scratch-path "$scratch" dump-package 2>&1); then
    echo "FAIL: the manifest accepted FAIRTUNE_HDF5_PC=no-such-hdf5" >&2
    exit 1
fi
grep -q "pkg-config finds no package 'no-such-hdf5' (FAIRTUNE_HDF5_PC)" <<<"$unknown" \
    || { echo "FAIL: unexpected message for an unknown FAIRTUNE_HDF5_PC:" >&2; echo "$unknown" >&2; exit 1; }
echo "ok: an unknown pkg-config name stops the build with a message naming the variable"

for product in fairtune fairtune-mpi-check; do
    start=$(date +%s)
    FAIRTUNE_MPI_PC=mpich FAIRTUNE_HDF5_PC=hdf5 swift build --scratch-path "$scratch" --product "$product" \
        > "$scratch/$product.log" 2>&1 || { cat "$scratch/$product.log" >&2; echo "FAIL: MPICH build of $product" >&2; exit 1; }
    # Debian's mpich.pc puts -Wl,-z,relro in Libs, which SwiftPM drops with a warning of its own.
    if grep "warning:" "$scratch/$product.log" | grep -v "prohibited flag(s): -Wl,-z,relro" | grep -q .; then
        grep "warning:" "$scratch/$product.log" | sort -u >&2
        echo "FAIL: the MPICH build of $product emitted warnings" >&2
        exit 1
    fi
    echo "ok: built $product against MPICH in $(( $(date +%s) - start )) s"
done
bin=$scratch/debug
if ! ldd "$bin/fairtune" | grep -q libmpich; then
    echo "FAIL: $bin/fairtune is not linked against libmpich:" >&2
    ldd "$bin/fairtune" >&2
    exit 1
fi

mpiexec.mpich -n 2 "$bin/fairtune-mpi-check"

env_out=$(mpiexec.mpich -n 2 "$bin/fairtune" env)
if ! grep -q "^MPI library .*MPICH" <<<"$env_out" || [ "$(grep -c '^  rank [01]/2 ' <<<"$env_out")" != 2 ]; then
    echo "FAIL: fairtune env under mpiexec.mpich -n 2 does not show MPICH and two ranks:" >&2
    echo "$env_out" >&2
    exit 1
fi
echo "ok: fairtune env under mpiexec.mpich -n 2 shows MPICH and both ranks"

# The Open MPI build under MPICH's launcher: each process would be a world of one; it must say so.
if mismatch=$(mpiexec.mpich -n 2 "$openmpi_binary" env 2>&1); then
    echo "FAIL: the Open MPI build ran under mpiexec.mpich -n 2 without an error:" >&2
    echo "$mismatch" >&2
    exit 1
fi
grep -q "mpiexec started 2 tasks but MPI sees a world of 1" <<<"$mismatch" \
    || { echo "FAIL: unexpected message from the Open MPI build under mpiexec.mpich:" >&2; echo "$mismatch" >&2; exit 1; }
echo "ok: the Open MPI build under mpiexec.mpich stops with the launcher mismatch message"

work=$(mktemp -d "$root/.build/mpich-train.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$python" -m fairtune_prep synthetic --out "$work/data" --train 128 --val 64 --test 64 --quiet
args=(train --data "$work/data" --weights Tests/Fixtures/vit/tiny_weights.safetensors --attribute group
      --tuning block-parts4 --mask 00110111 --optimizer sgd --lr 0.02 --epochs 2 --batch-size 32 --seed 5 --threads 1)
mpiexec.mpich -n 2 "$bin/fairtune" "${args[@]}" --out "$work/mpich" > "$work/mpich.log"
grep -q "fairtune train .*: 2 rank(s)" "$work/mpich.log" \
    || { echo "FAIL: mpiexec.mpich did not start a 2-rank world" >&2; cat "$work/mpich.log" >&2; exit 1; }
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --oversubscribe --bind-to none -n 2 "$openmpi_binary" "${args[@]}" --out "$work/openmpi" > "$work/openmpi.log"

"$python" Tests/compare_runs.py "$work/openmpi" "$work/mpich"
echo "ok: a 2-rank train under MPICH ends with the weights and metrics of the Open MPI run"
