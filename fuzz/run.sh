#!/usr/bin/env bash
# run.sh: runs every fuzz target in BUILD_DIR for SECONDS each on a working
# copy of its seed corpus (BUILD_DIR/corpus/<target>, seeded from
# fuzz/corpus/<target>), one process, ASan+UBSan on. Crashes, leaks and
# sanitizer reports are written to BUILD_DIR/artifacts/<target>/ and make the
# script exit 1. Prints one line per target: executions, seconds, result.
# usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# FUZZ_RUNS=N also stops a target after N executions (libFuzzer -runs).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bdir=$1
secs=$2
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(onnx mlmodel weights manifest mlpackage npy graph profile)
# The package harnesses write a directory per execution: on a tmpfs that is
# several times faster than on disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
fail=0
for t in "${targets[@]}"; do
    bin=$bdir/fuzz_$t
    if [ ! -x "$bin" ]; then
        echo "fuzz $t: not built ($bin missing), skipped"
        continue
    fi
    work=$bdir/corpus/$t
    art=$bdir/artifacts/$t
    mkdir -p "$work" "$art"
    [ -d "$root/fuzz/corpus/$t" ] && cp -n "$root/fuzz/corpus/$t"/* "$work"/ 2>/dev/null
    log=$bdir/fuzz_$t.log
    runs_opt=()
    [ -n "${FUZZ_RUNS:-}" ] && runs_opt=(-runs="$FUZZ_RUNS")
    t0=$(date +%s)
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$art/" -print_final_stats=1 "${runs_opt[@]}" "$work" > "$log" 2>&1
    rc=$?
    el=$(( $(date +%s) - t0 ))
    runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    if [ $rc -eq 0 ]; then
        echo "fuzz $t: ${runs:-?} executions in ${el} s, no crash"
    else
        fail=1
        echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} executions; see $log and $art/"
        grep -a -m3 -E 'ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/    /'
    fi
done
exit $fail
