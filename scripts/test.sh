#!/usr/bin/env bash
# Runs every test: the Swift build (which must emit no warnings), swift test, the multi-rank MPI
# checks under mpirun, the same checks built against MPICH, the shell tests in Tests/mpi and
# Tests/slurm (on a one-node Slurm cluster started here), and the Python tests. A shell test that
# cannot run on this machine prints why and exits 77; it is counted and listed as skipped at the
# end. Run `make test`, which sets up first.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build

echo "== swift build (debug, with tests)"
swift build --build-tests 2>&1 | tee .build/build.log | grep -E "error|warning:|Compiling|Build complete" | grep -v "^\[" || true
if grep -q "warning:" .build/build.log; then
  echo "FAILED: swift build emitted warnings:"; grep "warning:" .build/build.log | sort -u
  exit 1
fi
if grep -q "error:" .build/build.log; then echo "FAILED: swift build"; exit 1; fi

echo "== swift test"
export FAIRTUNE_INTEROP_DIR="$PWD/.build/interop"
rm -rf "$FAIRTUNE_INTEROP_DIR"
status=0
swift test --skip-build >.build/swift-test.log 2>&1 || status=$?
# Failures in either framework, then the closing lines of both (XCTest's total comes last).
grep -E "^(✘|􀢄)|error:|: error" .build/swift-test.log | head -50 || true
grep -E "Executed [0-9]+ tests?, with" .build/swift-test.log | tail -n 1 || true
grep -E "Test run with [0-9]+ tests?" .build/swift-test.log | tail -n 1 || true
if [ "$status" -ne 0 ]; then echo "FAILED: swift test exited $status (log: .build/swift-test.log)"; exit 1; fi

# Runs every test script in folder $1. A script exits 0 when it passed, 77 when it could not run
# (it prints why; counted as a skip, not a pass), anything else when it failed.
skipped=()
run_scripts() {
  local script status
  for script in "$1"/*.sh; do
    [ -e "$script" ] || continue
    echo "-- $script"
    status=0
    bash "$script" || status=$?
    case "$status" in
      0) ;;
      77) skipped+=("$script") ;;
      *) echo "FAILED: $script exited $status"; exit 1 ;;
    esac
  done
}

echo "== MPI checks (mpirun -n 2)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -n 2 .build/debug/fairtune-mpi-check
run_scripts Tests/mpi

echo "== MPICH (a debug build against MPICH in .build-mpich, run under mpiexec.mpich -n 2)"
bash Tests/mpich/build_and_run.sh

echo "== Slurm (a one-node cluster on this machine; srun --mpi=pmix)"
bash slurm/local-cluster start
trap 'bash slurm/local-cluster stop >/dev/null 2>&1 || true' EXIT
run_scripts Tests/slurm

echo "== pytest"
python_tests=(Tests/python)
[ -d data-prep/tests ] && python_tests+=(data-prep/tests)
.venv/bin/python -m pytest -q "${python_tests[@]}"

if ((${#skipped[@]})); then
  echo "== ${#skipped[@]} test script(s) skipped (see their lines above for why):"
  printf '  %s\n' "${skipped[@]}"
fi
