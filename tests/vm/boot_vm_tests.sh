#!/bin/sh
# Builds an emulated machine's disk and boots it once; the machine runs every test of its
# list (docs/vm-tests.md). Exits 77 (skipped) where Bochs or the kernel headers are not
# installed.
# usage: boot_vm_tests.sh BUILD_DIR OUT_DIR [LIST [CPU_MODEL [CPUS]]]
#   default: tests.list on one corei7_skylake_x (VT-x); tests-svm.list runs on trinity_apu (AMD-V).
here=$(cd "$(dirname "$0")" && pwd)
build=$1 out=$2 list=${3:-$here/tests.list} model=${4:-corei7_skylake_x} cpus=${5:-1}
mkdir -p "$out"
rm -f "$out/serial.log" "$out/skipped"
skip() { echo "SKIP: $*" | tee "$out/skipped"; exit 77; }
for tool in bochs syslinux mcopy busybox; do
  command -v $tool >/dev/null || skip "$tool is not installed: run scripts/install-deps.sh as root"
done
dpkg-query -W -f='${Status}' linux-headers-amd64 2>/dev/null | grep -q 'ok installed' ||
  skip "linux-headers-amd64 is not installed: run scripts/install-deps.sh as root"
"$here/build_vm_image.sh" "$build" "$out" "$list" && exec "$here/run_vm.sh" "$out" 2400 "$model" "$cpus"
