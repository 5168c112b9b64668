#!/usr/bin/env bash
# Runs gcvm-bench once per configuration, each in its own process (peak RSS is a
# process's high-water mark), and prints one Markdown table per workload with ratios to
# Boehm's full collector. Results (JSON per run, the merged JSON and the table) go to
# BUILD_DIR/bench-results.
#
# The gcvm-dirty and gcvm-protect rows run in guest mode and are labelled "hardware" or
# "emulated". Where ring 0 is emulated they cannot run the full workloads in reasonable
# time: they are skipped in the main table, and a second table runs them beside
# gcvm-card on small workloads (the emulator's times, to show they run and what they
# find, not how fast they are).
# Usage: run_table.sh BUILD_DIR [--heap-mb=N] [--nursery-kb=N] [--depth=N]
# GCVM_BENCH_REPS (default 3): repetitions per configuration; the median is reported.
set -euo pipefail
build=${1:?usage: run_table.sh BUILD_DIR [gcvm-bench flags]}
shift
bench=$build/benchmarks/gcvm-bench
[ -x "$bench" ] || { echo "run_table.sh: $bench not built" >&2; exit 1; }
out=$build/bench-results
mkdir -p "$out"
rm -rf "$out"/*.json "$out"/emulated
reps=${GCVM_BENCH_REPS:-3}
configs=(gcvm-none gcvm-card gcvm-mprotect gcvm-uffd gcvm-soft-dirty gcvm-dirty gcvm-protect
         boehm-full boehm-incremental malloc-jemalloc)
workloads=(GCBench BinaryTrees)

# run_pass DIR REPS "CONFIG..." FLAGS...: one process per workload and configuration,
# then DIR/results.json with one record per run (the median, or why it did not run).
run_pass() {
  local dir=$1 reps=$2
  local -a cs
  read -r -a cs <<<"$3"
  shift 3
  mkdir -p "$dir"
  local total=$((${#cs[@]} * ${#workloads[@]})) n=0 w c start
  for w in "${workloads[@]}"; do
    for c in "${cs[@]}"; do
      n=$((n + 1))
      printf '[%2d/%d] %-30s' "$n" "$total" "$w/$c" >&2
      start=$(date +%s.%N)
      if ! "$bench" "$@" --benchmark_filter="^$w/$c/" --benchmark_repetitions="$reps" \
          --benchmark_report_aggregates_only=true --benchmark_out="$dir/$w--$c.json" \
          --benchmark_out_format=json >/dev/null 2>"$dir/$w--$c.log"; then
        echo " failed: $(tail -n 1 "$dir/$w--$c.log")" >&2
        exit 1
      fi
      printf ' %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo 0)" >&2
    done
  done
  jq -s '
    [ .[] | .benchmarks[]
      | select((.aggregate_name // "median") == "median" or .error_occurred == true)
      | (.run_name // .name | sub("/iterations.*"; "")) as $n
      | { workload: ($n | split("/")[0]), config: ($n | split("/")[1]),
          time_ms: (if .error_occurred then null else .real_time end),
          max_pause_ms: .max_pause_ms, collections: .collections, peak_rss_mb: .peak_rss_mb,
          minor: .minor, major: .major, gc_ms: .gc_ms, dirty_units: .dirty_units,
          traps: .barrier_traps, hardware: .hardware,
          error: (if .error_occurred then .error_message else null end) } ]
    | unique_by([.workload, .config])' "$dir"/*--*.json >"$dir/results.json"
}

# print_tables RESULTS BASE "CONFIG...": one Markdown table per workload, ratios to BASE.
print_tables() {
  jq -r --arg base "$2" --argjson order "$(printf '%s\n' $3 | jq -R . | jq -s .)" '
    def r(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
    def ratio(a; b): if a == null or b == null or b == 0 then "-" else ((a / b) * 100 | round / 100 | tostring) + "x" end;
    def rowname: .config + (if .hardware == null then "" elif .hardware >= 1 then " (hardware)" else " (emulated)" end);
    group_by(.workload)[] as $rows
    | ($rows | map(select(.config == $base))[0]) as $b
    | "",
      "### \($rows[0].workload)",
      "",
      "| configuration | time (ms) | time vs \($base) | max pause (ms) | pause vs \($base) | GC time (ms) | collections | dirty units | traps | peak RSS (MiB) |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      ( $order[] as $c | $rows[] | select(.config == $c)
        | if .error then "| \(.config) | \(.error) | | | | | | | | |"
          else "| \(rowname) | \(r(.time_ms)) | \(ratio(.time_ms; $b.time_ms)) | \(r(.max_pause_ms)) | \(ratio(.max_pause_ms; $b.max_pause_ms)) | \(r(.gc_ms)) | \(r(.collections)) | \(r(.dirty_units)) | \(r(.traps)) | \(r(.peak_rss_mb)) |"
          end )
  ' "$1"
}

run_pass "$out" "$reps" "${configs[*]}" "$@"
emulated=$(jq '[.[] | select(.config == "gcvm-dirty" and (.error // "" | test("emulated")))] | length' \
  "$out/results.json")
small_flags=(--gcbench-shrink=7 --depth=8 --nursery-kb=64 --heap-mb=16 --emulated)
small_configs="gcvm-card gcvm-dirty gcvm-protect"
if [ "$emulated" -gt 0 ]; then
  echo "Ring 0 is emulated here: the gcvm-dirty and gcvm-protect rows run on small workloads" >&2
  run_pass "$out/emulated" 1 "$small_configs" "${small_flags[@]}"
fi

{
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
  echo "gcvm-bench $* ; median of $reps runs per configuration, each in its own process"
  print_tables "$out/results.json" boehm-full "${configs[*]}"
  echo
  echo "Ratios below 1 are better than Boehm's full collector. Boehm's pause is its stop-the-world time (incremental"
  echo "marking steps and lazy sweeping inside allocation calls are not counted); malloc-jemalloc frees every tree explicitly."
  if [ "$emulated" -gt 0 ]; then
    echo
    echo "## The gcvm barriers on this machine's emulated ring 0"
    echo
    echo "gcvm-bench ${small_flags[*]} ; one run each. Guest ring 0 is emulated here (about 1 us per"
    echo "instruction), so these times are the emulator's, not the barriers': the rows show that"
    echo "the workloads run correctly in guest mode and what each barrier finds (dirty pages, traps)."
    print_tables "$out/emulated/results.json" gcvm-card "$small_configs"
  fi
} | tee "$out/table.md"
