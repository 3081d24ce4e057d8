#!/usr/bin/env bash
# CLI behaviour of `flipscope plan` and of device profiles in `backends` /
# `drift`: exit codes, one-line errors naming file:line or the op, the seed's
# tables. Usage: test_plan_cli.sh FLIPSCOPE SRC_DIR
set -u
. "$(dirname "$0")/lib.bash" "$@"

check "plan --help" 0 "--units PRESET" "$fs" plan --help
check "plan builtin all" 0 "preferred device: ne 14, gpu 0, cpu 0, None 0" "$fs" plan
check "plan cpu_only" 0 "preferred device: cpu 14, None 0" "$fs" plan --units cpu_only
check "plan table" 0 "^  conv +5 +0 +0 +0$" "$fs" plan
check "plan accelerator list" 0 "ops on the accelerator \(ne\): 14 run there" "$fs" plan --units cpu_and_ne
check "plan hypothesis shown" 0 "how sure: hypothesis" "$fs" plan --units all
check "plan json" 0 '"no_device":[[:space:]]*0' "$fs" plan --json
check "plan unknown units" 2 "no preset 'npu' \(presets: cpu_only, cpu_and_gpu, cpu_and_ne, all\)" "$fs" plan --units npu
check "plan unknown profile" 2 "no profile named 'nosuch'" "$fs" plan --profile nosuch
check "plan missing model" 2 "plan" "$fs" plan "$tmp/none.onnx"

cat >"$tmp/bad.profile" <<'P'
arith a base=fp16
# two devices
device d arith=a ops=conv2d,conv3d
P
check "profile syntax error names file:line" 2 "bad.profile:3: unknown op 'conv3d'" "$fs" plan --profile "$tmp/bad.profile"
n=$("$fs" plan --profile "$tmp/bad.profile" 2>&1 >/dev/null | wc -l)
if [ "$n" = 1 ]; then echo "ok   profile error is one line"; pass=$((pass + 1)); else echo "FAIL profile error: $n lines"; fail=$((fail + 1)); fi

cat >"$tmp/tiny.profile" <<'P'
arith a base=fp16 certainty="hypothesis: a test device"
arith h base=fp32
device acc arith=a ops=conv2d accelerator=yes
device host arith=h ops=all
preset strict devices=acc
preset easy devices=acc fallback=host
P
check "op no device supports" 2 "op 'silu' is supported by no device of tiny:strict" "$fs" plan --profile "$tmp/tiny.profile" --units strict
check "fallback" 0 "on the fallback device \(no listed device supports them\): 9" "$fs" plan --profile "$tmp/tiny.profile" --units easy
check "backends --profile" 0 "tiny:easy" "$fs" backends --profile "$tmp/tiny.profile"
check "backends coreml" 0 "coreml:cpu_and_ne" "$fs" backends
check "drift --profile unknown preset" 2 "unknown compute-unit preset 'tiny:fast'" "$fs" drift --profile "$tmp/tiny.profile" --configs tiny:fast --runs 1
check "drift unknown coreml preset" 2 "coreml:cpu_and_npu" "$fs" drift --configs coreml:cpu_and_npu --runs 1
FLIPSCOPE_PROFILES="$tmp" check "profile by name from FLIPSCOPE_PROFILES" 0 "profile tiny \($tmp/tiny.profile\)" "$fs" plan --profile tiny --units easy
FLIPSCOPE_PROFILES="$tmp" check "config by name from FLIPSCOPE_PROFILES" 2 "unknown compute-unit preset 'tiny:fast'" "$fs" drift --configs tiny:fast --runs 1

# The seed's W8A8 package (16 x 16 input): the seed's plan, and stage 3 as the seed ran it.
if "$fs" synth --variant w8a8 --size 16 -o "$tmp/w8a8.mlpackage" >/dev/null 2>&1; then
    check "seed plan all" 0 "preferred device: ne 36, gpu 0, cpu 0, None 74" "$fs" plan "$tmp/w8a8.mlpackage" --units all
    check "seed plan table" 0 "^  constexpr_affine_dequantize +0 +0 +0 +6$" "$fs" plan "$tmp/w8a8.mlpackage"
    check "seed plan cpu_only" 0 "preferred device: cpu 36, None 74" "$fs" plan "$tmp/w8a8.mlpackage" --units cpu_only
    check "seed drift compute units" 0 "coreml:all is partly a hypothesis" "$fs" drift "$tmp/w8a8.mlpackage" --runs 1 \
        --configs coreml:cpu_only,coreml:cpu_and_gpu,coreml:cpu_and_ne,coreml:all --reference coreml:cpu_only
else
    echo "FAIL synth --variant w8a8"; fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
