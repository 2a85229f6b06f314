#!/usr/bin/env bash
# Installs fairtune into one prefix, so that PREFIX/bin on PATH gives both tools:
#   PREFIX/bin/fairtune          the release binary (built first by `make install`)
#   PREFIX/bin/fairtune-prep     data-prep, the same as `python -m fairtune_prep`
#   PREFIX/lib/fairtune/venv     the Python environment behind it (pinned versions)
# Usage: scripts/install.sh PREFIX   (`make install PREFIX=DIR` calls it)
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${1:?usage: scripts/install.sh PREFIX}
binary=.build/release/fairtune
PYTHON=${PYTHON:-python3}

if [ ! -x "$binary" ]; then
  echo "install: $binary is missing; run \`make build\` (or \`make install\`, which builds it) first" >&2
  exit 1
fi
mkdir -p "$prefix/bin" "$prefix/lib/fairtune"
prefix=$(cd "$prefix" && pwd)

# Copy to a temporary name, then rename: a running job never sees half a binary.
install -m 755 "$binary" "$prefix/bin/.fairtune.tmp"
mv -f "$prefix/bin/.fairtune.tmp" "$prefix/bin/fairtune"
echo "install: $prefix/bin/fairtune"

# A venv of its own (not the source tree's .venv), with data-prep copied in rather than linked,
# so the prefix keeps working when the source tree moves. The pins of requirements.txt constrain
# data-prep's dependencies; the test-only packages listed there are not installed.
venv="$prefix/lib/fairtune/venv"
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -c data-prep/requirements.txt ./data-prep >"$prefix/lib/fairtune/pip.log" 2>&1 \
  || { cat "$prefix/lib/fairtune/pip.log" >&2; echo "install: pip failed (log above)" >&2; exit 1; }
rm -rf data-prep/build
ln -sf ../lib/fairtune/venv/bin/fairtune-prep "$prefix/bin/fairtune-prep"
echo "install: $prefix/bin/fairtune-prep (python: $venv/bin/python)"
echo "install: done; put $prefix/bin on PATH"
