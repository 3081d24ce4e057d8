#!/bin/sh
# Fake runners for tests/backends/test_runner_failures.c: each mode breaks protocol v1 one way.
# Usage: fake.sh MODE REQUEST_DIR
mode=$1
dir=$2
out=$(sed -n 's/.*"outputs":[^[]*\["\([^"]*\)".*/\1/p' "$dir/request.json" | tr -c 'A-Za-z0-9._\n-' '_')
case "$mode" in
crash) echo "fake runner: about to crash" >&2; kill -SEGV $$ ;;
fail) echo "fake runner: model not supported" >&2; exit 3 ;;
hang) echo "fake runner: hanging" >&2; sleep 30 ;;
nothing) exit 0 ;;
wrongshape)
    # a float32 .npy of shape (3,): 10-byte preamble + header padded to 64 bytes, then 12 bytes
    hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
    pad=$((64 - 10 - ${#hdr} - 1))
    { printf '\223NUMPY\001\000\066\000'; printf '%s' "$hdr"; printf "%${pad}s\n" ''; printf '\000\000\200\077\000\000\200\077\000\000\200\077'; } > "$dir/outputs/$out.npy"
    ;;
esac
