#!/usr/bin/env bash
# slurm/train.sbatch as a user submits it: a 2-rank tiny run that gets the time-limit signal
# (`scancel -s USR1 -b`, what `--signal=B:USR1@300` sends) checkpoints, requeues itself, resumes,
# and ends with exactly the weights and validation metrics of an uninterrupted `mpirun -n 2` run.
# Needs a running Slurm (e.g. `slurm/local-cluster start`); without one it prints
# "skipped: no slurm" and exits 77 (counted as a skip).
# Usage: Tests/slurm/train_sbatch_requeue.sh [path/to/fairtune]   (default .build/release/fairtune)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/slurm/support/slurm-test-lib
source "$root/Tests/slurm/support/slurm-test-lib"
need_slurm
binary=$(realpath "${1:-$root/.build/release/fairtune}")
python=${PYTHON:-$root/.venv/bin/python}
make_work train-sbatch

(cd "$root" && "$python" -m fairtune_prep synthetic --out "$work/data" --train 512 --val 64 --test 64 --quiet) > /dev/null
args=(--data "$work/data" --weights "$root/Tests/Fixtures/vit/tiny_weights.safetensors" --attribute group
      --tuning block-parts4 --mask 00110111 --optimizer sgd --lr 0.02 --epochs 60 --batch-size 32 --seed 5 --threads 1)
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --oversubscribe --bind-to none -n 2 "$binary" train "${args[@]}" --out "$work/reference" > /dev/null

log="$work/job.log"
job=$(cd "$work" && FAIRTUNE="$binary" FAIRTUNE_SRUN_MPI=pmix sbatch --parsable --ntasks=2 --time=10 \
    --output="$log" "$root/slurm/train.sbatch" "${args[@]}" --out "$work/run")
ids+=("$job")

# Wait until training is under way, then send what Slurm sends 5 minutes before the time limit
# (60 epochs: at ~14,000 img/s a shorter run could end before the signal arrives).
waited() { for _ in $(seq "$2"); do grep -q "$1" "$log" 2>/dev/null && return 0; sleep 0.5; done; return 1; }
waited "epoch 2/60:" 240 || { echo "FAIL: the job did not start training:" >&2; cat "$log" >&2; exit 1; }
scancel -s USR1 -b "$job"
waited "train.sbatch: run finished\|train.sbatch: fairtune train exited" 360 \
    || { echo "FAIL: the job did not finish:" >&2; cat "$log" >&2; exit 1; }
ids=()

for expected in "stopped with a checkpoint; requeueing" "start 2, 2 tasks" "resuming from" "train.sbatch: run finished"; do
    grep -q "$expected" "$log" || { echo "FAIL: the job log lacks '$expected':" >&2; cat "$log" >&2; exit 1; }
done
"$python" "$root/Tests/compare_runs.py" "$work/reference" "$work/run"
echo "ok: slurm/train.sbatch checkpoints on USR1, requeues, resumes and ends as an uninterrupted run"
