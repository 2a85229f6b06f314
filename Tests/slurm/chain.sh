#!/usr/bin/env bash
# The whole chain through slurm/submit on a real Slurm, synthetic data and the tiny ViT:
# prep + study create → 2 search tasks (throttled to one at a time, --max-trials 2, 2 MPI ranks
# each through srun --mpi=pmix) → stage 2 (an array of 2 tasks: FairTune's run, and the linear
# probe's 2-rate grid) → report. While task 0 trains,
# it gets USR1 in its batch shell (what its time limit sends): its worker checkpoints the trial,
# the task is requeued and resumes that trial. At the end every job is COMPLETED, the study (read
# by optuna.load_study) has exactly its 4 trials, all COMPLETE (the stopped one resumed, not
# retried), written by both tasks; stage 2's summary and the report are there. Then the same
# config is submitted again and continues: nothing is prepared, created or trained twice.
# About 55 s.
# Skips (exit 77) without a Slurm controller or while `fairtune study`, `finetune` and `report`
# are not built.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/slurm/support/slurm-test-lib
source "$root/Tests/slurm/support/slurm-test-lib"
need_slurm
fairtune=$root/.build/release/fairtune
python=${PYTHON:-$root/.venv/bin/python}
for command in study finetune report; do
  if ! "$fairtune" "$command" --help >/dev/null 2>&1; then
    echo "skipped: \`fairtune $command --help\` fails: the command the chain runs is not built yet"
    exit 77
  fi
done

make_work slurm-chain
out=$work/out
trials=4
cat >"$work/chain.conf" <<CONF
DATASET=synthetic
PREP_OPTIONS=--train 512 --val 128 --test 128 --quiet
WEIGHTS=$root/Tests/Fixtures/vit/tiny_weights.safetensors
ATTRIBUTE=group
TUNING=block-parts4
OBJECTIVE=overall_auc
TRIALS=$trials
EPOCHS=4
BATCH_SIZE=32
TRAIN_OPTIONS=--optimizer sgd --checkpoint-every 1
STUDY_OPTIONS=--seed 3
SEEDS=1
BASELINES=linear
FINETUNE_OPTIONS=--baseline-lrs linear=1e-2:3e-2 --bootstrap 200
FINETUNE_TASKS=2
WORKERS=2
WORKERS_AT_ONCE=1
WORKER_MAX_TRIALS=2
RANKS_PER_NODE=2
THREADS_PER_RANK=1
TIME_PREP=10
TIME_SEARCH=10
TIME_FINETUNE=10
TIME_REPORT=5
NAME=fairtune-chain
FAIRTUNE=$fairtune
PYTHON=$python
OUT=out
CONF

# Submits the config; sets ids to its four job ids.
submit() {
  "$root/slurm/submit" "$work/chain.conf" >"$work/submit.out"
  read -r -a ids < <(sed -n 's/^cancel: *scancel //p' "$work/submit.out")
  [ "${#ids[@]}" -eq 4 ] || { echo "FAIL: no job ids from slurm/submit:" >&2; cat "$work/submit.out" >&2; exit 1; }
}
fail() {
  echo "FAIL: $1" >&2
  for id in "${ids[@]}"; do job_states "$id" >&2 || true; done
  tail -n 40 "$out"/logs/* >&2 || true
  exit 1
}
# Every task of every job of the chain ended COMPLETED; prints "task restarts" for each.
all_completed() {
  local id line
  for id in "${ids[@]}"; do
    while read -r -a line; do
      [ "${line[1]}" = COMPLETED ] || fail "task ${line[0]} ended ${line[1]}"
      echo "${line[0]} ${line[2]}"
    done < <(job_states "$id")
  done
}

submit
search=${ids[1]}
# Stop task 0 while it trains a trial: as soon as the journal (read by Optuna) has a RUNNING
# trial of worker <search>_0, send USR1 to the task's batch shell.
"$python" - "$out/study.journal" "${search}_0" <<'PY' || fail "task 0 never ran a trial"
import os, sys, time, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
path, worker = sys.argv[1], sys.argv[2]
deadline = time.time() + 300
while time.time() < deadline:
    if os.path.exists(path):
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
        study = optuna.load_study(study_name=None, storage=storage)
        if any(t.state == optuna.trial.TrialState.RUNNING and t.system_attrs.get("fairtune:worker") == worker
               for t in study.trials):
            sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY
scancel --signal=USR1 --batch "${search}_0" || fail "task 0 ended before it could be stopped: make its trials longer"
log0=$out/logs/fairtune-chain-search_${search}_0.out
wait_for_jobs 600 "${ids[@]}"
all_completed >"$work/states"
grep -q "^${search}_0 1$" "$work/states" || fail "search task 0 was not requeued once"
grep -q "USR1 received, passed on" "$log0" || fail "task 0's batch shell did not pass USR1 on"
grep -q "stopped and checkpointed" "$log0" || fail "task 0's worker did not checkpoint its trial"
grep -q "resuming trial" "$log0" || fail "the requeued task 0 did not resume its trial"
grep -q "^fairtune train .*: 2 rank(s)" "$log0" || fail "task 0 did not train with 2 MPI ranks"

"$python" - "$out/study.journal" "$trials" <<'PY' || fail "the study is not as expected"
import collections, sys, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
path, wanted = sys.argv[1], int(sys.argv[2])
study = optuna.load_study(study_name=None, storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path)))
states = collections.Counter(t.state.name for t in study.trials)
assert states == {"COMPLETE": wanted}, f"expected exactly {wanted} COMPLETE trials (the stopped one resumed, not retried), got {dict(states)}"
numbers = [t.number for t in study.trials]
assert sorted(numbers) == list(range(wanted)), numbers
workers = set()
for t in study.trials:
    for key, value in list(t.user_attrs.items()) + list(t.system_attrs.items()):
        if "worker" in key.lower():
            workers.add(str(value))
assert len(workers) >= 2, f"the trials name fewer than two workers: {workers} (attributes: {sorted(study.trials[0].user_attrs) + sorted(study.trials[0].system_attrs)})"
print(f"study: {wanted} COMPLETE trials from workers {sorted(workers)}; best value {study.best_value}")
PY
# Stage 2 as an array of two tasks: task 0 ran FairTune's seed, task 1 the linear probe's
# learning-rate grid (whose better run is its seed 1).
finetune=${ids[2]}
grep -q -- "--only fairtune:1$" "$out/logs/fairtune-chain-finetune_${finetune}_0.out" || fail "stage-2 task 0 did not run fairtune:1"
grep -q -- "runs linear:lr-1e-2 linear:lr-3e-2 (of" "$out/logs/fairtune-chain-finetune_${finetune}_1.out" ||
  fail "stage-2 task 1 did not run the linear grid"
[ -e "$out/finetune/linear/seed-1/result.json" ] || fail "the linear grid's choice is not linear/seed-1"
[ -f "$out/finetune/summary.json" ] || fail "no stage-2 summary $out/finetune/summary.json"
[ -f "$out/report/summary.md" ] || fail "no report $out/report/summary.md"
[ -f "$out/trials/0/result.json" ] || fail "no run directory for trial 0 beside the study"

# The same config again: everything is kept, nothing is redone.
journal_size=$(wc -c <"$out/study.journal")
submit
wait_for_jobs 300 "${ids[@]}"
all_completed >/dev/null
grep -q "prepared and valid; kept" "$out/logs/fairtune-chain-prep_${ids[0]}_0.out" || fail "the resubmission prepared the data again"
grep -q "study.journal exists; kept" "$out/logs/fairtune-chain-prep_${ids[0]}_0.out" || fail "the resubmission created the study again"
"$python" - "$out/study.journal" "$trials" <<'PY' || fail "the resubmission changed the trials"
import sys, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name=None, storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(sys.argv[1])))
assert len(study.trials) == int(sys.argv[2]), len(study.trials)
PY
[ "$(wc -c <"$out/study.journal")" = "$journal_size" ] || fail "the resubmission's workers wrote to the complete study"
for task in 0 1; do
  log=$out/logs/fairtune-chain-finetune_${ids[2]}_$task.out
  grep -q "already completed; nothing to do" "$log" || fail "the resubmission's stage-2 task $task did not find its run finished"
  ! grep -q "^epoch " "$log" || fail "the resubmission's stage-2 task $task trained again"
done
ids=()
echo "ok: the whole chain through slurm/submit completes on Slurm, a stopped search task resumes its trial, and a resubmission continues"
