#!/usr/bin/env bash
# CLI behaviour on ONNX input: every malformed or unsupported model is refused with
# exit code 2 and one line on stderr naming the file and (where there is one) the
# node; a real run on a fixture model succeeds. Usage: test_onnx_cli.sh FLIPSCOPE SRC_DIR
set -u
. "$(dirname "$0")/lib.bash" "$@"
fix=$src/tests/fixtures/onnx

bad() { # fixture pattern: refused with exit 2, one stderr line naming the file
    local f=$fix/$1.onnx
    check "$1" 2 "$f: $2" "$fs" drift "$f" --seed 1 --runs 1 --configs emu:fp64
    n=$("$fs" drift "$f" --seed 1 --runs 1 --configs emu:fp64 2>&1 >/dev/null | wc -l)
    if [ "$n" = 1 ]; then pass=$((pass + 1)); else echo "FAIL $1: $n lines on stderr"; fail=$((fail + 1)); fi
}

bad bad_cycle "node 0 \(Add 'first'\): the graph has a cycle"
bad bad_dangling "node 0 \(Add 'adder'\): input 'nowhere' is not produced"
bad bad_conv_channels "node 0 \(Conv '/stem/0'\): input \[1, 3, 8, 8\] has 3 channels"
bad bad_absurd_dims "node 0 \(Add 'adder'\): initializer 'w': .*2\^40"
bad bad_absurd_input "graph input 'x': .*2\^40"
bad bad_unknown_op "node 0 \(FancyOp 'mystery'\): operator FancyOp \(opset 13\) is not supported"
bad bad_external_data "node 0 \(Add 'adder'\): initializer 'w': tensor data is stored in an external file"
bad bad_dim_param "graph input 'x' has a symbolic dimension 0 \('batch'\)"
bad bad_reshape_dynamic "node 0 \(Reshape 'reshaper'\): shape \('s'\) must be a constant"
bad bad_short_data "node 0 \(Add 'adder'\): initializer 'w': raw_data holds 2 elements"
head -c 100 "$fix/cnn_ops.onnx" >"$tmp/truncated.onnx"
check "truncated" 2 "$tmp/truncated.onnx: not a valid ONNX protobuf" "$fs" drift "$tmp/truncated.onnx" --seed 1 --runs 1 --configs emu:fp64
printf 'not a model\n' >"$tmp/text.onnx"
check "garbage" 2 "$tmp/text.onnx: " "$fs" drift "$tmp/text.onnx" --seed 1 --runs 1 --configs emu:fp64
check "unknown extension" 2 "unknown model file type .*\.onnx" "$fs" drift "$tmp/model.pb" --seed 1 --runs 1 --configs emu:fp64
check "operator fixture runs" 0 "emu:fp64" "$fs" drift "$fix/cnn_ops.onnx" --input "$fix/cnn_ops.in0.npy" --runs 1 --configs emu:fp32,emu:fp64

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
