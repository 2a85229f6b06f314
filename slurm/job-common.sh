# Shared by the slurm/*.sbatch templates (sourced, not run): the banner every job prints at start,
# and the way a job runs a command that may be stopped by Slurm and must then be requeued.
# shellcheck shell=bash

# Prints the job's identity, its nodes, the FT_* settings it runs with and `fairtune env`, so a
# log says on its own what ran where.
job_banner() {
  echo "== $(date '+%Y-%m-%d %H:%M:%S') ${SLURM_JOB_NAME:-job} ${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-}}_${SLURM_ARRAY_TASK_ID:-0}" \
    "(job ${SLURM_JOB_ID:-none}, restart ${SLURM_RESTART_COUNT:-0})"
  echo "nodes: ${SLURM_JOB_NUM_NODES:-1} (${SLURM_JOB_NODELIST:-$(hostname -s)});" \
    "tasks per node: ${SLURM_NTASKS_PER_NODE:-1}; cpus per task: ${SLURM_CPUS_PER_TASK:-unset}"
  echo "settings:"
  env | grep '^FT_' | sort | sed 's/^/  /'
  echo "fairtune env (on $(hostname -s)):"
  "$FT_FAIRTUNE" env | sed 's/^/  /'
  echo "=="
}

# Slurm 22.05 and 23.02 do not pass --cpus-per-task from sbatch on to srun; later versions
# ignore this variable when it agrees.
if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then export SRUN_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK; fi

# A USR1 or TERM that comes before the work starts (during the banner, say) is kept here instead
# of killing the shell, and the work is then not started at all (see run_forwarding).
early_signal=""
keep_early_signals() {
  trap 'early_signal=USR1' USR1
  trap 'early_signal=TERM' TERM
}
keep_early_signals

# Runs "$@" in the background and waits for it, so that a USR1 or TERM sent to this batch shell
# (`--signal=B:USR1@…`, preemption, `scancel --signal=USR1 --batch`) runs the trap at once
# instead of after the command ends (bash runs traps only between foreground commands). The
# trap passes the signal on; srun passes it on to every task. Sets run_status to the exit status
# (75 without running "$@" when a signal came before).
run_status=0
terminated=0
run_forwarding() {
  local child seen again
  forwarded=0
  if [ -n "$early_signal" ]; then
    echo "job: $early_signal received before the work started; not starting it"
    run_status=75
    return 0
  fi
  "$@" &
  child=$!
  # shellcheck disable=SC2064  # the child's pid is fixed now, on purpose
  trap "forwarded=\$((forwarded + 1)); echo 'job: USR1 received, passed on to the command'; kill -USR1 $child 2>/dev/null || true" USR1
  # shellcheck disable=SC2064
  trap "forwarded=\$((forwarded + 1)); terminated=1; echo 'job: TERM received, passed on to the command'; kill -TERM $child 2>/dev/null || true" TERM
  run_status=0
  wait "$child" || run_status=$?
  # A wait cut short by a trap returns 128+signal while the command still runs: wait again
  # for its own status. 127 means the shell has already collected it (the last status stands).
  seen=0
  while [ "$run_status" -gt 128 ] && [ "$seen" -lt "$forwarded" ]; do
    seen=$forwarded
    again=0
    wait "$child" || again=$?
    [ "$again" -eq 127 ] && break
    run_status=$again
  done
  keep_early_signals
}

# Ends the job after a command stopped with status 75 (it checkpointed): requeues this job (the
# array task keeps its id, so the rerun resumes its work), or exits 75 when Slurm cannot requeue.
requeue_after_stop() {
  echo "job: stopped with a checkpoint (exit 75); requeueing ${SLURM_JOB_ID:-?} to resume"
  early_signal=""
  # Slurm ends this run with TERM as it requeues it, scontrol included: that is success too.
  if scontrol requeue "$SLURM_JOB_ID" || [ "$early_signal" = TERM ]; then exit 0; fi
  echo "job: scontrol requeue failed; resubmit to resume" >&2
  exit 75
}

# Runs "$@" as run_forwarding does and ends the job as its status says: 75 after USR1 (the time
# limit's warning, or a user's `scancel --signal=USR1`) requeues; 75 after TERM (scancel, a
# preemption, the limit itself) ends the job, which Slurm requeues itself when it preempted it;
# any other non-zero status fails the job with that status.
run_or_requeue() {
  run_forwarding "$@"
  case "$run_status" in
    0) ;;
    75)
      if [ "$terminated" = 1 ] || [ "$early_signal" = TERM ]; then
        echo "job: stopped by TERM with a checkpoint (exit 75); not requeued: submit again to continue"
        exit 75
      fi
      requeue_after_stop ;;
    *) echo "job: '$*' failed with exit status $run_status" >&2; exit "$run_status" ;;
  esac
}

