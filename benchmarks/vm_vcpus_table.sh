#!/bin/sh
# The Appel-Li primitives and the cost of a system call in guest mode with 1, 2 and 4
# vCPUs held, on the emulated VT-x and AMD-V machines (two CPUs each, kvm backend):
# the runs of tests/vm/bench-vcpus.list. With --boot, boots both machines first (each
# takes 15-30 minutes of host time); else reads BUILD/vm-bench-vmx/serial.log and
# BUILD/vm-bench-svm/serial.log from an earlier --boot. Times are emulated.
# usage: benchmarks/vm_vcpus_table.sh BUILD [--boot]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: vm_vcpus_table.sh BUILD [--boot]}
case ${2:-} in
  '') ;;
  --boot)
    for m in "vmx corei7_skylake_x" "svm trinity_apu"; do
      set -- $m
      "$here/../tests/vm/boot_vm_tests.sh" "$build" "$build/vm-bench-$1" \
        "$here/../tests/vm/bench-vcpus.list" "$2" 2 >/dev/null ||
        { echo "vm_vcpus_table: the $2 machine failed: see $build/vm-bench-$1/serial.log" >&2; exit 1; }
    done ;;
  *) echo "vm_vcpus_table: unknown option $2 (usage: vm_vcpus_table.sh BUILD [--boot])" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for machine in vmx svm; do
  log=$build/vm-bench-$machine/serial.log
  [ -f "$log" ] || { echo "vm_vcpus_table: no $log: run with --boot first" >&2; exit 1; }
  for bench in vm-primitives syscalls; do
    for n in 1 2 4; do
      "$here/../tests/vm/vm_result.sh" "$log" "bench.$bench.vcpus$n" | sed -n '/^{/,/^}/p' \
        > "$tmp/$bench.$machine.$n.json"
      jq -e '.benchmarks | length > 0' "$tmp/$bench.$machine.$n.json" >/dev/null 2>&1 ||
        { echo "vm_vcpus_table: no results from bench.$bench.vcpus$n in $log" >&2; exit 1; }
    done
  done
done
echo "Emulated machines, two CPUs each (Bochs: corei7_skylake_x with VT-x, trinity_apu with"
echo "AMD-V), Debian's $(cat "$build/vm-bench-vmx/kernel" 2>/dev/null) kernel, engine on KVM."
echo "N vCPUs: the timed thread and N-1 others writing pages of their own in guest mode."
echo "Times are emulated (200,000 instructions per ms): instruction paths, not hardware cycles."
echo
# Six files per table, in the order VT-x 1 2 4, AMD-V 1 2 4.
files() { for m in vmx svm; do for n in 1 2 4; do printf '%s ' "$tmp/$1.$m.$n.json"; done; done; }
header='"VT-x 1", "VT-x 2", "VT-x 4", "AMD-V 1", "AMD-V 2", "AMD-V 4"'
# shellcheck disable=SC2046
jq -r -s "
  def row(\$name): .benchmarks | map(select(.name | startswith(\$name + \"/\"))) | first;
  def ns: if . == null then \"-\" elif .error_occurred then \"n/a\"
          else (.real_time | round | tostring) end;
  def sd: if . == null or .error_occurred then \"-\"
          else (.shootdowns_per_page * 100 | round / 100 | tostring) end;
  . as \$runs
  | [\"gcvm primitive (ns/page)\", $header],
    ([\"trap\", \"prot1+trap+unprot\", \"protN+trap+unprot\", \"harvest\"][] as \$p
     | [\$p] + [\$runs[] | row(\"gcvm/\" + \$p) | ns]),
    [\"shootdowns per page\"],
    ([\"trap\", \"prot1+trap+unprot\", \"protN+trap+unprot\", \"harvest\"][] as \$p
     | [\$p] + [\$runs[] | row(\"gcvm/\" + \$p) | sd]),
    [\"mprotect+SIGSEGV, host mode\"],
    ([\"trap\", \"prot1+trap+unprot\", \"protN+trap+unprot\"][] as \$p
     | [\$p] + [\$runs[] | row(\"mprotect/\" + \$p) | ns])
  | @tsv" $(files vm-primitives) | column -t -s "$(printf '\t')"
echo
# shellcheck disable=SC2046
jq -r -s "
  def row(\$name): .benchmarks | map(select(.name | startswith(\$name + \"/\"))) | first;
  def ns: if . == null then \"-\" elif .error_occurred then \"n/a\"
          else (.real_time | round | tostring) end;
  . as \$runs
  | [\"system call (ns/call)\", $header],
    ([\"getppid\", \"write-null\", \"pread-4k\"][] as \$c
     | ([\"gcvm \" + \$c] + [\$runs[] | row(\"gcvm/\" + \$c) | ns]),
       ([\"host \" + \$c] + [\$runs[] | row(\"host/\" + \$c) | ns]))
  | @tsv" $(files syscalls) | column -t -s "$(printf '\t')"
