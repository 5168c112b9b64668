#!/usr/bin/env bash
# Runs gcvm-bench once per configuration, each in its own process (peak RSS is a
# process's high-water mark), and prints one Markdown table per workload with ratios to
# Boehm's full collector. Results (JSON per run, the merged JSON and the table) go to
# BUILD_DIR/bench-results.
# Usage: run_table.sh BUILD_DIR [--heap-mb=N] [--nursery-kb=N] [--depth=N]
# GCVM_BENCH_REPS (default 3): repetitions per configuration; the median is reported.
set -euo pipefail
build=${1:?usage: run_table.sh BUILD_DIR [gcvm-bench flags]}
shift
bench=$build/benchmarks/gcvm-bench
[ -x "$bench" ] || { echo "run_table.sh: $bench not built" >&2; exit 1; }
out=$build/bench-results
mkdir -p "$out"
rm -f "$out"/*.json
reps=${GCVM_BENCH_REPS:-3}
configs=(gcvm-none gcvm-card gcvm-mprotect gcvm-uffd gcvm-soft-dirty boehm-full boehm-incremental malloc-jemalloc)
workloads=(GCBench BinaryTrees)
total=$((${#configs[@]} * ${#workloads[@]}))
n=0
for w in "${workloads[@]}"; do
  for c in "${configs[@]}"; do
    n=$((n + 1))
    printf '[%2d/%d] %-30s' "$n" "$total" "$w/$c" >&2
    start=$(date +%s.%N)
    if ! "$bench" "$@" --benchmark_filter="^$w/$c/" --benchmark_repetitions="$reps" \
        --benchmark_report_aggregates_only=true --benchmark_out="$out/$w--$c.json" \
        --benchmark_out_format=json >/dev/null 2>"$out/$w--$c.log"; then
      echo " failed: $(tail -n 1 "$out/$w--$c.log")" >&2
      exit 1
    fi
    printf ' %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo 0)" >&2
  done
done

# One record per run: the median aggregate, or the reason it did not run.
jq -s '
  [ .[] | .benchmarks[]
    | select((.aggregate_name // "median") == "median" or .error_occurred == true)
    | (.run_name // .name | sub("/iterations.*"; "")) as $n
    | { workload: ($n | split("/")[0]), config: ($n | split("/")[1]),
        time_ms: (if .error_occurred then null else .real_time end),
        max_pause_ms: .max_pause_ms, collections: .collections, peak_rss_mb: .peak_rss_mb,
        minor: .minor, major: .major, gc_ms: .gc_ms,
        error: (if .error_occurred then .error_message else null end) } ]
  | unique_by([.workload, .config])' "$out"/*--*.json > "$out/results.json"

{
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
  echo "gcvm-bench $* ; median of $reps runs per configuration, each in its own process"
  jq -r --argjson order "$(printf '%s\n' "${configs[@]}" | jq -R . | jq -s .)" '
    def r(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
    def ratio(a; b): if a == null or b == null or b == 0 then "-" else ((a / b) * 100 | round / 100 | tostring) + "x" end;
    group_by(.workload)[] as $rows
    | ($rows | map(select(.config == "boehm-full"))[0]) as $base
    | "",
      "### \($rows[0].workload)",
      "",
      "| configuration | time (ms) | time vs boehm-full | max pause (ms) | pause vs boehm-full | GC time (ms) | collections | peak RSS (MiB) |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      ( $order[] as $c | $rows[] | select(.config == $c)
        | if .error then "| \(.config) | \(.error) | | | | | | |"
          else "| \(.config) | \(r(.time_ms)) | \(ratio(.time_ms; $base.time_ms)) | \(r(.max_pause_ms)) | \(ratio(.max_pause_ms; $base.max_pause_ms)) | \(r(.gc_ms)) | \(r(.collections)) | \(r(.peak_rss_mb)) |"
          end )
  ' "$out/results.json"
  echo
  echo "Ratios below 1 are better than Boehm's full collector. Boehm's pause is its stop-the-world time (incremental"
  echo "marking steps and lazy sweeping inside allocation calls are not counted); malloc-jemalloc frees every tree explicitly."
} | tee "$out/table.md"
