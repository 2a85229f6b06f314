#!/usr/bin/env bash
# slurm/submit's config reading and --dry-run, without Slurm: a good config (a later line
# overriding an earlier one, relative paths, a path with blanks and shell characters) gives
# exactly the committed commands (Tests/slurm/expected/dry-run.txt, machine paths replaced by
# <repo> and <work>), and those commands, run by bash, hand sbatch the values unchanged; every
# bad config is refused with its file, line and key named, and no sbatch is run; config.example
# documents exactly the keys submit knows and is itself a good config.
# Regenerate the expectation after a deliberate change: UPDATE_EXPECTED=1 Tests/slurm/submit_config.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
expected=$root/Tests/slurm/expected/dry-run.txt
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/slurm-submit-config.XXXXXX")
trap 'rm -rf "$work"' EXIT

# sbatch and scancel that only record their arguments, one per line: the dry run must not call
# them, and the printed commands must hand them every value exactly.
mkdir -p "$work/bin" "$work/tools"
for tool in sbatch scancel; do
  cat >"$work/bin/$tool" <<TOOL
#!/bin/sh
printf '%s\\n' "\$0" "\$@" >>"$work/calls"
echo 100
TOOL
  chmod +x "$work/bin/$tool"
done
export PATH=$work/bin:$PATH
printf '#!/bin/sh\n' >"$work/tools/fairtune"
cp "$work/tools/fairtune" "$work/tools/python"
chmod +x "$work/tools/fairtune" "$work/tools/python"
weights=$root/Tests/Fixtures/vit/tiny_weights.safetensors

good=$work/good.conf
cat >"$good" <<CONF
# a comment, then blank lines and blanks around keys and values

DATASET=synthetic
PREP_OPTIONS=--train 256 --val 128 --test 128
WEIGHTS = $weights
ATTRIBUTE=group
TRIALS=8
TRIALS=6
EPOCHS=2
BATCH_SIZE=32
TRAIN_OPTIONS=--optimizer sgd --lr 0.02 --class-weights auto
STUDY_OPTIONS=--sampler random --seed 3
SEEDS=1,2
BASELINES=linear
FINETUNE_OPTIONS=--baseline-lrs linear=1e-2 --bootstrap 200
OUT=runs/it's a "study"; echo no
WORKERS=3
WORKERS_AT_ONCE=2
THREADS_PER_RANK=1
TIME_SEARCH=10
SIGNAL_SECONDS=20
SBATCH_OPTIONS=--qos=normal --comment=fairtune-test
FAIRTUNE=tools/fairtune
PYTHON=$work/tools/python
CONF
normalise() { sed -e "s|$work|<work>|g" -e "s|$root|<repo>|g"; }

"$root/slurm/submit" --dry-run "$good" >"$work/dry-run.sh"
[ ! -e "$work/calls" ] || { echo "FAIL: --dry-run ran sbatch or scancel" >&2; exit 1; }
if [ "${UPDATE_EXPECTED:-0}" = 1 ]; then normalise <"$work/dry-run.sh" >"$expected"; fi
if ! diff -u "$expected" <(normalise <"$work/dry-run.sh"); then
  echo "FAIL: slurm/submit --dry-run differs from $expected (above)" >&2
  exit 1
fi

# Run the printed commands: sbatch must receive the awkward path as one unchanged word.
bash "$work/dry-run.sh"
out="$work/runs/it's a \"study\"; echo no"
grep -qxF -- "--output=$out/logs/%x_%A_%a.out" "$work/calls" || { echo "FAIL: the OUT path did not reach sbatch unchanged" >&2; cat "$work/calls" >&2; exit 1; }
grep -qxF -- "--dependency=afterok:100" "$work/calls" || { echo "FAIL: the search job does not wait for prep's id" >&2; exit 1; }
rm -f "$work/calls"

# slurm/config.example documents every key submit knows, and is itself a good config once its
# weights (a placeholder path) exist.
example_keys=$(sed -n 's/^\([A-Z_]*\)=.*/\1/p' "$root/slurm/config.example" | sort -u)
known_keys=$(sed -n '/^declare -A kind=(/,/^)/p' "$root/slurm/submit" | grep -o '\[[A-Z_]*\]' | tr -d '[]' | sort -u)
[ "$example_keys" = "$known_keys" ] ||
  { echo "FAIL: config.example and submit disagree on the keys:" >&2; diff <(echo "$example_keys") <(echo "$known_keys") >&2; exit 1; }
{ cat "$root/slurm/config.example"; echo "WEIGHTS=$weights"; echo "FAIRTUNE=$work/tools/fairtune"; echo "PYTHON=$work/tools/python"; } >"$work/example.conf"
"$root/slurm/submit" --dry-run "$work/example.conf" >/dev/null || { echo "FAIL: config.example is not a good config" >&2; exit 1; }

# Bad configs: each line is "text to append to a copy of the good config|expected message".
bad_cases=(
  "TRIALS=ten|line 25: TRIALS: expected a whole number of at least 1, got: ten"
  "TRAILS=4|line 25: unknown key TRAILS (slurm/config.example lists the keys)"
  "just some words|line 25: expected KEY=value, got: just some words"
  "WEIGHTS=|line 25: WEIGHTS: a value is required (slurm/config.example documents it)"
  "DATASET=ham10000|key RAW is missing (dataset ham10000 is prepared from its raw release)"
  "WEIGHTS=missing.safetensors|line 25: WEIGHTS: no file $work/missing.safetensors"
  "RAW=no-such-folder|line 25: RAW: no folder $work/no-such-folder"
  "FAIRTUNE=/no/fairtune|line 25: FAIRTUNE: no executable /no/fairtune"
  "OUT=\$HOME/runs|line 25: OUT: expected a path written in full (values are not expanded: no ~ or \$VARIABLES), got: \$HOME/runs"
  "TIME_SEARCH=4h|line 25: TIME_SEARCH: expected a Slurm time: minutes, HH:MM:SS or D-HH:MM:SS, got: 4h"
  "SEEDS=1;2|line 25: SEEDS: expected whole numbers separated by commas, got: 1;2"
  "WORKERS=0|line 25: WORKERS: expected a whole number of at least 1, got: 0"
  "ATTRIBUTE=sex age|line 25: ATTRIBUTE: expected names separated by commas, got: sex age"
  "SIGNAL_SECONDS=70000|line 25: SIGNAL_SECONDS: expected whole seconds from 0 to 65535, got: 70000"
  "MEMORY=lots|line 25: MEMORY: expected a size such as 16G or 16000M, got: lots"
)
for case in "${bad_cases[@]}"; do
  line=${case%%|*}
  message=${case#*|}
  bad=$work/bad.conf
  { cat "$good"; echo "$line"; } >"$bad"
  for mode in --dry-run ""; do
    status=0
    "$root/slurm/submit" $mode "$bad" >"$work/stdout" 2>"$work/stderr" || status=$?
    if [ "$status" -ne 1 ] || ! grep -qxF "slurm/submit: $bad: $message" "$work/stderr"; then
      echo "FAIL: config line '$line' ($mode): exit $status, expected 1 and: slurm/submit: $bad: $message" >&2
      cat "$work/stderr" >&2
      exit 1
    fi
    [ ! -e "$work/calls" ] || { echo "FAIL: a bad config ('$line') reached sbatch" >&2; exit 1; }
  done
done

grep -v '^ATTRIBUTE=' "$good" >"$work/bad.conf"
status=0
"$root/slurm/submit" "$work/bad.conf" 2>"$work/stderr" || status=$?
grep -qxF "slurm/submit: $work/bad.conf: key ATTRIBUTE is missing (slurm/config.example documents it)" "$work/stderr" ||
  { echo "FAIL: a config without ATTRIBUTE (exit $status):" >&2; cat "$work/stderr" >&2; exit 1; }

status=0
"$root/slurm/submit" "$work/none.conf" 2>"$work/stderr" || status=$?
if [ "$status" -ne 1 ] || ! grep -qF "no readable config file $work/none.conf" "$work/stderr"; then
  echo "FAIL: a missing config file: exit $status" >&2
  exit 1
fi
status=0
"$root/slurm/submit" 2>/dev/null || status=$?
[ "$status" -eq 2 ] || { echo "FAIL: no config given: exit $status, expected 2" >&2; exit 1; }
echo "ok: the dry run matches its expectation and quotes every value; config.example documents every key; ${#bad_cases[@]} bad configs refused by file, line and key"
