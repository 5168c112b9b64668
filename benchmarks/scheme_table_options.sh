# shellcheck shell=bash
# The options of the Scheme benchmark table, read by scripts/run-benchmarks.sh (before it
# installs or builds anything) and by benchmarks/run_scheme_table.sh. Sourced, not run.
#
# parse_scheme_table_options NAME USAGE-LINE ARGS... sets
#   quick      1 for --quick (smaller inputs), else 0
#   reps       runs per cell
#   programs   the programs, space-separated, in benchmarks/scheme/ order
#   configs_wanted  the configurations asked for, space-separated ("" = every one)
# prints the help and exits 0 for --help, and exits 2 after one line on stderr for a bad
# option.

scheme_table_all_configs="gcvm/none gcvm/card gcvm/mprotect gcvm/uffd gcvm/soft-dirty gcvm/gcvm-dirty gcvm/gcvm-protect boehm boehm-incremental guile-interpreted guile-compiled"
scheme_table_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/scheme" && pwd)

scheme_table_programs() { # every program, space-separated, in name order
  local f names=""
  for f in "$scheme_table_src"/*.scm; do
    f=${f##*/}
    names+="${f%.scm} "
  done
  echo "${names% }"
}

scheme_table_help() { # name usage-line
  local all_programs
  all_programs=$(scheme_table_programs)
  cat <<EOF
usage: $2
Runs the Scheme benchmark programs under each configuration, each run its own process,
and prints one table (time per program per configuration, geometric mean, GC share, max
pause), with a plot (PNG) if gnuplot is installed. Progress, with an estimate of the time
left, goes to stderr.

  --quick            a first look in a few minutes: smaller inputs (GCVM_BENCH_SIZE=quick
                     in each program) and one run per cell; the table says so, and goes to
                     BUILD/scheme-bench-quick/ instead of BUILD/scheme-bench/
  --reps=N           runs per cell, the table shows medians (default 3; 1 with --quick)
  --programs="A B"   these programs only (default: all of them):
                     $all_programs
  --configs="A B"    these configurations only (default: all that run here); a gcvm
                     barrier may be named without "gcvm/":
                     $scheme_table_all_configs
  --help             this text
EOF
  exit 0
}

scheme_table_bad() { # name message
  echo "$1: $2 (try --help)" >&2
  exit 2
}

parse_scheme_table_options() {
  local name=$1 usage_line=$2
  shift 2
  quick=0
  reps=""
  programs=""
  configs_wanted=""
  local a list item c
  for a in "$@"; do
    case $a in
      --help | -h) scheme_table_help "$name" "$usage_line" ;;
      --quick) quick=1 ;;
      --reps=*) reps=${a#--reps=} ;;
      --programs=*)
        list=${a#--programs=}
        for item in ${list//,/ }; do
          [ -f "$scheme_table_src/$item.scm" ] ||
            scheme_table_bad "$name" "no program '$item' in benchmarks/scheme/"
          programs+="$item "
        done
        [ -n "$programs" ] || scheme_table_bad "$name" "--programs needs at least one program"
        ;;
      --configs=*)
        list=${a#--configs=}
        for item in ${list//,/ }; do
          c=$item
          case " $scheme_table_all_configs " in
            *" $c "*) ;;
            *" gcvm/$c "*) c=gcvm/$c ;;
            *) scheme_table_bad "$name" "unknown configuration '$item'" ;;
          esac
          configs_wanted+="$c "
        done
        [ -n "$configs_wanted" ] || scheme_table_bad "$name" "--configs needs at least one configuration"
        ;;
      *) scheme_table_bad "$name" "unknown option '$a'" ;;
    esac
  done
  case $reps in
    '') reps=$((quick ? 1 : 3)) ;;
    *[!0-9]* | 0*) scheme_table_bad "$name" "--reps needs a positive number, not '$reps'" ;;
  esac
  if [ -z "$programs" ]; then
    programs=$(scheme_table_programs)
  fi
  programs=${programs% }
  configs_wanted=${configs_wanted% }
}
