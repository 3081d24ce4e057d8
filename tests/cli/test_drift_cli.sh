#!/usr/bin/env bash
# CLI behaviour of `flipscope drift`/`backends`/`demo`: exit codes and one-line
# errors with context for bad input; a real small run. Usage: test_drift_cli.sh FLIPSCOPE SRC_DIR
set -u
. "$(dirname "$0")/lib.bash" "$@"

check "help" 0 "usage: flipscope <command>" "$fs" --help
check "no command" 2 "usage" "$fs"
check "unknown command" 2 "unknown command 'frobnicate'" "$fs" frobnicate
check "drift --help" 0 "--fail-on" "$fs" drift --help
check "unknown config" 2 "unknown configuration 'emu:fp17'|unknown arithmetic preset 'emu:fp17'" "$fs" drift --configs emu:fp32,emu:fp17 --runs 1
one_line "unknown config one line" "$fs" drift --configs emu:fp32,emu:fp17 --runs 1
check "unknown kind" 2 "known kinds" "$fs" drift --configs nope:x --runs 1
check "runs 0" 2 "--runs expects an integer in \[1," "$fs" drift --runs 0
check "runs junk" 2 "--runs expects" "$fs" drift --runs 5x
check "bad fail-on" 2 "--fail-on expects" "$fs" drift --fail-on maybe

# inputs: wrong shape, malformed, missing file
printf '\x93NUMPY\x01\x00\x40\x00{'"'"'descr'"'"': '"'"'<f4'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (1, 3, 8, 8), }          \n' >"$tmp/trunc.npy"
check "truncated npy" 2 "trunc.npy: truncated data" "$fs" drift --input "$tmp/trunc.npy" --runs 1 --configs emu:fp32
one_line "truncated npy one line" "$fs" drift --input "$tmp/trunc.npy" --runs 1 --configs emu:fp32
echo "garbage" >"$tmp/garbage.npy"
check "garbage npy" 2 "garbage.npy: not a .npy file" "$fs" drift --input "$tmp/garbage.npy" --runs 1
check "missing npy" 2 "nothere.npy: cannot open" "$fs" drift --input "$tmp/nothere.npy" --runs 1
check "wrong shape" 2 "has shape \[4\], input 'x' expects \[1, 3, 224, 224\]" "$fs" drift --input "$src/tests/fixtures/npy/f64.npy" --runs 1
"$fs" synth --size 224 --save-input "$tmp/x.npy" >/dev/null 2>&1
check "named input unknown" 2 "no input named 'z'" "$fs" drift --input "z=$tmp/x.npy" --runs 1

# backends lists the presets with their certainty
check "backends" 0 "emu:fp16-acc16" "$fs" backends
check "backends json" 0 '"schema_version":[[:space:]]+1' "$fs" backends --json

# a real run at a small size through the library: fp32 vs fp64 agree on the argmax, runs are stable
check "drift small" 0 "Cross-configuration comparison against emu:fp32" "$fs" demo --size 16 --runs 2 --configs emu:fp32,emu:fp64
check "demo json" 0 '"any_instability":[[:space:]]+false' "$fs" demo --size 16 --runs 2 --configs emu:fp32,emu:fp16 --json

# a quantized model against its float model (CFG@MODEL), small size
"$fs" synth --size 16 -o "$tmp/f32.onnx" --save-input "$tmp/x16.npy" >/dev/null 2>&1
"$fs" synth --size 16 --variant w8a8 -o "$tmp/w8.onnx" >/dev/null 2>&1
check "cfg@model" 0 "emu:w8a8-int +ok" "$fs" drift "$tmp/w8.onnx" --input "$tmp/x16.npy" --runs 1 \
    --configs "emu:fp32@$tmp/f32.onnx,emu:w8a8-fake16,emu:w8a8-int"
check "cfg@model shape mismatch" 2 "differ in shape" "$fs" drift "$tmp/w8.onnx" --input "$tmp/x16.npy" --runs 1 \
    --configs "emu:fp32@$src/tests/fixtures/seed/seed.onnx,emu:w8a8-fake16"
check "synth variant w8a8 mlpackage" 0 "" "$fs" synth --size 16 --variant w8a8 -o "$tmp/w8.mlpackage"
check "inspect w8a8 package" 0 "quantize/dequantize pairs are present before real ops" "$fs" inspect "$tmp/w8.mlpackage"
check "synth bad variant" 2 "--variant expects" "$fs" synth --variant int4 -o "$tmp/x.onnx"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
