#!/usr/bin/env bash
# Runs the benchmarks. Results go in docs/performance.md with this command.
# Usage: bash bench/run.sh [bench_model options]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
cmake --build "$build" -j "$(nproc)" --target bench_model >/dev/null
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "# CPU flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -oE 'avx2|avx512f|fma|f16c|avx512_bf16' | sort -u | xargs)"
"$build/bench_model" "$@"
