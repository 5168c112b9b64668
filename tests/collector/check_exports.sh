#!/usr/bin/env bash
# The shared collector library exports exactly the functions its public headers mark
# GCVM_GC_API: nothing internal (minor_collect, blocks_take_run, ...), nothing of the
# engine linked into it, and every public function.
# Usage: check_exports.sh LIBRARY INCLUDE_DIR (every *.h in it is a public header)
set -euo pipefail
lib=$1
set -- "$2"/*.h
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' |
  grep -v -e '^__start_' -e '^__stop_' | sort)  # section bounds the linker adds
declared=$(grep -hv '^#define' "$@" | tr '\n' ' ' | grep -o 'GCVM_GC_API [^(;]*(' |
  sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort)
if [ "$exported" != "$declared" ]; then
  echo "check_exports: $lib exports what its headers do not declare (>) or lacks what they do (<):"
  diff <(echo "$declared") <(echo "$exported") | grep '^[<>]'
  exit 1
fi
echo "ok: $(echo "$exported" | wc -l) functions exported, all declared public"
