#!/usr/bin/env bash
# CLI behaviour of `flipscope tc-check`: help, one-line errors with exit 2 for a
# bad DIR or malformed data, and a real run over the measured fixtures.
# Usage: test_tccheck_cli.sh FLIPSCOPE SRC_DIR
set -u
. "$(dirname "$0")/lib.bash" "$@"

fix=$src/tests/fixtures/tensor-cores
check help 0 "usage: flipscope tc-check DIR" "$fs" tc-check --help
check no-dir 2 "DIR is missing" "$fs" tc-check
check bad-dir 2 "/nonexistent/x: not a directory" "$fs" tc-check /nonexistent/x
one_line bad-dir-one-line "$fs" tc-check /nonexistent/x
check bad-option 2 "unknown option" "$fs" tc-check "$fix" --frobnicate
check empty-dir 2 "no tensor-core data" "$fs" tc-check "$tmp"

# One GPU's data, copied: V100 is reproduced bit for bit (exit 0).
mkdir -p "$tmp/one/V100" && cp -r "$fix/V100/fp16" "$tmp/one/V100/"
check v100 0 "V100 +fp16 +fp32 +v100-fp16 +4 +5000/5000" "$fs" tc-check "$tmp/one"
check v100-json 0 '"matches": 5000, "total": 5000' "$fs" tc-check "$tmp/one" --json
# One result changed (line 2: the fp32 result of case 2 flipped in its last bit): that file
# is no longer reproduced, exit 1, the mismatch named.
chmod -R u+w "$tmp/one"
sed -i '2s/0$/X/; 2s/1$/0/; 2s/X$/1/' "$tmp/one/V100/fp16/d_V100_fp32.txt"
check one-off 1 "V100 +fp16 +fp32 +v100-fp16 +4 +4999/5000 +\(first mismatch: case 2\)" "$fs" tc-check "$tmp/one"
# A malformed line: one-line error naming file and line, exit 2.
sed -i '3s/.*/0011zz/' "$tmp/one/V100/fp16/c_V100_fp32.txt"
check malformed 2 "c_V100_fp32.txt:3: expected 32" "$fs" tc-check "$tmp/one"
one_line malformed-one-line "$fs" tc-check "$tmp/one"
# The whole fixture set: every file reproduced bit for bit (exit 0).
check all 0 "22 of 22 files reproduced bit for bit" "$fs" tc-check "$fix"
check all-b200-fp8 0 "B200 +E5M2 +fp16 +b200-e5m2 +32 +5000/5000" "$fs" tc-check "$fix"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
