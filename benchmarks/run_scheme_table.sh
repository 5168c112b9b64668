#!/usr/bin/env bash
# The barrier comparison on the Scheme benchmark programs (benchmarks/scheme/*.scm):
# gcvm-scheme under every write barrier available here, on Boehm GC (full and
# incremental), and Guile 3.0 (interpreted and compiled) on the same programs. Prints
# one table (time per program per configuration, geometric mean, GC share, max pause)
# and writes it, the raw runs and a plot (PNG) under BUILD/scheme-bench/.
#
# Usage: run_scheme_table.sh BUILD [--reps=N] [--programs="trees deriv ..."]
# Each program runs N times (default 3) per configuration, each run its own process; the
# table shows medians. Every run must print "<program>: ok" (its own result check).
set -euo pipefail
build=$1
shift
reps=3
programs=""
for a in "$@"; do
  case $a in
    --reps=*) reps=${a#--reps=} ;;
    --programs=*) programs=${a#--programs=} ;;
    *) echo "run_scheme_table.sh: unknown option '$a' (use --reps=N or --programs=\"a b\")" >&2; exit 2 ;;
  esac
done
case $reps in '' | *[!0-9]* | 0) echo "run_scheme_table.sh: --reps needs a positive number" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bin/gcvm-scheme
gcvm_info=$build/bin/gcvm
src=$root/benchmarks/scheme
out=$build/scheme-bench
mkdir -p "$out"
if [ -z "$programs" ]; then
  programs=$(cd "$src" && ls ./*.scm | sed 's|^\./||; s|\.scm$||' | tr '\n' ' ')
fi
for p in $programs; do
  [ -f "$src/$p.scm" ] || { echo "run_scheme_table.sh: no program $src/$p.scm" >&2; exit 2; }
done

# ---- Which configurations run here ----
configs=()
notes=()
for b in none card mprotect uffd soft-dirty gcvm-dirty gcvm-protect; do
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
configs+=(boehm boehm-incremental)
guile_bin=$(command -v guile || true)
if [ -n "$guile_bin" ]; then
  configs+=(guile-interpreted guile-compiled)
  guile_version=$("$guile_bin" --version | head -1)
else
  notes+=("guile: skipped: guile is not installed (apt-get install guile-3.0)")
fi

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

# Compile for guile-compiled first, so that compiling is not timed.
if [ -n "$guile_bin" ]; then
  for p in $programs; do
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
      printf '\r[%d/%d] %-22s %-10s run %d' "$n" "$total" "$c" "$p" "$r" >&2
      if line=$(run_one "$c" "$p"); then
        read -r t g m <<<"$line"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$p" "$r" "$t" "$g" "$m" >>"$raw"
      else
        failed=$((failed + 1))
      fi
    done
  done
done
printf '\r%60s\r' "" >&2

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
    ref = ("guile-interpreted" in geo && geo["guile-interpreted"] > 0) ? "guile-interpreted" : "boehm"
    printf "| configuration |"
    for (pi = 1; pi <= np; pi++) printf " %s |", P[pi]
    printf " geo. mean (ms) | vs %s | GC share | max pause (ms) |\n", ref
    printf "|---|"; for (pi = 1; pi <= np + 4; pi++) printf "---:|"; printf "\n"
    for (ci = 1; ci <= nc; ci++) {
      c = C[ci]; printf "| %s |", c
      for (pi = 1; pi <= np; pi++) printf (med[c, pi] == "fail" ? " fail |" : " %.0f |"), med[c, pi]
      if (geo[c] > 0) printf " %.0f | %.2fx |", geo[c], geo[c] / geo[ref]; else printf " – | – |"
      printf " %.0f%% |", share[c]
      if (pause[c] >= 0) printf " %.2f |\n", pause[c]; else printf " – |\n"
    }
  }' "$raw" >"$table"

# ---- The plot: geometric-mean time and max pause per configuration ----
plot=$out/scheme-barriers.png
if command -v gnuplot >/dev/null; then
  awk -F'|' 'NR > 2 { gsub(/ /, "", $2); t = $(NF-4); p = $(NF-1); gsub(/[ ]/, "", t); gsub(/[ ]/, "", p);
                      if (t == "–") next; if (p == "–") p = 0; print $2, t, p }' "$table" >"$out/plot.dat"
  gnuplot <<EOF
set terminal png size 1100,500
set output "$plot"
set multiplot layout 1,2 title "gcvm-scheme: the ${programs// /, } programs (median of $reps runs)"
set style data histograms
set style fill solid 0.7
set boxwidth 0.8
set xtics rotate by -40
set grid ytics
set ylabel "geometric mean of run time (ms)"
plot "$out/plot.dat" using 2:xtic(1) title "time" lc rgb "#3060a0"
set ylabel "max pause (ms)"
plot "$out/plot.dat" using 3:xtic(1) title "max pause" lc rgb "#a04030"
unset multiplot
EOF
else
  echo "run_scheme_table.sh: gnuplot is not installed: no plot (apt-get install gnuplot-nox)" >&2
  plot=""
fi

{
  echo "gcvm-scheme on the benchmark programs: median of $reps runs, each in its own process."
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
