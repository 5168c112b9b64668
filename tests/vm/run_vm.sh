#!/usr/bin/env bash
# Boots the emulated machine that build_vm_image.sh made and waits until its /init has run
# every test (docs/vm-tests.md). The serial console is kept in OUT_DIR/serial.log;
# tests/vm/vm_result.sh reads each test's result from it.
#
# usage: run_vm.sh OUT_DIR [WALL_SECONDS [CPU_MODEL [CPUS]]]
#   default limit: 2400 s of wall time; default CPU: one corei7_skylake_x (VMX with EPT).
#   CPU_MODEL is a Bochs model (bochs -help cpu): trinity_apu has SVM with nested paging.
set -uo pipefail
die() { echo "run_vm: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: run_vm.sh OUT_DIR [WALL_SECONDS [CPU_MODEL [CPUS]]]"
out=$(cd "$1" && pwd) || die "no directory $1"
limit=${2:-2400} model=${3:-corei7_skylake_x} cpus=${4:-1}
case $cpus in [1-8]) ;; *) die "CPUS must be 1 to 8, not $cpus" ;; esac
[ -f "$out/disk.img" ] || die "no $out/disk.img: run build_vm_image.sh first"
command -v bochs >/dev/null || die "bochs is missing: run scripts/install-deps.sh as root"
bios=/usr/share/bochs/BIOS-bochs-latest vgabios=/usr/share/vgabios/vgabios.bin
[ -f "$bios" ] && [ -f "$vgabios" ] || die "the Bochs BIOS is missing: apt-get install bochsbios vgabios"

# The CPU model (VMX with EPT, or SVM with nested paging); no display window (rfb without
# waiting), no sound.
cat > "$out/bochsrc" <<RC
megs: 1024
cpu: model=$model, count=$cpus, ips=200000000, reset_on_triple_fault=0
romimage: file=$bios
vgaromimage: file=$vgabios
ata0-master: type=disk, path=$out/disk.img, mode=flat, cylinders=$(cat "$out/disk.cylinders"), heads=16, spt=63
boot: disk
com1: enabled=1, mode=file, dev=$out/serial.log
display_library: rfb, options="timeout=0"
log: $out/bochs.log
clock: sync=none
panic: action=fatal
error: action=report
info: action=ignore
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
RC
echo c > "$out/debugger.rc" # Debian's Bochs starts in its debugger: continue at once
# A Bochs killed earlier leaves its lock on the disk, and a new one would refuse it; the
# disk is this directory's own.
rm -f "$out/serial.log" "$out/disk.img.lock"
: > "$out/serial.log"
start=$SECONDS
(cd "$out" && exec bochs -q -f bochsrc -rc debugger.rc < /dev/null > bochs.stdout 2>&1) &
bochs_pid=$!
seen=0
outcome=
while kill -0 "$bochs_pid" 2>/dev/null; do
  sleep 2
  # Progress for a long run: each test as it starts and ends.
  lines=$(wc -l < "$out/serial.log")
  if [ "$lines" -gt "$seen" ]; then
    sed -n "$((seen + 1)),${lines}p" "$out/serial.log" | grep -a '@@GCVM' |
      sed "s/^/[$((SECONDS - start))s] /" >&2
    seen=$lines
  fi
  if grep -aq '@@GCVM DONE' "$out/serial.log"; then outcome=done; sleep 3; break; fi
  if grep -aq 'Kernel panic' "$out/serial.log"; then outcome=panic; break; fi
  if [ $((SECONDS - start)) -ge "$limit" ]; then outcome=timeout; break; fi
done
kill "$bochs_pid" 2>/dev/null; wait "$bochs_pid" 2>/dev/null
echo "$((SECONDS - start))" > "$out/wall-seconds"
case ${outcome:-exited} in
  done) echo "run_vm: all tests ran in $((SECONDS - start)) s of wall time" >&2 ;;
  panic) die "the kernel panicked: see $out/serial.log" ;;
  timeout) die "the machine did not finish in $limit s: see $out/serial.log and $out/bochs.log" ;;
  *) grep -aq '@@GCVM DONE' "$out/serial.log" ||
       die "Bochs stopped before the tests ended: see $out/bochs.stdout, $out/bochs.log and $out/serial.log" ;;
esac
