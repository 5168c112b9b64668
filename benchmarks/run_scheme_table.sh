#!/usr/bin/env bash
# The barrier comparison on the Scheme benchmark programs (benchmarks/scheme/*.scm):
# gcvm-scheme under every write barrier available here, on Boehm GC (full and
# incremental), and Guile 3.0 (interpreted and compiled) on the same programs. Prints
# one table (time per program per configuration, geometric mean, GC share, max pause)
# and writes it, the raw runs and a plot (PNG) under BUILD/scheme-bench/ (with --quick:
# BUILD/scheme-bench-quick/).
#
# Usage: run_scheme_table.sh BUILD [--quick] [--reps=N] [--programs="A B"] [--configs="A B"]
# (--help says more). Each program runs N times (default 3) per configuration, each run
# its own process; the table shows medians. Every run must print "<program>: ok" (its own
# result check).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benchmarks/scheme_table_options.sh
. "$root/benchmarks/scheme_table_options.sh"
usage_line='run_scheme_table.sh BUILD [--quick] [--reps=N] [--programs="A B"] [--configs="A B"]'
case ${1:-} in
  --help | -h) scheme_table_help run_scheme_table.sh "$usage_line" ;;
  '' | -*) scheme_table_bad run_scheme_table.sh "the first argument is the build directory" ;;
esac
build=$1
shift
parse_scheme_table_options run_scheme_table.sh "$usage_line" "$@"
bin=$build/bin/gcvm-scheme
gcvm_info=$build/bin/gcvm
[ -x "$bin" ] || scheme_table_bad run_scheme_table.sh "no $bin: build first (scripts/build.sh $build)"
src=$root/benchmarks/scheme
if [ "$quick" = 1 ]; then
  out=$build/scheme-bench-quick
  export GCVM_BENCH_SIZE=quick
else
  out=$build/scheme-bench
  unset GCVM_BENCH_SIZE
fi
mkdir -p "$out"
wanted() { [ -z "$configs_wanted" ] || [[ " $configs_wanted " == *" $1 "* ]]; }

# ---- Which configurations run here ----
configs=()
notes=()
for b in none card mprotect uffd soft-dirty gcvm-dirty gcvm-protect; do
  wanted "gcvm/$b" || continue
  if gc_err=$("$bin" --barrier="$b" /dev/null 2>&1); then
    if [ "${b#gcvm-}" != "$b" ] && "$gcvm_info" info 2>/dev/null | grep -q "guest ring 0: *emulated"; then
      notes+=("gcvm/$b: skipped here: guest ring 0 is emulated (about 1 us per instruction); ctest runs it on a small program (label gcvm-barrier)")
      continue
    fi
    configs+=("gcvm/$b")
  else
    notes+=("gcvm/$b: skipped: ${gc_err#gcvm-scheme: }")
  fi
done
for c in boehm boehm-incremental; do
  if wanted $c; then configs+=("$c"); fi
done
guile_bin=$(command -v guile || true)
guile_version=""
if ! wanted guile-interpreted && ! wanted guile-compiled; then
  guile_bin=""
elif [ -n "$guile_bin" ]; then
  for c in guile-interpreted guile-compiled; do
    if wanted $c; then configs+=("$c"); fi
  done
  guile_version=$("$guile_bin" --version | head -1)
else
  notes+=("guile: skipped: guile is not installed (apt-get install guile-3.0)")
fi
[ ${#configs[@]} -gt 0 ] || scheme_table_bad run_scheme_table.sh "none of the configurations asked for runs here: ${notes[*]}"

# Guile: a wrapper loads the program and reports the same figures as --bench-stats.
guile_wrapper=$out/guile-wrapper.scm
cat >"$guile_wrapper" <<'EOF'
(define start (get-internal-real-time))
(load (cadr (command-line)))
(let ((s (gc-stats)) (ms (lambda (t) (exact->inexact (/ (* 1000 t) internal-time-units-per-second)))))
  (format (current-error-port) "gcvm-scheme-stats run_ms=~a gc_ms=~a max_pause_ms=- collections=~a~%"
          (ms (- (get-internal-real-time) start)) (ms (assq-ref s 'gc-time-taken)) (assq-ref s 'gc-times)))
EOF
# Compiled code lives in Guile's cache; the interpreted runs get an empty cache of their
# own (Guile loads a cached .go even with --no-auto-compile).
compiled_cache=$out/guile-cache
interpreted_cache=$out/guile-cache-empty
rm -rf "$interpreted_cache"

run_one() { # config program -> prints "run_ms gc_ms max_pause_ms" or fails
  local config=$1 prog=$2 file=$src/$2.scm
  local cmd
  case $config in
    gcvm/*) cmd=("$bin" --barrier="${config#gcvm/}" --bench-stats "$file") ;;
    boehm) cmd=("$bin" --gc=boehm --bench-stats "$file") ;;
    boehm-incremental) cmd=("$bin" --gc=boehm --boehm-incremental --bench-stats "$file") ;;
    guile-interpreted)
      cmd=(env XDG_CACHE_HOME="$interpreted_cache" "$guile_bin" --no-auto-compile "$guile_wrapper" "$file") ;;
    guile-compiled) cmd=(env XDG_CACHE_HOME="$compiled_cache" "$guile_bin" "$guile_wrapper" "$file") ;;
  esac
  local stdout stderr_file rc
  stderr_file=$(mktemp)
  set +e
  stdout=$("${cmd[@]}" </dev/null 2>"$stderr_file")
  rc=$?
  set -e
  local stats
  stats=$(grep -o 'gcvm-scheme-stats.*' "$stderr_file" | tail -1)
  if [ $rc -ne 0 ] || ! grep -qx "$prog: ok" <<<"$stdout" || [ -z "$stats" ]; then
    echo "run_scheme_table.sh: $config $prog failed (exit status $rc):" >&2
    grep -v WARNING "$stderr_file" | tail -5 >&2
    rm -f "$stderr_file"
    return 1
  fi
  rm -f "$stderr_file"
  sed -E 's/.*run_ms=([^ ]+) gc_ms=([^ ]+) max_pause_ms=([^ ]+).*/\1 \2 \3/' <<<"$stats"
}

# ---- Progress on stderr: what runs now, and an estimate of the time left ----
# A cell measured in an earlier repetition is expected to take as long again; a cell not
# yet measured, as long as the mean of its configuration's runs so far (configurations
# differ by up to 20 times), else the mean of all runs so far.
declare -A cell_ms config_ms config_runs
progress_start=$(date +%s%N)
progress_tty=0
[ -t 2 ] && progress_tty=1
fmt_time() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
progress() { # message, estimated ms left ("" = unknown)
  local elapsed=$(( ($(date +%s%N) - progress_start) / 1000000000 )) left=""
  [ -n "$2" ] && left=", about $(fmt_time $(($2 / 1000))) left"
  if [ "$progress_tty" = 1 ]; then
    printf '\r\033[K%s  [%s elapsed%s]' "$1" "$(fmt_time "$elapsed")" "$left" >&2
  else
    printf '%s  [%s elapsed%s]\n' "$1" "$(fmt_time "$elapsed")" "$left" >&2
  fi
}
record_run() { # config program wall_ms
  cell_ms[$1/$2]=$3
  config_ms[$1]=$(( ${config_ms[$1]:-0} + $3 ))
  config_runs[$1]=$(( ${config_runs[$1]:-0} + 1 ))
  all_ms=$((all_ms + $3))
  all_runs=$((all_runs + 1))
}
estimate_left() { # index of the first run not done -> ms, or "" before any run
  [ "$all_runs" -gt 0 ] || { echo ""; return; }
  local i=0 sum=0 r c p
  for r in $(seq 1 "$reps"); do
    for c in "${configs[@]}"; do
      for p in $programs; do
        i=$((i + 1))
        [ "$i" -ge "$1" ] || continue
        if [ -n "${cell_ms[$c/$p]:-}" ]; then
          sum=$((sum + ${cell_ms[$c/$p]}))
        elif [ "${config_runs[$c]:-0}" -gt 0 ]; then
          sum=$((sum + ${config_ms[$c]} / ${config_runs[$c]}))
        else
          sum=$((sum + all_ms / all_runs))
        fi
      done
    done
  done
  echo "$sum"
}
all_ms=0
all_runs=0

# Compile for guile-compiled first, so that compiling is not timed.
if [[ " ${configs[*]} " == *" guile-compiled "* ]]; then
  for p in $programs; do
    progress "compiling $p for guile-compiled" ""
    XDG_CACHE_HOME="$compiled_cache" "$guile_bin" "$guile_wrapper" "$src/$p.scm" >/dev/null 2>&1 || true
  done
fi

raw=$out/runs.tsv
printf 'config\tprogram\trep\trun_ms\tgc_ms\tmax_pause_ms\n' >"$raw"
total=$(( ${#configs[@]} * $(wc -w <<<"$programs") * reps ))
n=0
failed=0
for r in $(seq 1 "$reps"); do
  for c in "${configs[@]}"; do
    for p in $programs; do
      n=$((n + 1))
      progress "[$n/$total] $c $p (run $r of $reps)" "$(estimate_left "$n")"
      t0=$(now_ms)
      if line=$(run_one "$c" "$p"); then
        read -r t g m <<<"$line"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$p" "$r" "$t" "$g" "$m" >>"$raw"
      else
        failed=$((failed + 1))
      fi
      record_run "$c" "$p" $(($(now_ms) - t0))
    done
  done
done
progress "[$total/$total] done" ""
[ "$progress_tty" = 1 ] && printf '\n' >&2

# ---- The table: medians per program, geometric mean, GC share, max pause ----
table=$out/table.md
awk -F'\t' -v programs="$programs" -v configs="$(IFS='|'; echo "${configs[*]}")" '
  NR == 1 { next }
  { key = $1 SUBSEP $2; n[key]++; t[key, n[key]] = $4; g[key, n[key]] = $5; m[key, n[key]] = $6 }
  function median(arr, key, cnt,   i, j, v, tmp) {
    for (i = 1; i <= cnt; i++) v[i] = arr[key, i] + 0
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { tmp = v[i]; v[i] = v[j]; v[j] = tmp }
    return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
  }
  END {
    np = split(programs, P, " "); nc = split(configs, C, "|")
    for (ci = 1; ci <= nc; ci++) {
      c = C[ci]; logsum = 0; cnt = 0; tsum = 0; gsum = 0; maxp = -1
      for (pi = 1; pi <= np; pi++) {
        key = c SUBSEP P[pi]
        if (!(key in n)) { med[c, pi] = "fail"; continue }
        tm = median(t, key, n[key]); gm = median(g, key, n[key])
        med[c, pi] = tm; logsum += log(tm); cnt++; tsum += tm; gsum += gm
        for (i = 1; i <= n[key]; i++) if (m[key, i] != "-" && m[key, i] + 0 > maxp) maxp = m[key, i] + 0
      }
      geo[c] = cnt == np ? exp(logsum / cnt) : 0
      share[c] = tsum > 0 ? 100 * gsum / tsum : 0
      pause[c] = maxp
    }
    ref = C[1]
    if ("boehm" in geo && geo["boehm"] > 0) ref = "boehm"
    if ("guile-interpreted" in geo && geo["guile-interpreted"] > 0) ref = "guile-interpreted"
    printf "| configuration |"
    for (pi = 1; pi <= np; pi++) printf " %s |", P[pi]
    printf " geo. mean (ms) | vs %s | GC share | max pause (ms) |\n", ref
    printf "|---|"; for (pi = 1; pi <= np + 4; pi++) printf "---:|"; printf "\n"
    for (ci = 1; ci <= nc; ci++) {
      c = C[ci]; printf "| %s |", c
      for (pi = 1; pi <= np; pi++) printf (med[c, pi] == "fail" ? " fail |" : " %.0f |"), med[c, pi]
      if (geo[c] > 0 && geo[ref] > 0) printf " %.0f | %.2fx |", geo[c], geo[c] / geo[ref]
      else if (geo[c] > 0) printf " %.0f | – |", geo[c]; else printf " – | – |"
      printf " %.0f%% |", share[c]
      if (pause[c] >= 0) printf " %.2f |\n", pause[c]; else printf " – |\n"
    }
  }' "$raw" >"$table"

if [ "$reps" = 1 ]; then runs_phrase="one run per cell"; else runs_phrase="median of $reps runs per cell"; fi
if [ "$quick" = 1 ]; then
  heading="QUICK RUN (--quick): smaller inputs, $runs_phrase. A first look only: not comparable with a full run's figures."
  subtitle="quick run: smaller inputs, $runs_phrase"
else
  heading="gcvm-scheme on the benchmark programs: $runs_phrase, each run in its own process."
  subtitle="full run: $runs_phrase"
fi

# ---- The plot: time per program per configuration, and the longest pauses ----
plot=$out/scheme-barriers.png
if command -v gnuplot >/dev/null; then
  "$root/benchmarks/plot_scheme_table.sh" "$table" "$plot" "$subtitle" || plot=""
else
  echo "run_scheme_table.sh: gnuplot is not installed: no plot (apt-get install gnuplot-nox)" >&2
  plot=""
fi

{
  echo "$heading"
  echo "Time is the program's run (without start-up); GC share is collection time over run time"
  echo "(Boehm: stop-the-world pauses, its incremental work inside allocation is not counted;"
  echo "Guile: its collector's gc-time-taken); max pause is the longest collection pause over all"
  echo "programs (Guile reports none). ${guile_version:+Guile: $guile_version.}"
  echo
  cat "$table"
  echo
  for note in "${notes[@]}"; do echo "- $note"; done
  [ -n "$plot" ] && echo && echo "Plot: $plot"
  echo "Raw runs: $raw"
} | tee "$out/report.md"
if [ "$failed" -gt 0 ]; then
  echo "run_scheme_table.sh: $failed run(s) failed (see above); their cells say fail" >&2
  exit 1
fi
