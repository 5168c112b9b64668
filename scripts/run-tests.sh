#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs ctest on a release build,
# again on an AddressSanitizer + UndefinedBehaviorSanitizer build, the collector's thread
# tests on a ThreadSanitizer build, and fuzzes the Scheme reader with libFuzzer for a
# bounded time (GCVM_FUZZ_SECONDS, default 60). The emulated machines (tests/vm: VT-x,
# then AMD-V, then VT-x on two CPUs) boot once each, one after the other, in the
# background beside all of that: they keep one core busy for some 9 + 5 + 5 minutes
# (measured alone), and their tests' results are read at the end. Each phase prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
phase_start=$SECONDS
phase_done() { echo "-- $1: $((SECONDS - phase_start)) s (total $SECONDS s)"; phase_start=$SECONDS; }

scripts/install-deps.sh
scripts/build.sh build
phase_done "release build"

# The emulated machines: tests/vm/boot_vm_tests.sh is the ctest tests vm.boot,
# vm-svm.boot and vm-smp.boot, run here by hand so that they overlap the rest, one after the other (one
# core); each exits 77 where Bochs or the kernel headers are missing (its tests then skip
# with the reason). The CPU models and counts are those of tests/vm/CMakeLists.txt.
vm_log=build/vm-boot.log
(
  rc=0 svm_rc=0 smp_rc=0
  timeout 2700 tests/vm/boot_vm_tests.sh "$PWD/build" "$PWD/build/vm" >"$vm_log" 2>&1 || rc=$?
  timeout 1200 tests/vm/boot_vm_tests.sh "$PWD/build" "$PWD/build/vm-svm" \
    "$PWD/tests/vm/tests-svm.list" trinity_apu 2 >>"$vm_log" 2>&1 || svm_rc=$?
  timeout 1200 tests/vm/boot_vm_tests.sh "$PWD/build" "$PWD/build/vm-smp" \
    "$PWD/tests/vm/tests-smp.list" corei7_skylake_x 2 >>"$vm_log" 2>&1 || smp_rc=$?
  echo "$rc $svm_rc $smp_rc" >build/vm-boot.rc
) &
vm_pid=$!
trap 'kill $vm_pid 2>/dev/null || true' EXIT

scripts/build.sh build-asan -DGCVM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DGCVM_BUILD_BENCHMARKS=OFF
CC=clang CXX=clang++ scripts/build.sh build-tsan -DGCVM_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DGCVM_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
  -DGCVM_BUILD_BENCHMARKS=OFF -DGCVM_FUZZ_SECONDS="${GCVM_FUZZ_SECONDS:-60}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_reader >/dev/null
phase_done "sanitizer and fuzzer builds"

vm_labels='^(vm|kvm-vmx-vm|kmod-vm|kvm-svm-vm|kvm-vmx-smp|kmod-smp|vm-smp)$'
echo "== release build (the emulated machine's tests come last) =="
(cd build && ctest -j"$(nproc)" -LE "$vm_labels" --output-on-failure)
phase_done "release tests"
echo "== ASan + UBSan build =="
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$(nproc)" --output-on-failure)
phase_done "ASan + UBSan tests"
echo "== ThreadSanitizer build: the collector's thread tests =="
(cd build-tsan && ctest -L threads -j"$(nproc)" --output-on-failure)
phase_done "ThreadSanitizer tests"
echo "== libFuzzer: the Scheme reader =="
(cd build-fuzz && ctest -L fuzz --output-on-failure)
phase_done "fuzzing"

echo "== the emulated VT-x and AMD-V machines =="
wait $vm_pid || true
trap - EXIT
cat "$vm_log"
# Each machine's exit status: 0 ran, 77 skipped (with the reason in the log), else failed.
for vm_rc in $(cat build/vm-boot.rc 2>/dev/null || echo 1); do
  if [ "$vm_rc" != 0 ] && [ "$vm_rc" != 77 ]; then
    echo "an emulated machine failed (exit status $vm_rc): see $vm_log and build/vm*/serial.log"
    exit 1
  fi
done
# -FS: the machines have run already (fixtures vm, vm-svm, vm-smp); only their tests' results
# are read.
(cd build && ctest -L '^(kvm-vmx-vm|kmod-vm|kvm-svm-vm|kvm-vmx-smp|kmod-smp)$' -FS vm --output-on-failure)
phase_done "emulated machines"
