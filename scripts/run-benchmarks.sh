#!/usr/bin/env bash
# The main job: installs what is missing, builds, and prints the comparison of every
# write barrier with Boehm GC and jemalloc on GCBench and binary-trees.
# Usage: run-benchmarks.sh [--heap-mb=N] [--nursery-kb=N] [--depth=N]  (GCVM_BENCH_REPS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
exec benchmarks/run_table.sh build "$@"
