# shellcheck shell=bash
# The start shared by the table scripts (run_threads_table.sh, run_scheme_threads_table.sh).
# Sourced, not run, after the script sets usage (its one-line usage). Defines
#   bad MESSAGE...       the message and the usage on stderr, then exit 2
#   table_build_dir ARG  for --help prints the usage and exits 0; unless ARG (the script's
#                        first argument) names a build directory, says so and exits 2
# shellcheck disable=SC2154 # usage: set by the script that sources this file
table_script_name=${0##*/}
bad() {
  echo "$table_script_name: $*" >&2
  echo "$usage" >&2
  exit 2
}
table_build_dir() {
  case ${1:-} in
    --help | -h) echo "$usage"; exit 0 ;;
    '' | -*) bad "the first argument is the build directory" ;;
  esac
}
