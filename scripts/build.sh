#!/usr/bin/env bash
# Configures and builds gcvm into a build directory. Usage: build.sh DIR [CMAKE ARGS...]
set -euo pipefail
dir=$1
shift
cmake -S "$(dirname "$0")/.." -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" 2>&1 | grep -E "warning|error" && { echo "gcvm: the build has warnings or errors" >&2; exit 1; }
exit 0
