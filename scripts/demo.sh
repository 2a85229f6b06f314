#!/usr/bin/env bash
# The demo on the embedded defaults: what fairtune finds on this machine and how fast its GEMM runs.
# (It grows into the whole pipeline as the pipeline lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/fairtune
$bin env
echo
$bin bench gemm
