#!/usr/bin/env bash
# Configures and builds gcvm into a build directory. Usage: build.sh DIR [CMAKE ARGS...]
# Fails on a failed build and on any compiler warning, printing the lines that say so.
set -euo pipefail
dir=$1
shift
cmake -S "$(dirname "$0")/.." -B "$dir" "$@" >/dev/null
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cmake --build "$dir" -j"$(nproc)" >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ] || grep -qE "warning|error" "$log"; then
  grep -E "warning|error" "$log" || tail -20 "$log"
  echo "gcvm: the build has warnings or errors" >&2
  exit 1
fi
