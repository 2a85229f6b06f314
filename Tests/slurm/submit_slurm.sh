#!/usr/bin/env bash
# slurm/submit against a real Slurm (the jobs are submitted held, then cancelled):
# every template's header passes `sbatch --test-only`; the four jobs of a config land with their
# names, arrays, throttle, time limits, requeue flags, log paths (an OUT with blanks and quotes)
# and the dependency chain (search afterok prep; stage 2 and report afterok prep and afterany the
# step before); when one sbatch is refused (an array beyond MaxArraySize) nothing is left queued;
# and when prep fails (this one does run) no later job runs. Skips (exit 77) without a Slurm
# controller.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/slurm/support/slurm-test-lib
source "$root/Tests/slurm/support/slurm-test-lib"
need_slurm

make_work slurm-submit
fail() { echo "FAIL: $*" >&2; exit 1; }

for template in prep search finetune report; do
  # This cluster's node has 2 CPUs; the headers ask for 4 (a real node's share).
  sbatch --test-only --cpus-per-task=1 "$root/slurm/$template.sbatch" 2>"$work/test-only" ||
    fail "sbatch --test-only refuses slurm/$template.sbatch: $(cat "$work/test-only")"
done

printf '#!/bin/sh\n' >"$work/fairtune"
chmod +x "$work/fairtune"
config=$work/held.conf
cat >"$config" <<CONF
DATASET=synthetic
WEIGHTS=$root/Tests/Fixtures/vit/tiny_weights.safetensors
ATTRIBUTE=group
OUT=it's out here
WORKERS=3
WORKERS_AT_ONCE=2
THREADS_PER_RANK=1
TIME_SEARCH=10
TIME_REPORT=5
SBATCH_OPTIONS=--hold
NAME=fairtune-held
FAIRTUNE=fairtune
PYTHON=fairtune
CONF
"$root/slurm/submit" "$config" >"$work/stdout"
read -r -a ids < <(sed -n 's/^cancel: *scancel //p' "$work/stdout")
[ "${#ids[@]}" -eq 4 ] || fail "expected four job ids in the output:$(cat "$work/stdout")"
out="$work/it's out here"
[ -d "$out/logs" ] || fail "no log folder $out/logs"
grep -qF "fairtune study status --study $out/study.journal" "$work/stdout" || fail "the output does not say how to watch the study"

# $1: job id; the other arguments: fields its scontrol record must hold.
expect_job() {
  local id=$1 record field
  shift
  record=$(scontrol show job -o "$id" | head -n 1)
  for field in "$@"; do
    [[ $record == *" $field "* ]] || fail "job $id lacks '$field': $record"
  done
}
read -r prep search finetune report <<<"${ids[*]}"
expect_job "$prep" "JobName=fairtune-held-prep" "Dependency=singleton(unfulfilled)" "NumTasks=1" "Reason=JobHeldUser" \
  "WorkDir=$out"
expect_job "$search" "JobName=fairtune-held-search" "ArrayTaskId=0-2%2" "ArrayTaskThrottle=2" \
  "Dependency=afterok:${prep}_*(unfulfilled)" "Requeue=1" "TimeLimit=00:10:00" "CPUs/Task=1"
expect_job "$finetune" "JobName=fairtune-held-finetune" "Dependency=afterok:${prep}_*(unfulfilled),afterany:${search}_*(unfulfilled)" "Requeue=1"
expect_job "$report" "JobName=fairtune-held-report" "Dependency=afterok:${prep}_*(unfulfilled),afterany:${finetune}_*(unfulfilled)" "TimeLimit=00:05:00"
scontrol show job -o "$search" | head -n 1 | grep -qF "StdOut=$out/logs/fairtune-held-search_${search}_" ||
  fail "the search job's log is not under $out/logs"
scancel "${ids[@]}"
ids=()

# A refused sbatch (too large an array): the jobs submitted before it are cancelled.
echo "WORKERS=20000" >>"$config"   # beyond MaxArraySize (10001 here, 1001 by default)
status=0
"$root/slurm/submit" "$config" >"$work/stdout" 2>"$work/stderr" || status=$?
[ "$status" -eq 1 ] || fail "submit with an impossible search job exited $status, expected 1"
grep -q "slurm/submit: sbatch failed: sbatch .*--job-name=fairtune-held-search" "$work/stderr" || fail "no message names the refused job: $(cat "$work/stderr")"
prep=$(sed -n 's/^slurm\/submit: cancelling the jobs submitted before: //p' "$work/stderr")
[ -n "$prep" ] || fail "the prep job was not cancelled: $(cat "$work/stderr")"
ids=("$prep")
sleep 1
expect_job "$prep" "JobState=CANCELLED"
ids=()
# A chain whose prep fails (a raw folder without the release): the jobs after it never run.
mkdir -p "$work/raw"
cat >"$work/failing.conf" <<CONF
DATASET=ham10000
RAW=raw
WEIGHTS=$root/Tests/Fixtures/vit/tiny_weights.safetensors
ATTRIBUTE=sex
OUT=failing
WORKERS=2
THREADS_PER_RANK=1
TIME_PREP=5
NAME=fairtune-failing
FAIRTUNE=$root/.build/release/fairtune
PYTHON=${PYTHON:-$root/.venv/bin/python}
CONF
"$root/slurm/submit" "$work/failing.conf" >"$work/stdout"
read -r -a ids < <(sed -n 's/^cancel: *scancel //p' "$work/stdout")
wait_for_jobs 120 "${ids[@]}"
read -r prep search finetune report <<<"${ids[*]}"
[[ $(job_states "$prep") == "${prep}_0 FAILED "* ]] || fail "the prep job did not fail: $(job_states "$prep")"
for id in "$search" "$finetune" "$report"; do
  expect_job "$id" "JobState=CANCELLED"
done
logs=$(cd "$work/failing/logs" && echo *)
[ "$logs" = "fairtune-failing-prep_${prep}_0.out" ] || fail "jobs after the failed prep ran: $logs"
ids=()
echo "ok: the templates pass sbatch --test-only; submit's chain lands as configured; a refused sbatch leaves nothing queued; a failed prep cancels the rest"
