#!/bin/sh
# One test's result from the emulated machine's serial console (docs/vm-tests.md): prints
# what the test printed there and exits with its status; a kernel error (oops, BUG,
# warning, leak) printed while it ran fails it.
# usage: vm_result.sh SERIAL_LOG NAME
log=$1 name=$2
skipped=$(dirname "$log")/skipped
[ -f "$skipped" ] && { cat "$skipped"; exit 77; }
[ -f "$log" ] || { echo "no $log: the machine did not boot (see the vm.boot test)"; exit 1; }
awk -v name="$name" '
  index($0, "@@GCVM BEGIN " name) { on = 1; next }
  on && index($0, "@@GCVM END " name " ") { print; exit }
  on { print }' "$log"
end=$(grep -a "@@GCVM END $name " "$log" | head -1)
[ -n "$end" ] || { echo "the machine did not finish $name: see $log"; exit 1; }
rc=$(echo "$end" | sed -n 's/.* rc=\([0-9]*\).*/\1/p')
errors=$(echo "$end" | sed -n 's/.* kernel-errors=\([0-9]*\).*/\1/p')
[ "${errors:-0}" = 0 ] || { echo "the kernel reported $errors error(s) during $name"; exit 1; }
exit "${rc:-1}"
