#!/usr/bin/env bash
# The MPICH build (Tests/mpich/build_and_run.sh makes it in .build-mpich) under Slurm: Debian's
# MPICH speaks PMI-2, so `srun --mpi=pmi2 -n 2` must give a 2-rank world that passes the MPI checks.
# Skips without a running Slurm or without the MPICH build.
# Usage: Tests/slurm/mpich_srun_pmi2.sh [path/to/mpich/fairtune-mpi-check]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/slurm/support/slurm-test-lib
source "$root/Tests/slurm/support/slurm-test-lib"
need_slurm
check=${1:-$root/.build-mpich/debug/fairtune-mpi-check}
if [ ! -x "$check" ]; then
    echo "skipped: no MPICH build ($check)"
    exit 77
fi
check=$(realpath "$check")
mkdir -p "$root/.build"
log=$(mktemp "$root/.build/mpich-srun.XXXXXX")
trap 'rm -f "$log"' EXIT
if ! sbatch --wait --job-name=fairtune-mpich-test --nodes=1 --ntasks=2 --time=5 --output="$log" \
        --wrap "srun --mpi=pmi2 -n 2 $(printf '%q' "$check")" > /dev/null; then
    echo "FAIL: srun --mpi=pmi2 of the MPICH build failed:" >&2
    cat "$log" >&2
    exit 1
fi
grep -Eq "^mpi: [0-9]+ passed, 0 failed" "$log" || { echo "FAIL: unexpected output:" >&2; cat "$log" >&2; exit 1; }
echo "ok: the MPICH build passes the MPI checks under srun --mpi=pmi2 -n 2"
