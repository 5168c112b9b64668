#!/usr/bin/env bash
# The main job: installs what is missing, builds, and prints the barrier comparison on
# the Scheme benchmark programs: gcvm-scheme under every write barrier available here,
# on Boehm GC (full and incremental), and Guile 3.0 (interpreted and compiled), with a
# plot; then the multi-threaded programs (SRFI-18) on 1 and 2 threads under the same
# collectors, with the speed-up and the CPU time. Usage: run-benchmarks.sh [--quick] [--reps=N] [--programs="A B"] [--configs="A B"]
# (--help says more; --quick gives the whole table in a few minutes.)
# (The C workloads, GCBench and binary-trees: benchmarks/run_table.sh build.)
set -euo pipefail
cd "$(dirname "$0")/.."
# The options are checked before anything is installed or built.
# shellcheck source=benchmarks/scheme_table_options.sh
. benchmarks/scheme_table_options.sh
parse_scheme_table_options run-benchmarks.sh \
  'run-benchmarks.sh [--quick] [--reps=N] [--programs="A B"] [--configs="A B"]' "$@"
scripts/install-deps.sh
scripts/build.sh build
benchmarks/run_scheme_table.sh build "$@"
exec benchmarks/run_scheme_threads_table.sh build "$@"
