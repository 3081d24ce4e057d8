#!/usr/bin/env bash
# CLI behaviour of `flipscope quantize`: a real small W8A8 build (fp16 and fp32, file and seeded
# calibration) and exit 2 with a one-line error for bad input. Usage: test_quantize_cli.sh FLIPSCOPE SRC_DIR
set -u
. "$(dirname "$0")/lib.bash" "$@"
fx=$src/tests/fixtures/quantize

"$fs" synth --size 16 -o "$tmp/m.onnx" >/dev/null 2>&1 || { echo "FAIL synth"; exit 1; }
m=$tmp/m.onnx

check "help" 0 "--calib-seed" "$fs" quantize --help
check "fp16 from file" 0 "11 activation quantize/dequantize pairs, 6 per-channel int8 weights \(fp16" \
    "$fs" quantize "$m" --calib "$fx/calib16.npy" -o "$tmp/q16.onnx"
check "fp32 seeded" 0 "11 activation .* 6 per-channel .*fp32 program, 3 calibration" \
    "$fs" quantize "$m" --calib-seed 5 --calib-count 3 --precision fp32 -o "$tmp/q32.onnx"
check "output runs" 0 "emu:w8a8-int" "$fs" drift "$tmp/q16.onnx" --configs emu:w8a8-fake16,emu:w8a8-int --runs 1
check "no model" 2 "exactly one MODEL" "$fs" quantize --calib "$fx/calib16.npy" -o "$tmp/x.onnx"
check "no out" 2 "needs -o" "$fs" quantize "$m" --calib "$fx/calib16.npy"
check "no calib" 2 "needs calibration samples" "$fs" quantize "$m" -o "$tmp/x.onnx"
check "both calibs" 2 "not both" "$fs" quantize "$m" --calib "$fx/calib16.npy" --calib-seed 1 --calib-count 2 -o "$tmp/x.onnx"
check "bad precision" 2 "--precision expects fp16 or fp32" "$fs" quantize "$m" --calib-seed 1 --calib-count 2 --precision fp8 -o "$tmp/x.onnx"
check "count 0" 2 "--calib-count expects" "$fs" quantize "$m" --calib-seed 1 --calib-count 0 -o "$tmp/x.onnx"
check "bad shape" 2 "calib16_badshape.npy: calibration samples have shape \[2, 3, 16, 15\]" \
    "$fs" quantize "$m" --calib "$fx/calib16_badshape.npy" -o "$tmp/x.onnx"
one_line "bad shape one line" "$fs" quantize "$m" --calib "$fx/calib16_badshape.npy" -o "$tmp/x.onnx"
check "int dtype" 2 "calibration samples are int32, expected float" "$fs" quantize "$m" --calib "$fx/calib16_int.npy" -o "$tmp/x.onnx"
check "empty set" 2 "calibration set is empty" "$fs" quantize "$m" --calib "$fx/calib16_empty.npy" -o "$tmp/x.onnx"
check "missing calib file" 2 "nope.npy" "$fs" quantize "$m" --calib "$tmp/nope.npy" -o "$tmp/x.onnx"
check "nothing to quantize" 2 "nothing to quantize" "$fs" quantize "$fx/relu_only.onnx" --calib-seed 1 --calib-count 2 -o "$tmp/x.onnx"
check "bad calib config" 2 "calibration" "$fs" quantize "$m" --calib-seed 1 --calib-count 2 --calib-config emu:fp17 -o "$tmp/x.onnx"
[ -e "$tmp/x.onnx" ] && { echo "FAIL a failed run left $tmp/x.onnx"; fail=$((fail + 1)); }

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
