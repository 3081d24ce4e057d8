#!/usr/bin/env bash
# flipscope benchmarks against peers measured in the same run (docs/performance.md).
#   bash bench/run.sh            THREADS=2 ROUNDS=3 REPS=5 by default
# Each round runs every contestant (PyTorch CPU fp32, ONNX Runtime CPU, and each flipscope
# configuration) one after another, so slow drifts of the machine hit them all alike; the
# figure per contestant is the median over rounds of its per-round median.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
THREADS=${THREADS:-2} ROUNDS=${ROUNDS:-3} REPS=${REPS:-5}
cmake --build "$build" -j "$(nproc)" --target bench_model flipscope_cli >/dev/null
fs="$build/flipscope"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seed=tests/fixtures/seed/seed.onnx

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# CPU flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -oE '\b(avx2|avx512f|avx512_bf16|fma|f16c)\b' | sort -u | xargs)"
echo "# threads $THREADS, $ROUNDS rounds x $REPS runs"

"$fs" quantize "$seed" --calib tests/fixtures/seed/calib.npy -o "$tmp/seed_w8a8.onnx" >/dev/null 2>&1

have_torch=0; /usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1
have_ort=0
make -s runners >/dev/null 2>&1 || true
command -v node >/dev/null && [ -d runners/ort/node_modules/onnxruntime-node ] && have_ort=1
[ $have_torch = 1 ] || echo "# PyTorch (python3-torch) not installed: no torch row"
[ $have_ort = 1 ] || echo "# onnxruntime-node not installed: no ONNX Runtime row"

presets="emu:fp32 emu:fp16 emu:bf16 emu:tf32 emu:fp16-acc16 emu:fp64"
w8a8="emu:w8a8-fake16 coreml:cpu_only"
for r in $(seq "$ROUNDS"); do
    [ $have_torch = 1 ] && /usr/bin/python3 bench/peer_torch.py "$THREADS" "$REPS" >>"$tmp/rows"
    [ $have_ort = 1 ] && node bench/peer_ort.js "$seed" "$THREADS" "$REPS" >>"$tmp/rows"
    "$build/bench_model" --threads "$THREADS" --reps "$REPS" --model "$seed" $presets | grep -v '^#' | grep -v '^configuration' >>"$tmp/rows"
    "$build/bench_model" --threads "$THREADS" --reps "$REPS" --model "$tmp/seed_w8a8.onnx" $w8a8 | grep -v '^#' \
        | grep -v '^configuration' | sed 's/^\([^ ]*\)/\1(W8A8)/' >>"$tmp/rows"
done

awk '
{ name=$1; ms=$2; n[name]++; v[name, n[name]] = ms; if (!(name in order)) { order[name] = ++k; names[k] = name } }
END {
  for (i = 1; i <= k; i++) {
    nm = names[i]; c = n[nm];
    for (a = 1; a <= c; a++) s[a] = v[nm, a];
    for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (s[b] < s[a]) { t = s[a]; s[a] = s[b]; s[b] = t }
    med[nm] = s[int((c + 1) / 2)];
  }
  base = ("torch_fp32" in med) ? med["torch_fp32"] : 0;
  printf "%-28s %12s %16s\n", "contestant", "median_ms", "ratio_to_torch";
  for (i = 1; i <= k; i++) {
    nm = names[i];
    if (base > 0) printf "%-28s %12.1f %16.2f\n", nm, med[nm], med[nm] / base;
    else printf "%-28s %12.1f %16s\n", nm, med[nm], "-";
  }
}' "$tmp/rows"

# Tensor-core block-FMA emulation (issue 11: within 3x of emu:fp16): both in each round, median over rounds.
for r in $(seq "$ROUNDS"); do
    "$build/bench_model" --threads "$THREADS" --reps "$REPS" --model "$seed" emu:fp16 emu:h100-fp16 | grep '^emu:' >>"$tmp/bfma"
done
awk '
{ n[$1]++; v[$1, n[$1]] = $2 }
END {
  for (nm in n) {
    c = n[nm]; for (a = 1; a <= c; a++) s[a] = v[nm, a];
    for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (s[b] < s[a]) { t = s[a]; s[a] = s[b]; s[b] = t }
    med[nm] = s[int((c + 1) / 2)];
  }
  printf "block FMA: emu:h100-fp16 %.1f ms, emu:fp16 %.1f ms: %.2fx (issue 11 target: within 3x)\n", med["emu:h100-fp16"], med["emu:fp16"], med["emu:h100-fp16"] / med["emu:fp16"];
}' "$tmp/bfma"

if [ -x /usr/bin/time ]; then
    rss=$(/usr/bin/time -v "$build/bench_model" --threads "$THREADS" --reps 1 --model "$seed" emu:fp32 2>&1 >/dev/null \
          | awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }')
    echo "peak RSS of one emu:fp32 seed-model inference (bench_model, model load included): $((rss / 1024)) MiB"
else
    echo "# /usr/bin/time not installed (Debian package 'time'): no peak-memory figure"
fi
start=$(date +%s.%N)
"$fs" drift "$tmp/seed_w8a8.onnx" --input tests/fixtures/seed/input.npy --threads "$THREADS" --runs 100 \
    --configs coreml:cpu_only,coreml:cpu_and_gpu,coreml:cpu_and_ne,coreml:all >/dev/null
end=$(date +%s.%N)
echo "drift of the W8A8 seed model over the four coreml:* configurations, 100 runs each: $(echo "$end - $start" | bc) s"
