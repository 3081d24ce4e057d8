#!/usr/bin/env bash
# CLI behaviour of `flipscope localize`: usage errors (exit 2, one line), a
# real run on the cnn_ops ONNX fixture (table, ranking, margin, JSON).
# Usage: test_localize_cli.sh FLIPSCOPE SRC_DIR
set -u
. "$(dirname "$0")/lib.bash" "$@"
model=$src/tests/fixtures/onnx/cnn_ops.onnx
x=$src/tests/fixtures/onnx/cnn_ops.in0.npy

check "listed in help" 0 "localize" "$fs" --help
check "localize --help" 0 "--reference CFG" "$fs" localize --help
check "needs both configs" 2 "needs --reference CFG and --target CFG" "$fs" localize "$model" --target emu:fp16
check "bad metric" 2 "--metric expects" "$fs" localize --reference emu:fp64 --target emu:fp16 --metric l3
check "bad atol" 2 "--atol expects" "$fs" localize --reference emu:fp64 --target emu:fp16 --atol -1
check "bad top" 2 "--top expects" "$fs" localize --reference emu:fp64 --target emu:fp16 --top x
check "unknown config" 2 "unknown arithmetic preset 'emu:fp17'" "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp17
one_line "unknown config one line" "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp17
check "missing model" 2 "nope.onnx" "$fs" localize /nonexistent/nope.onnx --reference emu:fp64 --target emu:fp16

check "text run" 0 "Top 3 by isolated rel_l2" "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp16 --top 3
check "margin line" 0 "Contributions by patching" "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp16 --margin
check "margin off by default" 0 "margin attributes this delta" "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp16
check "margin json" 0 '"attributed":\s*true' "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp16 --margin --json
check "same config: nothing" 0 "No op has an isolated error" "$fs" localize "$model" --input "$x" --reference emu:fp32 --target emu:fp32
check "tight tolerance diverges" 1 "FIRST DIVERGENT" "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp16 --atol 0 --rtol 0 --fail-on divergence
check "json envelope" 0 '"command":\s*"localize"' "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp16 --json
check "json identical snr" 0 '"snr_db":\s*"inf"' "$fs" localize "$model" --input "$x" --reference emu:fp32 --target emu:fp32 --json
check "json metric" 0 '"metric":\s*"max_ulp"' "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:bf16 --metric max_ulp --json
check "no margin" 0 '"attributed":\s*false' "$fs" localize "$model" --input "$x" --reference emu:fp64 --target emu:fp16 --no-margin --json

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
