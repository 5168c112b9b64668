#!/usr/bin/env bash
# Builds the boot disk of an emulated machine (docs/vm-tests.md): Debian's stock kernel,
# and an initramfs holding busybox, KVM's modules (kvm-intel, and kvm-amd with the ccp it
# needs: /init loads the one the CPU has), gcvm.ko (built here), the programs the tests run with their shared
# libraries, and an /init that runs every test of LIST (default tests/vm/tests.list) and
# reports each on the serial console.
#
# usage: build_vm_image.sh BUILD_DIR OUT_DIR [LIST]
#   The kernel is the one Debian's linux-headers-amd64 points at (the module is built
#   against it); GCVM_VM_KERNEL=6.1.0-NN-amd64 picks another. Its package is downloaded
#   once into OUT_DIR/cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
die() { echo "build_vm_image: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: build_vm_image.sh BUILD_DIR OUT_DIR"
build=$(cd "$1" && pwd) || die "no build directory $1"
out=$2 list=${3:-$here/tests.list}
[ -f "$list" ] || die "no test list $list"
mkdir -p "$out/cache"
out=$(cd "$out" && pwd)

for tool in busybox syslinux mcopy mkfs.fat cpio bochs; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh as root"
done
case $(ldd "$(command -v busybox)" 2>&1 || true) in *'not a dynamic'*) ;; *)
  die "busybox is not the static one: apt-get install busybox-static" ;; esac

kernel=${GCVM_VM_KERNEL:-}
if [ -z "$kernel" ]; then
  kernel=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
           sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
  [ -n "$kernel" ] || die "linux-headers-amd64 is not installed: run scripts/install-deps.sh as root"
fi

# The kernel package, downloaded once.
kimg=$out/cache/kimg-$kernel
if [ ! -d "$kimg/boot" ]; then
  ( cd "$out/cache" &&
    { ls linux-image-"$kernel"*.deb >/dev/null 2>&1 ||
      apt-get download "linux-image-$kernel-unsigned" >/dev/null 2>&1 ||
      apt-get download "linux-image-$kernel" >/dev/null 2>&1 ||
      die "cannot download linux-image-$kernel (apt-get download; is the package index current?)"; } )
  rm -rf "$kimg.tmp" && mkdir -p "$kimg.tmp"
  dpkg-deb -x "$(ls "$out"/cache/linux-image-"$kernel"*.deb | head -1)" "$kimg.tmp"
  mv "$kimg.tmp" "$kimg"
fi
vmlinuz=$(ls "$kimg"/boot/vmlinuz-* | head -1)
moddir=$kimg/lib/modules/$kernel/kernel

# The initramfs tree.
tree=$out/initramfs
rm -rf "$tree"
mkdir -p "$tree"/{bin,sbin,proc,sys,dev,tmp,modules,gcvm/bin,gcvm/tests,gcvm/scheme}
cp "$(command -v busybox)" "$tree/bin/busybox"
for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-intel.ko \
         drivers/crypto/ccp/ccp.ko arch/x86/kvm/kvm-amd.ko; do
  src=$moddir/$m
  [ -f "$src" ] || src=$(ls "$src".* 2>/dev/null | head -1)
  [ -f "$src" ] || die "the kernel package has no $m"
  case $src in
    *.xz) xz -dc "$src" > "$tree/modules/$(basename "$m")" ;;
    *.zst) zstd -qdc "$src" > "$tree/modules/$(basename "$m")" ;;
    *) cp "$src" "$tree/modules/" ;;
  esac
done
# gcvm.ko, built against the headers of the machine's kernel.
kdir=/usr/src/linux-headers-$kernel
[ -d "$kdir" ] || die "no $kdir: apt-get install linux-headers-$kernel"
rm -rf "$out/kmod-build" && cp -r "$root/kmod" "$out/kmod-build"
make -C "$out/kmod-build" KDIR="$kdir" GCVM_ABI_DIR="$root/gcvm/src" > "$out/kmod-build.log" 2>&1 ||
  die "gcvm.ko did not build: see $out/kmod-build.log"
cp "$out/kmod-build/gcvm.ko" "$tree/modules/gcvm.ko"

# The programs the tests run, at fixed places, with every shared library they load.
programs=(
  "$build/tests/engine/test_engine:/gcvm/tests/test_engine"
  "$build/tests/engine/run_target:/gcvm/tests/run_target"
  "$root/tests/engine/test_run.sh:/gcvm/tests/test_run.sh"
  "$build/bin/gcvm:/gcvm/bin/gcvm"
  "$build/bin/libgcvm-run.so:/gcvm/bin/libgcvm-run.so"
  "$build/benchmarks/gcvm-vm-bench:/gcvm/bin/gcvm-vm-bench"
  "$build/benchmarks/gcvm-syscall-bench:/gcvm/bin/gcvm-syscall-bench"
  "$build/tests/kmod/test_kmod_ioctl:/gcvm/tests/test_kmod_ioctl"
  "$build/tests/kmod/test_kernel_syscalls:/gcvm/tests/test_kernel_syscalls"
  "$build/tests/collector/test_differential:/gcvm/tests/test_differential"
  "$build/tests/collector/test_barrier_trace:/gcvm/tests/test_barrier_trace"
  "$build/tests/collector/test_weak:/gcvm/tests/test_weak"
  "$build/tests/collector/test_guest_mode:/gcvm/tests/test_guest_mode"
  "$build/bin/gcvm-scheme:/gcvm/bin/gcvm-scheme"
  "$root/tests/scheme/guest.scm:/gcvm/scheme/guest.scm"
  "$root/tests/scheme/guest.out:/gcvm/scheme/guest.out"
  "$root/benchmarks/scheme/trees.scm:/gcvm/scheme/trees.scm"
  "$root/benchmarks/scheme/earley.scm:/gcvm/scheme/earley.scm"
)
for entry in "${programs[@]}"; do
  src=${entry%%:*} dst=${entry#*:}
  [ -e "$src" ] || { echo "build_vm_image: note: $src not built, left out" >&2; continue; }
  cp "$src" "$tree$dst"
  { ldd "$src" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r lib; do
    [ -e "$tree$lib" ] || { mkdir -p "$tree$(dirname "$lib")"; cp -L "$lib" "$tree$lib"; }
  done
done
cp "$list" "$tree/gcvm/tests.list"
cp "$here/vm_init.sh" "$tree/init"
chmod +x "$tree/init"
(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -6 > "$out/initrd.gz")

# The boot disk: a FAT file system with syslinux, the kernel and the initramfs.
# Bochs wants whole cylinders of 16 heads x 63 sectors (516096 bytes).
bytes=$(( $(stat -c %s "$vmlinuz") + $(stat -c %s "$out/initrd.gz") + 8 * 1048576 ))
cylinders=$(( bytes / 516096 + 1 ))
rm -f "$out/disk.img"
dd if=/dev/zero of="$out/disk.img" bs=516096 count="$cylinders" status=none
mkfs.fat -n GCVM "$out/disk.img" >/dev/null
syslinux --install "$out/disk.img"
mcopy -i "$out/disk.img" "$vmlinuz" ::vmlinuz
mcopy -i "$out/disk.img" "$out/initrd.gz" ::initrd.gz
mcopy -i "$out/disk.img" "$here/syslinux.cfg" ::syslinux.cfg
echo "$cylinders" > "$out/disk.cylinders"
echo "$kernel" > "$out/kernel"
echo "build_vm_image: $out/disk.img ($((cylinders * 516096 / 1048576)) MiB, kernel $kernel, initramfs $(($(stat -c %s "$out/initrd.gz") / 1024)) KiB)" >&2
