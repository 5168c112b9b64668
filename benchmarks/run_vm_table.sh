#!/bin/sh
# Appel-Li virtual-memory primitives: runs gcvm-vm-bench from the build directory BUILD,
# keeps its JSON in BUILD/bench-results/vm-primitives.json and prints one table, ns per
# page. The gcvm column says whether guest ring 0 ran on hardware or was emulated (an
# emulator's times are not hardware figures; there only correctness and exits count).
# usage: benchmarks/run_vm_table.sh BUILD [gcvm-vm-bench flags]
set -eu
build=${1:?usage: run_vm_table.sh BUILD [flags]}
shift
out="$build/bench-results"
mkdir -p "$out"
json="$out/vm-primitives.json"
log="$out/vm-primitives.log"
"$build/benchmarks/gcvm-vm-bench" --benchmark_out="$json" --benchmark_out_format=json \
    "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
jq -r '
  def mech: .name | split("/")[0];
  def prim: .name | split("/")[1];
  def cell: if .error_occurred then "n/a" else (.real_time * 10 | round / 10 | tostring) end;
  .benchmarks as $b
  | ($b | map(select(mech == "gcvm" and (.error_occurred | not))) | first) as $g
  | (if $g == null then "gcvm (unusable)"
     elif $g.hardware == 1 then "gcvm (hardware)" else "gcvm (emulated)" end) as $gname
  | ["primitive (ns/page)", $gname, "gcvm exits/page", "mprotect+SIGSEGV", "uffd-wp"],
    (["trap", "prot1+trap+unprot", "protN+trap+unprot", "harvest"][] as $p
     | [$p,
        ($b | map(select(mech == "gcvm" and prim == $p)) | first | if . then cell else "-" end),
        ($b | map(select(mech == "gcvm" and prim == $p)) | first
            | if . and (.error_occurred | not) then (.exits_per_page * 100 | round / 100 | tostring) else "-" end),
        ($b | map(select(mech == "mprotect" and prim == $p)) | first | if . then cell else "-" end),
        ($b | map(select(mech == "uffd" and prim == $p)) | first | if . then cell else "-" end)])
  | @tsv' "$json" | column -t -s "$(printf '\t')"
echo "(JSON: $json)"
