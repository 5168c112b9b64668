#!/bin/sh
# The Appel-Li primitives and the cost of a system call, measured inside the emulated VT-x
# machine (docs/vm-tests.md): reads the JSON that gcvm-vm-bench and gcvm-syscall-bench
# printed there for the kvm and kmod backends from BUILD/vm/serial.log (made by
# `ctest -L kvm-vmx-vm` or `ctest -R vm.boot`) and prints two tables, in the machine's
# emulated time.
# usage: benchmarks/vm_bochs_table.sh BUILD
set -eu
build=${1:?usage: vm_bochs_table.sh BUILD}
log=$build/vm/serial.log
[ -f "$log" ] || { echo "vm_bochs_table: no $log: run ctest -R vm.boot in $build first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for bench in vm-primitives syscalls; do
  for backend in kvm kmod; do
    "$(dirname "$0")/../tests/vm/vm_result.sh" "$log" "bench.$bench.$backend" |
      sed -n '/^{/,/^}/p' > "$tmp/$bench.$backend.json"
    jq -e '.benchmarks | length > 0' "$tmp/$bench.$backend.json" >/dev/null 2>&1 ||
      { echo "vm_bochs_table: no results from bench.$bench.$backend in $log" >&2; exit 1; }
  done
done
echo "Emulated VT-x machine (Bochs 2.7, corei7_skylake_x, Debian's $(cat "$build/vm/kernel" 2>/dev/null) kernel):"
echo "times are emulated (200,000 instructions per ms) and compare instruction paths, not"
echo "hardware cycles."
echo
jq -r -s '
  def mech: .name | split("/")[0];
  def prim: .name | split("/")[1];
  def cell: if . == null then "-" elif .error_occurred then "n/a"
            else (.real_time * 10 | round / 10 | tostring) end;
  def exits: if . == null or .error_occurred then "-"
             else (.exits_per_page * 100 | round / 100 | tostring) end;
  (.[0].benchmarks) as $kvm | (.[1].benchmarks) as $kmod
  | ["primitive (ns/page)", "gcvm kvm", "exits/page", "gcvm kmod", "exits/page",
     "mprotect+SIGSEGV", "uffd-wp"],
    (["trap", "prot1+trap+unprot", "protN+trap+unprot", "harvest"][] as $p
     | [$p,
        ($kvm | map(select(mech == "gcvm" and prim == $p)) | first | cell),
        ($kvm | map(select(mech == "gcvm" and prim == $p)) | first | exits),
        ($kmod | map(select(mech == "gcvm" and prim == $p)) | first | cell),
        ($kmod | map(select(mech == "gcvm" and prim == $p)) | first | exits),
        ($kvm | map(select(mech == "mprotect" and prim == $p)) | first | cell),
        ($kvm | map(select(mech == "uffd" and prim == $p)) | first | cell)])
  | @tsv' "$tmp/vm-primitives.kvm.json" "$tmp/vm-primitives.kmod.json" |
  column -t -s "$(printf '\t')"
echo
jq -r -s '
  def row($mode; $call): map(select(.name | startswith($mode + "/" + $call + "/"))) | first;
  def cell: if . == null then "-" elif .error_occurred then "n/a"
            else (.real_time | round | tostring) end;
  def returns: if . == null or .error_occurred then "-"
               else (.engine_returns_per_call * 100 | round / 100 | tostring) end;
  (.[0].benchmarks) as $kvm | (.[1].benchmarks) as $kmod
  | ["system call (ns/call)", "host mode", "gcvm kvm", "to engine/call", "gcvm kmod",
     "to engine/call"],
    (["getppid", "write-null", "pread-4k"][] as $c
     | [$c, ($kvm | row("host"; $c) | cell),
        ($kvm | row("gcvm"; $c) | cell), ($kvm | row("gcvm"; $c) | returns),
        ($kmod | row("gcvm"; $c) | cell), ($kmod | row("gcvm"; $c) | returns)])
  | @tsv' "$tmp/syscalls.kvm.json" "$tmp/syscalls.kmod.json" | column -t -s "$(printf '\t')"
