#!/usr/bin/env bash
# prep.sbatch on a real Slurm: a job makes a small synthetic dataset that data-prep's checker
# accepts, printing its settings, node and `fairtune env` first; a second job (as a resubmission
# of the same config would) keeps the valid data instead of preparing it again. The study part
# of the template is covered by chain.sh. Skips (exit 77) without a Slurm controller.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/slurm/support/slurm-test-lib
source "$root/Tests/slurm/support/slurm-test-lib"
need_slurm
python=${PYTHON:-$root/.venv/bin/python}
fairtune=$root/.build/release/fairtune

mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/slurm-prep.XXXXXX")
jobs=()
cleanup() {
  if ((${#jobs[@]})); then scancel "${jobs[@]}" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/out/logs"
export FT_HOME=$root FT_FAIRTUNE=$fairtune FT_PYTHON=$python FT_OUT=$work/out FT_DATASET=synthetic \
  FT_RAW="" FT_PREP_OPTIONS="--train 64 --val 32 --test 32 --quiet" FT_WEIGHTS=""
submit_prep() {
  local id
  id=$(sbatch --parsable --export=ALL --job-name=fairtune-prep-test --array=0 --time=5 --cpus-per-task=1 \
    --output="$work/out/logs/%x_%A_%a.out" --open-mode=append "$@" "$root/slurm/prep.sbatch")
  echo "${id%%;*}"
}
first=$(submit_prep)
jobs+=("$first")
second=$(submit_prep --dependency="afterok:$first")
jobs+=("$second")
wait_for_jobs 120 "${jobs[@]}"

fail() { echo "FAIL: $1" >&2; cat "$work"/out/logs/* >&2; exit 1; }
[ "$(job_states "$first")" = "${first}_0 COMPLETED 0 0:0" ] || fail "the first prep job did not complete"
[ "$(job_states "$second")" = "${second}_0 COMPLETED 0 0:0" ] || fail "the second prep job did not complete"
first_log=$work/out/logs/fairtune-prep-test_${first}_0.out
second_log=$work/out/logs/fairtune-prep-test_${second}_0.out
"$python" -m fairtune_prep check "$work/out/data" >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; fail "data-prep's checker refuses the prepared data"; }
grep -q "^  FT_PREP_OPTIONS=--train 64 --val 32 --test 32 --quiet$" "$first_log" || fail "the settings are not printed"
grep -q "^nodes: 1 (" "$first_log" || fail "the node list is not printed"
grep -q "^  MPI library" "$first_log" || fail "fairtune env is not printed"
grep -q "^prep: .* -m fairtune_prep synthetic --out $work/out/data --train 64" "$first_log" || fail "the first job did not prepare"
grep -q "^prep: $work/out/data is prepared and valid; kept$" "$second_log" || fail "the second job did not keep the data"
grep -q "^study: no FT_WEIGHTS, no study to create$" "$second_log" || fail "the study step did not say it had nothing to do"
echo "ok: prep.sbatch prepares a valid dataset and a resubmission keeps it"
