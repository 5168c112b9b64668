#!/usr/bin/env bash
# The TLB shootdowns of gcvm's one-page protection (gcvm-vm-bench, gcvm/prot1) with
# VCPUS vCPUs held by the process: EXPECTED per page (0 with one vCPU, 1 with others).
# Exits 77 (skipped) with the reason when the engine cannot run here (no /dev/kvm).
# Usage: check_vm_shootdowns.sh GCVM_VM_BENCH VCPUS EXPECTED
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: check_vm_shootdowns.sh GCVM_VM_BENCH VCPUS EXPECTED" >&2; exit 2; }
bench=$1 vcpus=$2 expected=$3
out=$("$bench" --batch=8 --iterations=3 --gcvm-iterations=1 --vcpus="$vcpus" \
  --benchmark_filter=gcvm/prot1 --benchmark_format=json)
why=$(jq -r '.benchmarks[0].error_message // empty' <<<"$out")
if [ -n "$why" ]; then
  if [[ $why == *"/dev/kvm"* ]]; then
    echo "SKIP: $why"
    exit 77
  fi
  echo "gcvm/prot1 failed: $why" >&2
  exit 1
fi
got=$(jq -r '.benchmarks[0].shootdowns_per_page' <<<"$out")
echo "shootdowns per page with $vcpus vCPU(s): $got (expected $expected)"
[ "$got" = "$expected" ]
