#!/usr/bin/env bash
# The big-heap comparison: gcvm-bigheap-bench once per workload, live size and collector,
# each in its own process (peak RSS and page faults are per process), then one Markdown
# table with wall and CPU time, the longest and 99th-percentile pauses over the whole run
# and over the steady state (after the warm-up that builds the live structure), and peak
# RSS. Results (JSON per run and the table) go to BUILD_DIR/bigheap-results, or --out.
# --marking="concurrent stw" runs every gcvm cell once per major-collection mode
# (GCVM_GC_CONCURRENT=1 or 0), side by side; the default runs the heap's default only.
# Before each cell the machine idles --settle seconds (15 by default): a guest with free
# page reporting hands the memory a process freed back to the host a few seconds later,
# and the next process's first touches of it cost several times more. Without the wait a
# cell run right after another one got its memory warm (array-churn at 1 GiB: 2.3 s of
# kernel CPU against 6.1 s after 15 s idle), and a side-by-side ratio measured the order
# of the cells (docs/benchmarks.md).
#
# Usage: run_bigheap_table.sh BUILD_DIR [--live-mb="128 512 1024"]
#          [--workloads="array-churn table tree-replace"]
#          [--collectors="gcvm-card gcvm-mprotect gcvm-uffd gcvm-soft-dirty boehm boehm-incremental"]
#          [--marking="concurrent stw"] [--settle=SECONDS] [--out=DIR]
set -euo pipefail
build=${1:?usage: run_bigheap_table.sh BUILD_DIR [--live-mb=\"128 512\"] [--workloads=...] [--collectors=...]}
shift
live_sizes="128 512 1024"
workloads="array-churn table tree-replace"
collectors="gcvm-card gcvm-mprotect gcvm-uffd gcvm-soft-dirty boehm boehm-incremental"
out=$build/bigheap-results
markings=default
settle=15
for a in "$@"; do
  case $a in
    --live-mb=*) live_sizes=${a#--live-mb=} ;;
    --workloads=*) workloads=${a#--workloads=} ;;
    --collectors=*) collectors=${a#--collectors=} ;;
    --out=*) out=${a#--out=} ;;
    --marking=*) markings=${a#--marking=} ;;
    --settle=*) settle=${a#--settle=} ;;
    *) echo "run_bigheap_table.sh: unknown option '$a' (--live-mb=, --workloads=, --collectors=, --marking=, --settle=, --out=)" >&2; exit 2 ;;
  esac
done
case $settle in
  '' | *[!0-9]*) echo "run_bigheap_table.sh: --settle takes whole seconds, not '$settle'" >&2; exit 2 ;;
esac
bench=$build/benchmarks/gcvm-bigheap-bench
[ -x "$bench" ] || { echo "run_bigheap_table.sh: $bench is not built (scripts/build.sh $build)" >&2; exit 1; }
command -v jq >/dev/null || { echo "run_bigheap_table.sh: needs jq (apt-get install jq)" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.json

# The cells: a collector, and for gcvm with --marking, a collector:mode pair.
cells=""
for c in $collectors; do
  case $c in
    gcvm-*) for m in $markings; do cells="$cells $c:$m"; done ;;
    *) cells="$cells $c:default" ;;
  esac
done
label() { case ${1#*:} in default) echo "${1%%:*}" ;; *) echo "${1%%:*} (${1#*:})" ;; esac; }
env_of() { case ${1#*:} in concurrent) echo GCVM_GC_CONCURRENT=1 ;; stw) echo GCVM_GC_CONCURRENT=0 ;; *) echo GCVM_GC_CONCURRENT=${GCVM_GC_CONCURRENT:-} ;; esac; }
file_of() { echo "$out/$2-${1%%:*}-${1#*:}-$3"; }

total=0
for l in $live_sizes; do for w in $workloads; do for c in $cells; do total=$((total + 1)); done; done; done
n=0
for l in $live_sizes; do
  for w in $workloads; do
    for c in $cells; do
      n=$((n + 1))
      printf '[%2d/%d] %s at %s MiB live ... ' "$n" "$total" "$w/$(label "$c")" "$l" >&2
      sleep "$settle"
      start=$(date +%s)
      f=$(file_of "$c" "$w" "$l")
      env "$(env_of "$c")" "$bench" --live-mb="$l" --benchmark_filter="^$w/${c%%:*}/" \
        --benchmark_format=json >"$f.json" 2>"$f.err" || true
      echo "$(($(date +%s) - start)) s" >&2
    done
  done
done

fmt() { jq -r --arg live "$1" --arg coll "$3" '
  .benchmarks[]? | (.name | split("/")) as $n |
  if .error_occurred then "| \($n[0]) | \($live) | \($coll) | \(.error_message) ||||||||||"
  else "| \($n[0]) | \($live) | \($coll) | \(.real_time / 1000 * 100 | round / 100) | \(.cpu_ms / 1000 * 100 | round / 100) | \((.sys_ms // 0) / 1000 * 100 | round / 100) | \(.max_pause_ms * 10 | round / 10) | \(.warmup_p99_pause_ms * 10 | round / 10) | \(.steady_max_pause_ms * 10 | round / 10) | \(.steady_p99_pause_ms * 10 | round / 10) | \(.collections) | \(.peak_rss_mb | round) | \((.host_steal_ms // 0) | round) |" end' "$2"; }

{
  echo "gcvm-bigheap-bench on $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d); one process per cell, each after $settle s idle;"
  echo "times in s, pauses in ms; steady: after the warm-up that builds the live structure;"
  echo "host steal: the time the hypervisor ran something else on the virtual CPUs during the cell."
  echo
  echo "| workload | live MiB | collector | wall | CPU | of it kernel | max pause | warm-up p99 | steady max | steady p99 | collections | peak RSS MiB | host steal ms |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for l in $live_sizes; do
    for w in $workloads; do
      for c in $cells; do
        f=$(file_of "$c" "$w" "$l")
        if [ -s "$f.json" ] && jq -e . "$f.json" >/dev/null 2>&1; then
          fmt "$l" "$f.json" "$(label "$c")"
        else
          echo "| $w | $l | $(label "$c") | failed: $(tail -1 "$f.err" 2>/dev/null) ||||||||||"
        fi
      done
    done
  done
} | tee "$out/table.md"
