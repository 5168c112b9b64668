#!/usr/bin/env bash
# The multi-threaded Scheme programs (benchmarks/scheme/threads/*.scm, SRFI-18) on 1 and 2
# threads: gcvm-scheme under every write barrier that allows several mutator threads here,
# on Boehm GC, and on Guile 3 (compiled, POSIX threads). Prints one table with the wall
# time and the CPU time (user + system, all threads) of each thread count and the speed-up
# of 2 threads over 1, and writes it and the raw runs under BUILD/scheme-threads/ (with
# --quick: BUILD/scheme-threads-quick/).
#
# Usage: run_scheme_threads_table.sh BUILD [--quick] [--reps=N]
# Each cell is the median of N runs (default 3), each its own process. Every run must
# print "<program>: ok" (its own result check).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: run_scheme_threads_table.sh BUILD [--quick] [--reps=N]"
# shellcheck source=benchmarks/table_script_start.sh
. "$(dirname "$0")/table_script_start.sh"
table_build_dir "${1:-}"
build=$1
shift
quick=0 reps=3
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    --reps=*)
      reps=${a#--reps=}
      [[ $reps =~ ^[1-9][0-9]*$ ]] || bad "--reps wants a positive number, not '$reps'" ;;
    --programs=* | --configs=*) ;; # the barrier table's options: not used here
    *) bad "unknown option '$a'" ;;
  esac
done
bin=$build/bin/gcvm-scheme
[ -x "$bin" ] || bad "no $bin: build first (scripts/build.sh $build)"
src=$root/benchmarks/scheme/threads
programs=$(cd "$src" && ls ./*.scm | sed 's|^\./||; s|\.scm$||' | tr '\n' ' ')
[ -n "$programs" ] || bad "no programs in $src"
if [ "$quick" = 1 ]; then
  out=$build/scheme-threads-quick
  export GCVM_BENCH_SIZE=quick
else
  out=$build/scheme-threads
  unset GCVM_BENCH_SIZE
fi
mkdir -p "$out"

# The configurations: the host barriers that run here (the gcvm barriers allow one
# mutator thread), Boehm GC, Guile.
configs=()
notes=()
for b in none card mprotect uffd soft-dirty; do
  if gc_err=$("$bin" --barrier="$b" /dev/null 2>&1); then
    configs+=("gcvm/$b")
  else
    notes+=("gcvm/$b: skipped: ${gc_err#gcvm-scheme: }")
  fi
done
configs+=(boehm)
guile_bin=$(command -v guile || true)
if [ -n "$guile_bin" ]; then
  configs+=(guile)
else
  notes+=("guile: skipped: guile is not installed (apt-get install guile-3.0)")
fi
notes+=("gcvm/gcvm-dirty, gcvm/gcvm-protect: not run: the gcvm barriers allow one mutator thread")

run_one() { # config program threads -> prints "wall_ms cpu_ms" or fails
  local config=$1 prog=$2 threads=$3 file=$src/$2.scm cmd
  case $config in
    gcvm/*) cmd=("$bin" --barrier="${config#gcvm/}" "$file" "$threads") ;;
    boehm) cmd=("$bin" --gc=boehm "$file" "$threads") ;;
    guile) cmd=("$guile_bin" "$file" "$threads") ;;
  esac
  local stdout err_file times_file rc
  err_file=$(mktemp)
  times_file=$(mktemp)
  set +e
  # bash's time: wall, and the CPU time of the process and its threads.
  stdout=$( { TIMEFORMAT='%R %U %S'; time "${cmd[@]}" </dev/null 2>"$err_file"; } 2>"$times_file")
  rc=$?
  set -e
  if [ $rc -ne 0 ] || ! grep -qx "$prog: ok" <<<"$stdout"; then
    echo "run_scheme_threads_table.sh: $config $prog on $threads thread(s) failed (exit status $rc):" >&2
    grep -v WARNING "$err_file" | tail -5 >&2
    rm -f "$err_file" "$times_file"
    return 1
  fi
  awk '{ printf "%.0f %.0f\n", $1 * 1000, ($2 + $3) * 1000 }' "$times_file"
  rm -f "$err_file" "$times_file"
}

# Guile compiles a program on its first run: once each, untimed.
if [[ " ${configs[*]} " == *" guile "* ]]; then
  for p in $programs; do
    "$guile_bin" "$src/$p.scm" 1 </dev/null >/dev/null 2>&1 || true
  done
fi

raw=$out/runs.tsv
printf 'config\tprogram\tthreads\trep\twall_ms\tcpu_ms\n' >"$raw"
total=$(( ${#configs[@]} * $(wc -w <<<"$programs") * 2 * reps ))
n=0
failed=0
for r in $(seq 1 "$reps"); do
  for c in "${configs[@]}"; do
    for p in $programs; do
      for t in 1 2; do
        n=$((n + 1))
        echo "[$n/$total] $c $p on $t thread(s) (run $r of $reps)" >&2
        if line=$(run_one "$c" "$p" "$t"); then
          read -r w u <<<"$line"
          printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$p" "$t" "$r" "$w" "$u" >>"$raw"
        else
          failed=$((failed + 1))
        fi
      done
    done
  done
done

table=$out/table.md
awk -F'\t' -v programs="$programs" -v configs="$(IFS='|'; echo "${configs[*]}")" '
  NR == 1 { next }
  { key = $1 SUBSEP $2 SUBSEP $3; n[key]++; w[key, n[key]] = $5; u[key, n[key]] = $6 }
  function median(arr, key, cnt,   i, j, v, tmp) {
    for (i = 1; i <= cnt; i++) v[i] = arr[key, i] + 0
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { tmp = v[i]; v[i] = v[j]; v[j] = tmp }
    return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
  }
  function cell(arr, key) { return (key in n) ? sprintf("%.2f", median(arr, key, n[key]) / 1000) : "fail" }
  END {
    np = split(programs, P, " "); nc = split(configs, C, "|")
    print "| program | configuration | wall, 1 thread (s) | wall, 2 threads (s) | speed-up | CPU, 1 thread (s) | CPU, 2 threads (s) |"
    print "|---|---|---:|---:|---:|---:|---:|"
    for (pi = 1; pi <= np; pi++) for (ci = 1; ci <= nc; ci++) {
      k1 = C[ci] SUBSEP P[pi] SUBSEP 1; k2 = C[ci] SUBSEP P[pi] SUBSEP 2
      up = ((k1 in n) && (k2 in n)) ? sprintf("%.2fx", median(w, k1, n[k1]) / median(w, k2, n[k2])) : "–"
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", P[pi], C[ci], cell(w, k1), cell(w, k2), up, cell(u, k1), cell(u, k2)
    }
  }' "$raw" >"$table"

if [ "$reps" = 1 ]; then runs_phrase="one run per cell"; else runs_phrase="median of $reps runs per cell"; fi
size_phrase="full size"
[ "$quick" = 1 ] && size_phrase="QUICK RUN (--quick): smaller inputs, a first look only"
{
  echo "The multi-threaded Scheme programs (SRFI-18) on 1 and 2 threads: $size_phrase, $runs_phrase."
  echo "Wall time of the whole process (start-up included); CPU time is user + system of all its"
  echo "threads; speed-up is the wall time of 1 thread over that of 2. $(nproc) CPU(s) here; load"
  echo "average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows the 2-thread runs most)."
  echo
  cat "$table"
  echo
  for note in "${notes[@]}"; do echo "- $note"; done
  echo "Raw runs: $raw"
} | tee "$out/report.md"
if [ "$failed" -gt 0 ]; then
  echo "run_scheme_threads_table.sh: $failed run(s) failed (see above); their cells say fail" >&2
  exit 1
fi
