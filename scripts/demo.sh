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

# Fine-tuning on the synthetic set. The weights are the small random ViT of the test fixtures
# (image 32, patch 8, width 64, depth 2): enough to show the fairness gap on held-out data.
weights=Tests/Fixtures/vit/tiny_weights.safetensors
common=(--data "$out/synthetic" --weights "$weights" --attribute group --epochs 6 --batch-size 64
        --optimizer adamw --weight-decay 0.05 --schedule cosine --test --log-interval 60)
echo
echo "== fairtune train: full fine-tuning"
rm -rf "$out/run-full" "$out/run-head"
$bin train "${common[@]}" --tuning full --lr 1e-3 --out "$out/run-full"
echo
echo "== fairtune train: linear probe (head only)"
$bin train "${common[@]}" --tuning head --lr 3e-2 --out "$out/run-head"
echo
echo "== fairtune metrics on the full fine-tuning's test predictions (with bootstrap intervals)"
$bin metrics --predictions "$out/run-full/predictions-test.csv" --label-column label --score-column score \
    --group-column group --bootstrap 200 --out "$out/run-full/test-metrics.json"
