#!/usr/bin/env bash
# The search template's requeue pattern on a real Slurm, two search tasks at once:
# - "signal": SIGUSR1 sent to its batch shell with `scancel --signal=USR1 --batch`;
# - "limit": a 1-minute time limit with --signal=B:USR1@30, Slurm's own warning.
# Each batch shell passes USR1 on through srun to the worker, which checkpoints and exits 75; the
# task requeues itself with the same array index, runs again (restart 1) and the worker resumes.
# A job waiting for the task with afterany starts only after the second run. And a task stopped
# by a plain scancel (TERM) checkpoints but is not requeued: the user meant it.
# The worker is a stand-in with the signal behaviour of `fairtune study work`
# (Tests/slurm/support/fairtune-standin); chain.sh checks the real worker's resume once the
# command exists. Skips (exit 77) without a Slurm controller. About 40 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/slurm/support/slurm-test-lib
source "$root/Tests/slurm/support/slurm-test-lib"
need_slurm

mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/slurm-requeue.XXXXXX")
jobs=()
cleanup() {
  if ((${#jobs[@]})); then scancel "${jobs[@]}" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Submits search.sbatch as slurm/submit does, one task, the stand-in as worker; $1 names the
# case, the rest are its own sbatch options. Prints the job id.
submit_search() {
  local name=$1 id
  shift
  mkdir -p "$work/$name/logs"
  id=$(FT_HOME=$root FT_FAIRTUNE=$root/Tests/slurm/support/fairtune-standin FT_OUT=$work/$name \
    sbatch --parsable --export=ALL --job-name="fairtune-requeue-$name" --array=0 \
    --output="$work/$name/logs/%x_%A_%a.out" --open-mode=append --nodes=1 --ntasks-per-node=1 \
    --cpus-per-task=1 --requeue "$@" "$root/slurm/search.sbatch")
  echo "${id%%;*}"
}

signal_job=$(submit_search signal --time=5 --signal=B:USR1@10)
jobs+=("$signal_job")
limit_job=$(submit_search limit --time=1 --signal=B:USR1@30)
jobs+=("$limit_job")
cancel_job=$(submit_search cancel --time=5 --signal=B:USR1@10)
jobs+=("$cancel_job")
signal_log=$work/signal/logs/fairtune-requeue-signal_${signal_job}_0.out
cancel_log=$work/cancel/logs/fairtune-requeue-cancel_${cancel_job}_0.out
# What slurm/submit's stage 2 does: wait (afterany) for the search array. It must start only
# after the requeued task's second run, not when the first run ends in the requeue.
after_job=$(sbatch --parsable --job-name=fairtune-requeue-after --dependency="afterany:$signal_job" \
  --output="$work/signal/logs/after.out" --wrap "grep -q 'stand-in worker: resumed' $(printf %q "$signal_log")")
after_job=${after_job%%;*}
jobs+=("$after_job")
for _ in $(seq 60); do grep -q "stand-in worker: working" "$signal_log" 2>/dev/null && break; sleep 0.5; done
scancel --signal=USR1 --batch "${signal_job}_0"
# The third task starts once the first has ended (two CPUs); then a plain scancel stops it.
for _ in $(seq 120); do grep -q "stand-in worker: working" "$cancel_log" 2>/dev/null && break; sleep 0.5; done
scancel "$cancel_job"
wait_for_jobs 120 "${jobs[@]}"

# $1: the case; $2: its job id.
check() {
  local log=$work/$1/logs/fairtune-requeue-$1_$2_0.out state
  state=$(job_states "$2")
  fail() { echo "FAIL ($1): $2 (job: $state)" >&2; cat "$log" >&2; exit 1; }
  [ "$state" = "$2_0 COMPLETED 1 0:0" ] || fail "$1" "expected the task COMPLETED after one restart"
  grep -q "job: USR1 received, passed on to the command" "$log" || fail "$1" "the batch shell did not pass USR1 on"
  grep -q "stand-in worker: USR1 received; checkpointed, exit 75" "$log" || fail "$1" "the worker did not get USR1 through srun"
  grep -q "requeueing" "$log" || fail "$1" "the job did not requeue itself"
  grep -q "requeue failed" "$log" && fail "$1" "the log says the requeue failed"
  grep -q "restart 1)" "$log" || fail "$1" "the second run's banner is missing"
  grep -q "stand-in worker: resumed the trial stopped in run 0; done" "$log" || fail "$1" "the requeued task did not resume"
  echo "ok ($1): USR1 → batch shell → srun → worker exit 75 → requeue → same task resumes and completes"
}
check signal "$signal_job"
check limit "$limit_job"
[ "$(job_states "$after_job")" = "$after_job COMPLETED 0 0:0" ] ||
  { echo "FAIL: a job waiting (afterany) for the requeued task started before its second run ended" >&2; exit 1; }
echo "ok: a job waiting for the task (afterany) starts after its second run"
cancel_state=$(job_states "$cancel_job")
if [[ $cancel_state != "${cancel_job}_0 CANCELLED 0 "* ]] || ! grep -q "not requeued" "$cancel_log"; then
  echo "FAIL: a cancelled task was requeued or did not say so (job: $cancel_state)" >&2
  cat "$cancel_log" >&2
  exit 1
fi
echo "ok: scancel (TERM) stops a task for good: the worker checkpoints and the task is not requeued"
jobs=()
