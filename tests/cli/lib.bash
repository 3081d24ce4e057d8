# lib.bash: the harness shared by the CLI tests (sourced, not run).
# Usage in a test: . "$(dirname "$0")/lib.bash" "$@"   (args: FLIPSCOPE SRC_DIR)
# Gives: $fs (the binary), $src (the source tree), $tmp (a scratch dir removed at exit),
# check NAME RC PATTERN CMD... (exit code RC and output matching the extended regex PATTERN),
# one_line NAME CMD... (the command's stderr is exactly one line), and the pass/fail counters.
fs=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

check() { # name expected_rc grep_pattern cmd...
    local name=$1 want=$2 pat=$3
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL $name: exit $rc, expected $want; output:"; echo "$out" | head -20; fail=$((fail + 1)); return
    fi
    if [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$out"; then
        echo "FAIL $name: output lacks /$pat/:"; echo "$out" | head -20; fail=$((fail + 1)); return
    fi
    echo "ok   $name"; pass=$((pass + 1))
}

one_line() { # name cmd...: the error is a single line on stderr
    local name=$1
    shift
    n=$("$@" 2>&1 >/dev/null | wc -l)
    if [ "$n" = 1 ]; then echo "ok   $name"; pass=$((pass + 1)); else echo "FAIL $name: $n lines on stderr"; fail=$((fail + 1)); fi
}

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
