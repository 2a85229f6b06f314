#!/usr/bin/env bash
# A tiny 2-rank `fairtune train` launched by `srun --mpi=pmix -n 2` inside `sbatch --wait` must end
# with exactly the weights and validation metrics of the same run under `mpirun -n 2`.
# Needs a running Slurm (e.g. `slurm/local-cluster start`); without one it prints why and exits
# 77 (a skip).
# Usage: Tests/slurm/train_srun.sh [path/to/fairtune]   (default .build/release/fairtune)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/slurm/support/slurm-test-lib
source "$root/Tests/slurm/support/slurm-test-lib"
need_slurm
binary=$(realpath "${1:-$root/.build/release/fairtune}")
python=${PYTHON:-$root/.venv/bin/python}
# Under the repository's .build so the (one-node) cluster's job sees the same files.
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/train-srun.XXXXXX")
trap 'rm -rf "$work"' EXIT

(cd "$root" && "$python" -m fairtune_prep synthetic --out "$work/data" --train 256 --val 128 --test 128 --quiet)
args=(train --data "$work/data" --weights "$root/Tests/Fixtures/vit/tiny_weights.safetensors" --attribute group
      --tuning block-parts4 --mask 00110111 --optimizer sgd --lr 0.02 --epochs 2 --batch-size 32 --seed 5 --threads 1)

OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --oversubscribe --bind-to none -n 2 "$binary" "${args[@]}" --out "$work/mpirun" > "$work/mpirun.log"
# `--wrap` runs through sh: quote each argument for it.
printf -v command '%q ' srun --mpi=pmix -n 2 "$binary" "${args[@]}" --out "$work/srun"
if ! sbatch --wait --job-name=fairtune-train-test --nodes=1 --ntasks=2 --time=10 --output="$work/slurm.log" \
        --wrap "$command" > /dev/null; then
    echo "FAIL: the sbatch job failed:" >&2
    cat "$work/slurm.log" >&2
    exit 1
fi
grep -q "fairtune train .*: 2 rank(s)" "$work/slurm.log" || { echo "FAIL: srun did not start a 2-rank world" >&2; cat "$work/slurm.log" >&2; exit 1; }

"$python" - "$work/mpirun" "$work/srun" <<'PY'
import json, pathlib, struct, sys

def tensors(path):
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    return {k: raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in header.items()}, meta

a, b = (pathlib.Path(p) for p in sys.argv[1:])
ta, ma = tensors(a / "checkpoint.safetensors")
tb, mb = tensors(b / "checkpoint.safetensors")
assert ma["ranks"] == mb["ranks"] == "2", (ma["ranks"], mb["ranks"])
assert ta.keys() == tb.keys()
different = [k for k in ta if ta[k] != tb[k]]
assert not different, f"weights differ between mpirun and srun: {different}"
va = [json.loads(l)["val"] for l in (a / "metrics.jsonl").read_text().splitlines()]
vb = [json.loads(l)["val"] for l in (b / "metrics.jsonl").read_text().splitlines()]
assert va == vb, "validation metrics differ between mpirun and srun"
PY
echo "ok: srun --mpi=pmix -n 2 inside sbatch trains exactly as mpirun -n 2"
