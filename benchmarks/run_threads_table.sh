#!/usr/bin/env bash
# The C workloads on several threads (gcvm-threads-bench): GCBench and binary-trees on 1, 2
# and 4 mutator threads and 1 and 2 collector threads, on gcvm (card and uffd barriers),
# Boehm GC (its threads registered, 1 or 2 marker threads: parallel marking) and jemalloc.
# Prints one table per workload with, for each mutator count x collector threads x
# configuration: the wall time, the CPU time (user + system, all threads), the throughput,
# the speed-up over 1 mutator thread, the wall and CPU times relative to Boehm's and the
# longest pause. Writes the table, the merged results and each process's JSON under
# BUILD/threads-bench (with --quick: BUILD/threads-bench-quick).
#
# Usage: run_threads_table.sh BUILD [--quick] [--reps=N] [--depth=N] [--gcbench-shrink=N]
# Each workload, configuration and collector-thread count runs in a process of its own
# (Boehm's marker count is set once per process); a cell is the median of N repetitions
# (default 3; --quick: 1, and small workloads: --depth=8 --gcbench-shrink=6).
set -euo pipefail
usage="usage: run_threads_table.sh BUILD [--quick] [--reps=N] [--depth=N] [--gcbench-shrink=N]"
# shellcheck source=benchmarks/table_script_start.sh
. "$(dirname "$0")/table_script_start.sh"
table_build_dir "${1:-}"
build=$1
shift
quick=0 reps='' depth='' shrink=''
number() { [[ $2 =~ ^[0-9]+$ ]] || bad "$1 wants a number, not '$2'"; echo "$2"; }
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    --reps=*) reps=$(number --reps "${a#--reps=}") ;;
    --depth=*) depth=$(number --depth "${a#--depth=}") ;;
    --gcbench-shrink=*) shrink=$(number --gcbench-shrink "${a#--gcbench-shrink=}") ;;
    *) bad "unknown option '$a'" ;;
  esac
done
[ "${reps:-1}" -ge 1 ] || bad "--reps wants at least 1"
if [ "$quick" = 1 ]; then
  reps=${reps:-1} depth=${depth:-8} shrink=${shrink:-6} out=$build/threads-bench-quick
else
  reps=${reps:-3} depth=${depth:-16} shrink=${shrink:-0} out=$build/threads-bench
fi
bench=$build/benchmarks/gcvm-threads-bench
[ -x "$bench" ] || bad "no $bench: build first (scripts/build.sh $build)"
command -v jq >/dev/null || bad "jq is not installed (apt-get install jq)"
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.log

workloads=(gcbench binary-trees)
configs=(gcvm-card gcvm-uffd boehm malloc)
runs=()
for w in "${workloads[@]}"; do
  for c in "${configs[@]}"; do
    for g in 1 2; do
      [ "$c" = malloc ] && [ "$g" = 2 ] && continue # no collector threads to vary
      runs+=("$w $c $g")
    done
  done
done

flags=(--depth="$depth" --gcbench-shrink="$shrink")
n=0
for r in "${runs[@]}"; do
  read -r w c g <<<"$r"
  n=$((n + 1))
  name=$w--$c--gc$g
  printf '[%2d/%d] %s/%s, %s collector thread(s), 1, 2 and 4 mutators\n' "$n" "${#runs[@]}" \
    "$w" "$c" "$g" >&2
  if ! "$bench" "${flags[@]}" --benchmark_filter="^$w/$c/threads:[0-9]+/gc-threads:$g/" \
      --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
      --benchmark_out="$out/$name.json" --benchmark_out_format=json \
      >/dev/null 2>"$out/$name.log"; then
    echo "run_threads_table.sh: $w/$c on $g collector thread(s) failed: $(tail -n 1 "$out/$name.log")" >&2
    exit 1
  fi
done

# One record per workload, configuration, mutator and collector threads: the medians, or
# why the run did not happen.
jq -s '
  [ .[] | .benchmarks[]
    | select((.aggregate_name // "median") == "median" or .error_occurred == true)
    | (.run_name // .name | sub("/iterations.*"; "") | split("/")) as $n
    | { workload: $n[0], config: $n[1],
        threads: ($n[2] | ltrimstr("threads:") | tonumber),
        gc_threads: ($n[3] | ltrimstr("gc-threads:") | tonumber),
        wall_ms: (if .error_occurred then null else .real_time end),
        cpu_ms, mnodes_per_s, max_pause_ms, heap_gc_threads: .gc_threads,
        error: (if .error_occurred then .error_message else null end) } ]
  | unique_by([.workload, .config, .threads, .gc_threads])' "$out"/*.json >"$out/results.json"

if jq -e 'any(.[]; .error != null and (.error | test("^skipped") | not))' "$out/results.json" \
    >/dev/null; then
  echo "run_threads_table.sh: some runs failed:" >&2
  jq -r '.[] | select(.error != null) | "  \(.workload)/\(.config)/\(.threads)/\(.gc_threads): \(.error)"' \
    "$out/results.json" >&2
  exit 1
fi

table() {
  jq -r '
    def f2: (. * 100 | round) as $c
      | "\($c / 100 | floor).\($c % 100 | tostring | if length < 2 then "0" + . else . end)";
    def r(x): if x == null then "-" else (x | f2) end;
    def ratio(a; b): if a == null or b == null or b == 0 then "-" else (a / b | f2) + "x" end;
    def pretty: {"gcvm-card": "gcvm card", "gcvm-uffd": "gcvm uffd", "boehm": "Boehm", "malloc": "jemalloc"}[.];
    . as $all
    | def find($w; $c; $t; $g):
        ($all | map(select(.workload == $w and .config == $c and .threads == $t
                           and .gc_threads == (if $c == "malloc" then 1 else $g end)))[0]);
    ($all | map(.workload) | unique | sort | reverse)[] as $w
    | "",
      "### \($w)",
      "",
      "| mutators | collector threads | configuration | wall (ms) | CPU (ms) | Mnodes/s | speed-up over 1 mutator | wall vs Boehm | CPU vs Boehm | max pause (ms) |",
      "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
      ( [1, 2, 4][] as $t | [1, 2][] as $g | ["gcvm-card", "gcvm-uffd", "boehm", "malloc"][] as $c
        | find($w; $c; $t; $g) as $x
        | select($x != null)
        | find($w; $c; 1; $g) as $one
        | find($w; "boehm"; $t; $g) as $b
        | if $x.error then "| \($t) | \($g) | \($c | pretty) | \($x.error) | | | | | | |"
          else "| \($t) | \($g) | \($c | pretty) | \(r($x.wall_ms)) | \(r($x.cpu_ms)) | \(r($x.mnodes_per_s)) | \(ratio($x.mnodes_per_s; $one.mnodes_per_s)) | \(ratio($x.wall_ms; $b.wall_ms)) | \(ratio($x.cpu_ms; $b.cpu_ms)) | \(r($x.max_pause_ms)) |"
          end )' "$out/results.json"
}

if [ "$reps" = 1 ]; then runs_phrase="one run per cell"; else runs_phrase="median of $reps runs per cell"; fi
size_phrase="GCBench --gcbench-shrink=$shrink, binary-trees --depth=$depth"
[ "$quick" = 1 ] && size_phrase="QUICK RUN (--quick): small workloads ($size_phrase), a check that it runs, not a measurement"
{
  echo "gcvm-threads-bench: $size_phrase; $runs_phrase, one process per workload, configuration and collector-thread count."
  echo "Machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "Each mutator thread runs the whole program, so 4 mutators do 4 times the work of 1: the"
  echo "speed-up is the throughput (tree nodes allocated per second, all threads) over that of 1"
  echo "mutator with the same collector threads, at most the number of free cores. CPU time is"
  echo "user + system of all threads. Collector threads: gcvm's gc_config.parallelism (its minor"
  echo "collections; major ones mark on a background thread), Boehm's marker threads (2: parallel"
  echo "marking). jemalloc has no collector: its rows repeat the one run. Ratios to Boehm below 1"
  echo "are faster than Boehm (its CPU time includes its marker threads). On a machine that other"
  echo "work loads, wall times and speed-ups are only indicative; CPU times hold up better."
  table
} | tee "$out/table.md"
