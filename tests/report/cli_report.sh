#!/usr/bin/env bash
# `flipscope report` and `flipscope demo --out` at the CLI: usage errors (exit
# 2, one line), the three files written, and a run killed mid-write by the
# file size limit (SIGXFSZ, deterministic) leaving no report.* file and an
# earlier report untouched. Usage: cli_report.sh FLIPSCOPE SRC_DIR
set -u
. "$(dirname "$0")/../cli/lib.bash" "$@"

check "report --help" 0 "--out DIR" "$fs" report --help
check "report without --out" 2 "report needs --out DIR" "$fs" report --size 16 --runs 1
one_line "report without --out: one line" "$fs" report --size 16 --runs 1
check "report --size with a model" 2 "--size applies to the built-in model only" "$fs" report "$src/tests/fixtures/seed/seed.onnx" --size 16 --out "$tmp/x"
check "report unknown config" 2 "emu:fp17" "$fs" report --size 16 --runs 1 --configs emu:fp32,emu:fp17 --out "$tmp/x"
check "report missing model" 2 "nothere.onnx" "$fs" report "$tmp/nothere.onnx" --out "$tmp/x"
[ ! -e "$tmp/x" ] && ok "failed runs create no output directory" || bad "a failed run left $tmp/x"
: >"$tmp/afile"
check "report --out is a file" 2 "afile" "$fs" report --size 16 --runs 1 --configs emu:fp32,emu:fp16 --out "$tmp/afile"

check "report unknown profile" 2 "nosuch" "$fs" report --size 16 --runs 1 --profile nosuch --out "$tmp/x"
# a profile configuration gets a placement plan and a plan line among the commands
check "report with coreml:all" 0 "accelerator placement +PASS" "$fs" report --size 16 --runs 1 --configs emu:fp32,coreml:all --localize none --out "$tmp/p"
grep -q '^| coreml:all | ' "$tmp/p/report.md" && ok "placement table row" || bad "no placement row for coreml:all"

# the W8A8 program as a .mlpackage: both quantization gates pass, and coreml:all places the seed's 36 of 110
# ops on the NE (the seed's published compute plan: 74 ops with no device, 36 on the NE)
"$fs" synth --variant w8a8 --size 32 -o "$tmp/w8.mlpackage" --save-input "$tmp/w8x.npy" >/dev/null 2>&1
check "report W8A8 mlpackage" 0 "weight-quantization evidence +PASS +6 weight" "$fs" report "$tmp/w8.mlpackage" --input "$tmp/w8x.npy" --runs 1 --configs coreml:cpu_only,coreml:all --out "$tmp/w8"
grep -qE "activation-quantization evidence \| \*\*PASS\*\* \| 22 \|" "$tmp/w8/report.md" && grep -q "^| coreml:all | 110 | 74 | 0 | ne (accelerator) 36, gpu 0, cpu 0 | 36 |$" "$tmp/w8/report.md" \
    && grep -qE '"format":[[:space:]]*"mlpackage"' "$tmp/w8/report.json" && ok "W8A8: 11+11 activation QDQ ops, 36 of 110 ops on the NE, directory hashed" \
    || { bad "W8A8 report rows"; grep -E "activation-quant|coreml:all \|" "$tmp/w8/report.md"; }

# a real backend next to an emulated row (when one is built here): the claim tells them apart
real=$("$fs" backends | awk '$2 == "[real]" && $3 == "available" { print $1; exit }')
if [ -n "$real" ]; then
    check "report with real backend $real" 0 "are runs of real backends on this machine" "$fs" report --size 16 --runs 1 --configs "emu:fp32,$real" --localize none --out "$tmp/real"
    grep -qE '"emulated":[[:space:]]*false' "$tmp/real/report.json" && grep -q "| $real | compared | real backend |" "$tmp/real/report.md" \
        && ok "real backend marked real in JSON and Markdown" || bad "real backend rows"
else
    echo "note: no real backend built here; the mixed emulated/real claim is checked in test_report"
fi

# a real run into a new nested directory: exactly the three files
check "report built-in" 0 "wrote .*report.html" "$fs" report --size 16 --runs 2 --configs emu:fp32,emu:fp16-acc16 --out "$tmp/a/b"
files=$(cd "$tmp/a/b" && ls -A | tr '\n' ' ')
[ "$files" = "report.html report.json report.md " ] && ok "three files, nothing else" || bad "files in out dir: $files"
grep -q '"command":[[:space:]]*"report"' "$tmp/a/b/report.json" && grep -q "flipscope report --configs emu:fp32,emu:fp16-acc16" "$tmp/a/b/report.md" \
    && ok "report.json command, report.md reproduce line" || bad "report contents"

# demo --out: the demo's report has the tie
check "demo --out" 0 "Honest claim" "$fs" demo --size 16 --runs 2 --configs emu:fp32,emu:fp16-acc16 --out "$tmp/demo"
grep -q '"tie":' "$tmp/demo/report.json" && grep -q '"command":[[:space:]]*"demo"' "$tmp/demo/report.json" && grep -q "^| tie |" "$tmp/demo/report.md" \
    && ok "demo report records the centred tie" || bad "demo report lacks the tie"
check "demo --json --out keeps stdout JSON" 0 '^\{' bash -c "'$fs' demo --size 16 --runs 1 --configs emu:fp32,emu:fp16 --json --out '$tmp/demo2' 2>/dev/null | head -c 1"

# killed mid-write: a 1 KiB file size limit stops the process (SIGXFSZ) inside its first report write
killed() { # dir
    (ulimit -f 1; exec "$fs" report --size 16 --runs 1 --configs emu:fp32,emu:fp16 --out "$1") >/dev/null 2>&1
    echo $?
}
rc=$(killed "$tmp/k1")
[ "$rc" = $((128 + 25)) ] && ok "killed by SIGXFSZ mid-write" || bad "expected exit 153 (SIGXFSZ), got $rc"
left=$(ls "$tmp/k1" 2>/dev/null | grep -c '^report\.')
[ "$left" = 0 ] && ok "killed run left no report.* file" || bad "killed run left: $(ls "$tmp/k1")"
cp -r "$tmp/a/b" "$tmp/k2"
sum_before=$(cat "$tmp/k2"/report.* | sha256sum)
rc=$(killed "$tmp/k2")
sum_after=$(cat "$tmp/k2"/report.* | sha256sum)
[ "$rc" = 153 ] && [ "$sum_before" = "$sum_after" ] && ok "killed run left the earlier report whole" || bad "earlier report changed (rc $rc)"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
