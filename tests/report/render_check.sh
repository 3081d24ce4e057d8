#!/usr/bin/env bash
# Renders the HTML reports of the built-in model (size 32, 2 runs) and of the
# seed fixture (tests/fixtures/seed/seed.onnx + input.npy, 2 runs) with
# headless Chromium: the page must load with no console message, the PNG
# screenshot must be written, and the parsed DOM must hold the SVG charts
# with one margin point per configuration that ran and one logit bar per
# configuration and shown logit. Skips (exit 77) only when chromium is absent.
# Usage: render_check.sh FLIPSCOPE SRC_DIR
set -u
fs=$1
src=$2
if ! command -v chromium >/dev/null 2>&1; then
    echo "SKIP: chromium is not installed (Debian package 'chromium'); the HTML rendering check did not run"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

chrome() { # chrome OUT_PREFIX URL EXTRA_ARGS...: headless, offline, throwaway profile
    local out=$1 url=$2
    shift 2
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
        --user-data-dir="$(mktemp -d -p "$tmp")" --enable-logging=stderr --v=0 "$@" "$url" \
        >"$out.stdout" 2>"$out.stderr"
}

# Counts lines of tables whose cell count differs from their header's.
md_tables_ok() {
    awk '
        /^```/ { code = !code; next }
        !code && /^\|/ { line = $0; gsub(/\\\|/, "", line); n = gsub(/\|/, "", line) - 1
                         if (!intable) { cols = n; intable = 1; tables++ } else if (n != cols) bad++ ; next }
        { intable = 0 }
        END { if (tables == 0) bad++; print bad + 0 }' "$1"
}

check_report() { # check_report NAME DIR N_CONFIGS N_LOGITS
    local name=$1 dir=$2 ncfg=$3 nlog=$4
    for f in report.md report.json report.html; do
        [ -s "$dir/$f" ] || { bad "$name: $f missing"; return; }
    done
    local ran
    ran=$(grep -cE '"status":[[:space:]]*"ok"' "$dir/report.json")
    [ "$ran" = "$ncfg" ] && ok "$name: $ncfg configurations ran (report.json)" || bad "$name: report.json has $ran ok configurations, expected $ncfg"
    local mdbad
    mdbad=$(md_tables_ok "$dir/report.md")
    [ "$mdbad" = 0 ] && ok "$name: Markdown tables have one cell count each" || bad "$name: $mdbad Markdown table rows off"

    # 1. screenshot; the log must hold no console message (errors, CSP refusals, failed loads)
    chrome "$tmp/$name.shot" "file://$dir/report.html" --window-size=1000,3000 --screenshot="$dir/report.png"
    if [ -s "$dir/report.png" ] && [ "$(head -c 8 "$dir/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
        ok "$name: PNG screenshot ($(stat -c %s "$dir/report.png") bytes)"
    else
        bad "$name: no PNG screenshot"; sed -n 1,20p "$tmp/$name.shot.stderr"
    fi
    if grep -qE 'CONSOLE|Uncaught|Refused to|Failed to load resource|net::ERR' "$tmp/$name.shot.stderr"; then
        bad "$name: console messages while loading:"; grep -E 'CONSOLE|Uncaught|Refused to|Failed to load|net::ERR' "$tmp/$name.shot.stderr" | head
    else
        ok "$name: page loads with no console message"
    fi

    # 2. the DOM Chromium parsed: charts and their marks
    chrome "$tmp/$name.dom" "file://$dir/report.html" --dump-dom
    local dom="$tmp/$name.dom.stdout"
    grep -q '</html>' "$dom" && grep -q 'Honest claim' "$dom" || { bad "$name: DOM dump incomplete"; return; }
    local svgs points bars iso
    svgs=$(grep -o '<svg ' "$dom" | wc -l)
    points=$(grep -o 'class="point margin' "$dom" | wc -l)
    bars=$(grep -o 'class="bar logit"' "$dom" | wc -l)
    iso=$(grep -o 'class="bar isoerr' "$dom" | wc -l)
    [ "$points" = "$ncfg" ] && ok "$name: margin chart has $points points" || bad "$name: margin chart has $points points, expected $ncfg"
    [ "$bars" = $((ncfg * nlog)) ] && ok "$name: logits chart has $bars bars" || bad "$name: logits chart has $bars bars, expected $((ncfg * nlog))"
    if grep -q '"localization":[[:space:]]*null' "$dir/report.json"; then
        [ "$svgs" = 2 ] && [ "$iso" = 0 ] && grep -q 'isolated error is omitted' "$dom" \
            && ok "$name: no localization: 2 charts, the per-op chart omitted with a note" \
            || bad "$name: $svgs charts, $iso per-op bars without localization data"
    else
        # one bar per op output with a non-zero isolated error in report.json (null = non-finite or NaN)
        local want_iso
        want_iso=$(grep -oE '"isolated":[[:space:]]*[^,}[:space:]]+' "$dir/report.json" | grep -cvE ':[[:space:]]*(0|null)$')
        [ "$svgs" = 3 ] && [ "$iso" = "$want_iso" ] && [ "$iso" -ge 1 ] && ok "$name: 3 charts, $iso per-op error bars" \
            || bad "$name: $svgs charts, $iso per-op bars, expected 3 charts and $want_iso bars"
    fi
}

# the built-in model, size 32, without localization (the per-op chart is omitted with a note)
"$fs" report --size 32 --runs 2 --configs emu:fp32,emu:fp16,emu:fp16-acc16 --localize none --out "$tmp/builtin" >"$tmp/builtin.log" 2>&1 \
    && ok "report built-in model" || { bad "report built-in model"; cat "$tmp/builtin.log"; }
check_report builtin "$tmp/builtin" 3 2

# the seed fixture with its input; localization on (auto: the configuration that flipped)
seed="$src/tests/fixtures/seed"
seed_cfgs=emu:fp32,emu:fp16-acc16,coreml:all # coreml:all adds a placement plan
[ -n "${FSC_TEST_QUICK:-}" ] && seed_cfgs=emu:fp32,emu:fp16-acc16 # sanitizer builds: two 224x224 configurations
"$fs" report "$seed/seed.onnx" --input "$seed/input.npy" --runs 2 --configs "$seed_cfgs" \
    --out "$tmp/seed" >"$tmp/seed.log" 2>&1 && ok "report seed fixture" || { bad "report seed fixture"; cat "$tmp/seed.log"; }
check_report seed "$tmp/seed" "$(tr , '\n' <<<"$seed_cfgs" | wc -l)" 2
if [ -z "${FSC_TEST_QUICK:-}" ]; then
    grep -q '^| coreml:all | 20 | 1 | 0 | ne (accelerator) 19, gpu 0, cpu 0 | 19 |$' "$tmp/seed/report.md" \
        && grep -qE '"id":[[:space:]]*"accelerator_placement",' "$tmp/seed/report.json" \
        && ok "seed: placement of coreml:all (19 of 20 ops on the NE, 1 constant)" || bad "seed: placement row"
fi
grep -q "$(sha256sum "$seed/seed.onnx" | cut -c1-64)" "$tmp/seed/report.json" && ok "seed: SHA-256 matches sha256sum" \
    || bad "seed: SHA-256 in report.json differs from sha256sum"

# keep the screenshots when asked (to look at them)
if [ -n "${FSC_KEEP_RENDER:-}" ]; then
    mkdir -p "$FSC_KEEP_RENDER" && cp "$tmp/builtin/report.png" "$FSC_KEEP_RENDER/builtin.png" \
        && cp "$tmp/seed/report.png" "$FSC_KEEP_RENDER/seed.png"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
