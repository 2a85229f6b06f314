#!/bin/sh
# `fairtune env` under `mpirun -n 2` prints every rank's line, gathered at rank 0, in rank order.
# Usage: Tests/mpi/env_ranks.sh [path/to/fairtune]   (default .build/debug/fairtune)
set -eu
binary=${1:-.build/debug/fairtune}
out=$(mpirun --allow-run-as-root --oversubscribe -n 2 "$binary" env)
ranks=$(printf '%s\n' "$out" | sed -n 's/^  rank \([0-9]*\/[0-9]*\) .*/\1/p' | tr '\n' ' ')
if [ "$ranks" = "0/2 1/2 " ]; then
    echo "ok: env under mpirun -n 2 prints one line per rank"
else
    echo "FAIL: env under mpirun -n 2 printed rank lines '$ranks', expected '0/2 1/2 ':" >&2
    printf '%s\n' "$out" >&2
    exit 1
fi
