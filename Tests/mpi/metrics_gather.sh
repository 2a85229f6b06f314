#!/bin/sh
# Two MPI ranks each keep half the rows of a predictions CSV; rank 0 gathers them and evaluates.
# The JSON report (with a bootstrap) must be byte-identical to the one-process report.
# Usage: Tests/mpi/metrics_gather.sh [path/to/fairtune]   (default .build/debug/fairtune)
set -eu
binary=${1:-.build/debug/fairtune}
fixtures=$(dirname "$0")/../Fixtures/metrics
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run_case() {
    name=$1; shift
    "$binary" metrics "$@" --bootstrap 50 --seed 3 --out "$work/$name-one.json" > /dev/null
    mpirun --allow-run-as-root --oversubscribe -n 2 "$binary" metrics "$@" --bootstrap 50 --seed 3 \
        --split-rows-across-ranks --out "$work/$name-two.json" > /dev/null
    if cmp -s "$work/$name-one.json" "$work/$name-two.json"; then
        echo "ok: $name: 2-rank gathered report equals the 1-process report"
    else
        echo "FAIL: $name: 2-rank report differs from the 1-process report" >&2
        diff "$work/$name-one.json" "$work/$name-two.json" | head -20 >&2
        exit 1
    fi
}

run_case binary --predictions "$fixtures/predictions_binary.csv" --group-column sex --group-column age
run_case multiclass --predictions "$fixtures/predictions_multiclass.csv" \
    --score-column p0 --score-column p1 --score-column p2 --group-column g
