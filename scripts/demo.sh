#!/usr/bin/env bash
# The demo on the embedded defaults, in demo-output/: what fairtune finds on this machine, its GEMM
# speed, the synthetic biased dataset (prepared by data-prep, checked by fairtune), and how fast
# fairtune feeds it. It grows into the whole FairTune pipeline as the pipeline lands.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/fairtune
out=demo-output
mkdir -p "$out"

echo "== fairtune env"
$bin env
echo
echo "== fairtune bench gemm"
$bin bench gemm --repeats 3
echo
echo "== the synthetic dataset (data-prep): a darker-skin minority with fainter lesions, and a marker"
echo "   that tracks the label in train only"
.venv/bin/python -m fairtune_prep synthetic --out "$out/synthetic" --val 3000 --force --quiet
echo
echo "== fairtune data check"
$bin data check "$out/synthetic"
echo
echo "== fairtune bench data (what the loader sustains per core at 32x32)"
$bin bench data "$out/synthetic" --size 32 --batches 20
