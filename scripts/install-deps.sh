#!/usr/bin/env bash
# Installs the Debian packages gcvm needs, only those missing. Usage: install-deps.sh
set -euo pipefail
packages=(cmake make gcc g++ pkg-config libgc-dev libjemalloc-dev libbenchmark-dev libunwind-dev jq
  libedit-dev libgmp-dev guile-3.0 gnuplot-nox clang libclang-rt-14-dev
  # The emulated VT-x machine (docs/vm-tests.md) and the kernel module's build.
  bochs bochsbios vgabios syslinux syslinux-common mtools dosfstools busybox-static cpio
  linux-headers-amd64)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "gcvm: missing Debian packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "gcvm: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
