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
make_work train-srun

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

"$python" "$root/Tests/compare_runs.py" "$work/mpirun" "$work/srun"
echo "ok: srun --mpi=pmix -n 2 inside sbatch trains exactly as mpirun -n 2"
