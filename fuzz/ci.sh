#!/usr/bin/env bash
# ci.sh: builds the fuzz targets (clang, libFuzzer, ASan, UBSan) in BUILD_DIR
# and runs each SECONDS on its corpus (fuzz/run.sh). When clang or its
# libFuzzer runtime is missing it says so and exits 0 without running
# anything: `make test` then reports the step as skipped, never as passed.
# usage: fuzz/ci.sh BUILD_DIR SECONDS [JOBS] [CC]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bdir=$1
secs=$2
jobs=${3:-2}
cc=${4:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz: SKIPPED: $cc not found (apt-get install clang libclang-rt-14-dev)"
    exit 0
fi
probe='int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }'
if ! echo "$probe" | "$cc" -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1; then
    echo "fuzz: SKIPPED: $cc cannot link libFuzzer with ASan/UBSan (apt-get install libclang-rt-14-dev)"
    exit 0
fi
if [ ! -f "$bdir/CMakeCache.txt" ]; then
    # No CUDA: nvcc would link the targets with a host compiler that has no libFuzzer.
    CC=$cc cmake -S "$root" -B "$bdir" -DCMAKE_BUILD_TYPE=Debug -DFSC_FUZZ=ON -DFSC_WERROR=OFF -DFSC_CUDA=OFF \
        -DCMAKE_C_FLAGS=-O1 || exit 1
fi
cmake --build "$bdir" -j "$jobs" --target fuzz_all || exit 1
exec bash "$root/fuzz/run.sh" "$bdir" "$secs"
