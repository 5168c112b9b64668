#!/bin/sh
# `gcvm run` and `gcvm info`, as a user calls them. usage: test_run.sh GCVM RUN_TARGET
gcvm=$1 target=$2
fail() { echo "FAIL: $*"; exit 1; }
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then echo "SKIP: /dev/kvm is not usable here"; exit 77; fi

out=$("$gcvm" run -- "$target" 5 hello 2>&1); rc=$?
[ "$rc" = 5 ] || fail "exit status $rc, expected 5 ($out)"
echo "$out" | grep -q '^ring 0, hello, sum 26368, 4.50$' || fail "unexpected output: $out"
out=$("$target" 3 host 2>&1); rc=$?
[ "$rc" = 3 ] && echo "$out" | grep -q '^ring 3, host' || fail "the target itself: $rc $out"

out=$("$gcvm" run 2>&1); rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q 'no program given' || fail "no program: $rc $out"
out=$("$gcvm" run -- /nonexistent/program 2>&1); rc=$?
[ "$rc" = 127 ] && echo "$out" | grep -q 'no such executable' || fail "missing program: $rc $out"
out=$("$gcvm" run -- "$0" 2>&1); rc=$?
[ "$rc" = 127 ] && echo "$out" | grep -q 'not a 64-bit ELF' || fail "script: $rc $out"
out=$("$gcvm" frobnicate 2>&1); rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q "unknown command" || fail "bad command: $rc $out"

out=$("$gcvm" info 2>&1) || fail "gcvm info failed: $out"
for field in 'CPU virtualization' '/dev/kvm' 'guest ring 0: ' 'guest MAXPHYADDR' \
             'userfaultfd write-protect' 'PAGEMAP_SCAN' 'soft-dirty bits'; do
    echo "$out" | grep -q "$field" || fail "gcvm info lacks '$field': $out"
done
echo "$out"
echo PASS
