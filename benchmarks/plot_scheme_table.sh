#!/usr/bin/env bash
# Plots a table written by run_scheme_table.sh (its table.md) as a PNG with gnuplot:
# on the left, the run time of each program under each configuration (grouped bars, one
# colour per configuration, log scale: programs and configurations differ by up to 100
# times), with the geometric mean as the last group; on the right, the longest pause of
# each configuration, in the same colours.
#
# Usage: plot_scheme_table.sh TABLE.md OUT.png "SUBTITLE"
set -euo pipefail
if [ $# -ne 3 ] || [ ! -f "$1" ]; then
  echo "usage: plot_scheme_table.sh TABLE.md OUT.png \"SUBTITLE\" (TABLE.md from run_scheme_table.sh)" >&2
  exit 2
fi
table=$1 png=$2 subtitle=$3
command -v gnuplot >/dev/null || {
  echo "plot_scheme_table.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# times.dat: one row per program (and "geo. mean"), one column per configuration;
# pauses.dat: configuration, max pause, colour. "?" is a missing value.
awk -F'|' -v times="$work/times.dat" -v pauses="$work/pauses.dat" '
  function trim(s) { gsub(/^ +| +$/, "", s); return s }
  function colour(c) {
    if (c == "gcvm/none") return "0x9e9ac8"; if (c == "gcvm/card") return "0x08519c";
    if (c == "gcvm/mprotect") return "0x3182bd"; if (c == "gcvm/uffd") return "0x6baed6";
    if (c == "gcvm/soft-dirty") return "0x9ecae1"; if (c == "gcvm/gcvm-dirty") return "0x238b45";
    if (c == "gcvm/gcvm-protect") return "0x74c476"; if (c == "boehm") return "0xd94801";
    if (c == "boehm-incremental") return "0xfdae6b"; if (c == "guile-interpreted") return "0x525252";
    if (c == "guile-compiled") return "0xbdbdbd"; return "0x000000"
  }
  NR == 1 { np = NF - 7; for (i = 1; i <= np; i++) P[i] = trim($(i + 2)); P[np + 1] = "geo. mean"; next }
  NR == 2 { next }
  /^\|/ {
    nc++; C[nc] = trim($2)
    for (i = 1; i <= np + 1; i++) {
      v = trim($(i + 2)); V[nc, i] = (v ~ /^[0-9.]+$/ && v + 0 > 0) ? v : "?"
      if (V[nc, i] != "?" && (tmin == "" || v + 0 < tmin)) tmin = v + 0
      if (V[nc, i] != "?" && v + 0 > tmax) tmax = v + 0
    }
    p = trim($(NF - 1)); if (p ~ /^[0-9.]+$/ && p + 0 > maxp) maxp = p + 0; printf "\"%s\" %s %s\n", C[nc], (p ~ /^[0-9.]+$/) ? p : "?", colour(C[nc]) > pauses
  }
  END {
    printf "program" > times; for (c = 1; c <= nc; c++) printf " \"%s\"", C[c] > times; printf "\n" > times
    for (i = 1; i <= np + 1; i++) {
      printf "\"%s\"", P[i] > times; for (c = 1; c <= nc; c++) printf " %s", V[c, i] > times; printf "\n" > times
    }
    print (maxp > 0 ? maxp * 1.15 : 1) > (times ".maxpause")
    # The time axis: from half the shortest bar, so that it still shows, to above the longest.
    print (tmin > 0 ? tmin / 2 : 1), (tmax > 0 ? tmax * 1.5 : 10) > (times ".range")
    for (c = 1; c <= nc; c++) { x = colour(C[c]); sub(/^0x/, "#", x); printf "%s\n", x > (times ".colours") }
  }' "$table"
configs=$(($(head -1 "$work/times.dat" | wc -w) - 1))
[ "$configs" -gt 0 ] || { echo "plot_scheme_table.sh: no configuration in $table" >&2; exit 1; }
colours=$(tr '\n' ' ' <"$work/times.dat.colours")
pause_top=$(cat "$work/times.dat.maxpause")
have_pauses=$(grep -qE '^"[^"]*" [0-9.]+ ' "$work/pauses.dat" && echo 1 || echo 0)
read -r time_bottom time_top <"$work/times.dat.range"

gnuplot <<EOF
set terminal pngcairo size 1500,620 font "sans,10"
set output "$png"
set datafile missing "?"
colours = "$colours"
set multiplot title "gcvm-scheme benchmarks: run time of each program under each configuration, and the longest pause\n{/*0.9 $subtitle}" font "sans,13"

# Left: time per program, grouped by program.
set origin 0, 0
set size 0.74, 0.93
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.9 border rgb "#404040"
set boxwidth 1
set logscale y
set yrange [$time_bottom:$time_top]
set grid ytics mytics lc rgb "#dddddd"
set ylabel "run time (ms, log scale)"
set xtics nomirror scale 0
set key outside right top vertical samplen 1.5 font "sans,10" title "configuration"
plot for [i=2:$configs + 1] "$work/times.dat" using i:xtic(1) title columnheader(i) lc rgb word(colours, i - 1)

# Right: the longest pause of each configuration over all programs.
set origin 0.74, 0
set size 0.26, 0.93
unset logscale y
set yrange [$time_bottom:$time_top]
set style fill solid 0.9 border rgb "#404040"
set boxwidth 0.7
set key off
set ylabel "longest pause (ms)"
set xtics rotate by 45 right
set yrange [0:$pause_top]
set xrange [-0.6:*]
set title "longest pause (Guile reports none)"
if ($have_pauses) {
  plot "$work/pauses.dat" using 0:2:3:xtic(1) with boxes lc rgb variable, \
       "" using 0:2:(sprintf("%.1f", \$2)) with labels offset 0,0.7 font "sans,9"
} else {
  unset xtics; unset ytics; unset ylabel; unset border
  set label 1 "no configuration here\nreports its pauses" at graph 0.5, 0.5 center
  plot [0:1] [0:1] NaN notitle
}
unset multiplot
EOF
