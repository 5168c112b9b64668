#!/usr/bin/env bash
# Runs the programs of the public R7RS benchmark suite (a checkout of
# github.com/ecraven/r7rs-benchmarks, not part of this repository) on gcvm-scheme, each
# at a reduced iteration count, and says which ran correctly (each program checks its own
# result).
#   run_r7rs_suite.sh SUITE_DIR [BIN [COUNT [TIMEOUT_S [PROGRAM...]]]]
# BIN defaults to build/bin/gcvm-scheme, COUNT (iterations; the suite's inputs give the
# full counts) to 1, TIMEOUT_S (per program) to 120. Prints one line per program (ok with
# the time, FAIL with the first lines of the error, or TIMEOUT) and a summary; exits 1 if
# a program failed. GCVM_SCHEME_OPTIONS adds options (e.g. --heap=4G: earley's parse
# forest needs more than the default 1G).
set -uo pipefail
suite=${1:?usage: run_r7rs_suite.sh SUITE_DIR [BIN [COUNT [TIMEOUT_S [PROGRAM...]]]]}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${2:-$root/build/bin/gcvm-scheme}
count=${3:-1}
limit=${4:-120}
shift $(($# < 4 ? $# : 4))
if [ ! -d "$suite/src" ] || [ ! -d "$suite/inputs" ]; then
  echo "run_r7rs_suite.sh: $suite is not a checkout of r7rs-benchmarks (no src/ and inputs/)" >&2
  exit 2
fi
[ -x "$bin" ] || { echo "run_r7rs_suite.sh: $bin is not an executable (build first: scripts/build.sh build)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -gt 0 ]; then
  programs=("$@")
else
  programs=()
  for f in "$suite"/inputs/*.input; do programs+=("$(basename "$f" .input)"); done
fi
ok=0 failed=0 slow=0
for p in "${programs[@]}"; do
  src=$suite/src/$p.scm
  [ -f "$src" ] || { echo "$p: FAIL: no $src"; failed=$((failed + 1)); continue; }
  # The suite's harness: the program, then common.scm (run-r7rs-benchmark) and the call.
  { echo '(define (this-scheme-implementation-name) "gcvm-scheme")'
    cat "$src" "$suite/src/common.scm" "$suite/src/common-postlude.scm"; } >"$work/$p.scm"
  # The input's first datum is the iteration count.
  awk -v c="$count" 'NR == 1 && !done { done = sub(/^[ \t]*[0-9]+/, c) } { print }' \
    "$suite/inputs/$p.input" >"$work/$p.input"
  # shellcheck disable=SC2086 # GCVM_SCHEME_OPTIONS is split into options on purpose
  out=$(cd "$suite" && timeout "$limit" "$bin" ${GCVM_SCHEME_OPTIONS:-} "$work/$p.scm" <"$work/$p.input" 2>&1)
  rc=$?
  if [ $rc -eq 124 ]; then
    echo "$p: TIMEOUT after ${limit}s"
    slow=$((slow + 1))
  elif [ $rc -eq 0 ] && grep -q '^Elapsed time' <<<"$out"; then
    echo "$p: ok ($(grep -o 'Elapsed time: [0-9.e+-]* seconds' <<<"$out" | head -1))"
    ok=$((ok + 1))
  else
    echo "$p: FAIL (exit $rc): $(grep -v '^Running' <<<"$out" | head -3 | tr '\n' ' ' | cut -c1-300)"
    failed=$((failed + 1))
  fi
done
echo "r7rs-benchmarks: $ok ok, $failed failed, $slow timed out, of ${#programs[@]}"
[ $failed -eq 0 ]
