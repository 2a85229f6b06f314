#!/usr/bin/env bash
# Every Slurm template and shell script of the project parses (bash -n) and passes shellcheck.
# Without shellcheck (scripts/setup.sh installs it) it prints why and exits 77 (a skip).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
shopt -s nullglob
scripts=(slurm/submit slurm/local-cluster slurm/job-common.sh slurm/*.sbatch
  scripts/*.sh Tests/slurm/*.sh Tests/slurm/support/* Tests/mpi/*.sh)
for script in "${scripts[@]}"; do
  bash -n "$script" || { echo "FAIL: bash -n $script"; exit 1; }
done
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "skipped: shellcheck is not installed (bash -n passed on ${#scripts[@]} scripts)"
  exit 77
fi
# -x follows the templates' `source` of slurm/job-common.sh.
shellcheck -x "${scripts[@]}"
echo "ok: bash -n and shellcheck pass on ${#scripts[@]} scripts"
