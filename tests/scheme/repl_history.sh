#!/bin/sh
# The REPL's history on a terminal (a pseudo-terminal from script(1)):
#   1. a first session's lines are saved in $XDG_DATA_HOME/gcvm/scheme_history, and a
#      second session recalls them with the up arrow;
#   2. a history file that cannot be written costs one warning line;
#   3. with neither HOME nor XDG_DATA_HOME set, nothing is saved and nothing is said.
# usage: repl_history.sh SCRIPT GCVM-SCHEME
set -u
script_cmd=$1
scheme=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}
# Runs the REPL on a terminal with the keystrokes $1 and the environment that follows.
session() {
    keys=$1
    shift
    (printf '%b' "$keys"; sleep 1) | env "$@" "$script_cmd" -qfec "$scheme" /dev/null 2>&1 | tr -d '\r'
}

out=$(session '(+ 40 2)\n,q\n' XDG_DATA_HOME="$work/data")
history="$work/data/gcvm/scheme_history"
[ -f "$history" ] || fail "no history file after a session: $out"
grep -q '40' "$history" || fail "the history file lacks the line typed: $(cat "$history")"
# The up arrow, then Enter: the line is evaluated again.
out=$(session '\033[A\n,q\n' XDG_DATA_HOME="$work/data")
echo "$out" | grep -qx '42' || fail "the second session did not recall (+ 40 2): $out"
echo "recalled across sessions"

: >"$work/file"
out=$(session '1\n,q\n' XDG_DATA_HOME="$work/file")
warnings=$(echo "$out" | grep -c 'warning')
[ "$warnings" -eq 1 ] || fail "expected one warning line, got $warnings: $out"
echo "$out" | grep -q "cannot save the REPL history in $work/file/gcvm/scheme_history" ||
    fail "the warning does not name the file: $out"
echo "unwritable: $(echo "$out" | grep warning)"

out=$(session '1\n,q\n' -u HOME -u XDG_DATA_HOME)
echo "$out" | grep -qx '1' || fail "the REPL without HOME did not run: $out"
echo "$out" | grep -q 'warning' && fail "a warning without HOME: $out"
echo PASS
