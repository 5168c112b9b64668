#!/bin/busybox sh
# /init of the emulated machine: loads KVM's modules (kvm-intel on VMX, kvm-amd on SVM) and
# gcvm.ko (which refuses to load without VMX), runs each test of
# /gcvm/tests.list and reports it on the serial console between markers that
# tests/vm/run_vm.sh and vm_result.sh read:
#   @@GCVM BEGIN name
#   @@GCVM END name rc=N ms=T kernel-errors=K
# then @@GCVM DONE and powers the machine off. A test over its limit (emulated seconds) is
# killed after its threads' states and kernel stacks are printed.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
export PATH=/bin:/sbin LD_BIND_NOW=1
ms() { read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}0"; }

flags() { grep -c -w "$1" /proc/cpuinfo; }
echo "@@GCVM BOOTED kernel=$(uname -r) cpus=$(grep -c '^processor' /proc/cpuinfo)" \
  "vmx=$(flags vmx) ept=$(flags ept) svm=$(flags svm) npt=$(flags npt)"
kvm_vendor=kvm-intel
[ "$(flags svm)" = 0 ] || kvm_vendor='ccp kvm-amd' # kvm-amd needs ccp's SEV symbols
for m in irqbypass kvm $kvm_vendor; do
  insmod /modules/$m.ko || echo "@@GCVM NOTE insmod $m.ko failed"
done
[ -f /modules/gcvm.ko ] && { insmod /modules/gcvm.ko || echo "@@GCVM NOTE insmod gcvm.ko failed"; }
dmesg | grep 'gcvm:' | sed 's/^/@@GCVM NOTE kernel: /'
echo "@@GCVM NOTE /dev/kvm: $(ls -l /dev/kvm 2>&1) /dev/gcvm: $(ls -l /dev/gcvm 2>&1)"

# Kernel errors (oops, BUG, warnings, leaks) printed during a test are counted against it.
kernel_error_lines='Oops|BUG:|WARNING:|general protection|unreferenced object'
kernel_errors() { dmesg | grep -c -E "$kernel_error_lines"; }
boot_errors=$(kernel_errors) # the kernel's own, at boot (Bochs's xstate sizes, say)
before=$boot_errors
while read -r name backend limit command; do
  case $name in ''|'#'*) continue ;; esac
  echo "@@GCVM BEGIN $name"
  start=$(ms)
  (cd /tmp && GCVM_BACKEND=$backend exec sh -c "$command" 2>&1) &
  pid=$!
  waited=0
  while kill -0 $pid 2>/dev/null && [ $waited -lt "$limit" ]; do sleep 1; waited=$((waited + 1)); done
  if kill -0 $pid 2>/dev/null; then
    # Over its limit: where each of its processes is, in the kernel, then kill them.
    echo "@@GCVM NOTE $name ran over $limit s; its processes:"
    procs=$(ps -o pid,ppid | awk -v top=$pid '$1 == top || $2 == top { print $1 }')
    for p in $procs; do
      echo "pid $p: $(tr '\0' ' ' < /proc/$p/cmdline)"
      # Each thread: its state, the system call it is in (number, sp, pc; or "running"),
      # and its kernel stack.
      for t in /proc/$p/task/*; do
        echo "  tid ${t##*/}: state $(cut -d' ' -f3 $t/stat) wchan $(cat $t/wchan)" \
          "syscall $(cat $t/syscall 2>/dev/null)"
        sed 's/^/    /' $t/stack 2>/dev/null
      done
    done
    for p in $procs; do kill -KILL $p; done
  fi
  wait $pid
  rc=$?
  # A program killed by a fault: the kernel's line about it (address, instruction).
  [ $rc -eq 0 ] || dmesg | grep 'traps:' | tail -3 | sed 's/^/@@GCVM NOTE kernel: /'
  after=$(kernel_errors)
  echo "@@GCVM END $name rc=$rc ms=$(( $(ms) - start )) kernel-errors=$((after - before))"
  [ "$after" = "$before" ] || dmesg | tail -40
  before=$after
done < /gcvm/tests.list
[ -f /modules/gcvm.ko ] && { rmmod gcvm && echo "@@GCVM NOTE gcvm.ko unloaded" || echo "@@GCVM NOTE rmmod gcvm failed"; }
dmesg | grep -E "$kernel_error_lines" | sed 's/^/@@GCVM NOTE kernel error: /'
echo "@@GCVM DONE kernel-errors=$(($(kernel_errors) - boot_errors))"
# The console's buffered output drains at the emulated UART's pace; a power-off drops it.
sleep 5
echo o > /proc/sysrq-trigger
poweroff -f
