#!/usr/bin/env bash
# Runs one Scheme test program and checks what it did.
#   run_scheme_test.sh BIN output FILE.scm [OPTION]...  stdout must equal FILE.out, exit 0
#   run_scheme_test.sh BIN error FILE.scm [OPTION]...   the exit status is ";; expect-rc: N"
#       (default 1) and stderr holds every ";; expect: TEXT" line of the file
# ";; options: ..." lines in the file add options. FILE.in, when present, is stdin.
# Exits 77 (ctest: skipped) when the barrier asked for is not available here.
set -uo pipefail
bin=$1 mode=$2 file=$3
shift 3
dir=$(dirname "$file")
name=$(basename "$file" .scm)
extra=$(sed -n 's/^;; options: //p' "$file")
input=/dev/null
[ -f "$dir/$name.in" ] && input="$dir/$name.in"
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
# shellcheck disable=SC2086
(cd "$dir" && "$bin" "$@" $extra "$name.scm" <"$input" >"$out" 2>"$err")
rc=$?
if grep -q "is not available on this machine" "$err"; then
  echo "skipped: $(cat "$err")"
  exit 77
fi
if [ "$rc" -ge 128 ]; then
  echo "FAIL: $name crashed (exit status $rc)"; cat "$err"; exit 1
fi
if [ "$mode" = output ]; then
  if [ "$rc" -ne 0 ] || ! diff -u "$dir/$name.out" "$out"; then
    echo "FAIL: $name (exit status $rc)"; cat "$err"; exit 1
  fi
  exit 0
fi
want_rc=$(sed -n 's/^;; expect-rc: //p' "$file")
want_rc=${want_rc:-1}
if [ "$rc" -ne "$want_rc" ]; then
  echo "FAIL: $name exited with $rc, expected $want_rc"; cat "$err"; exit 1
fi
status=0
while IFS= read -r want; do
  if ! grep -qF -- "$want" "$err"; then
    echo "FAIL: $name: stderr lacks: $want"; status=1
  fi
done < <(sed -n 's/^;; expect: //p' "$file")
[ "$status" -ne 0 ] && { echo "stderr was:"; cat "$err"; }
exit $status
