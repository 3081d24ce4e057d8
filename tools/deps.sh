#!/usr/bin/env bash
# Installs the Debian packages flipscope needs when they are missing.
# Usage: deps.sh REQUIRED... -- OPTIONAL...
# Required packages that cannot be installed stop the build with a clear list;
# optional ones (extra backends) are installed when possible, else reported.
set -u
required=() optional=() seen_sep=0
for a in "$@"; do
    if [ "$a" = "--" ]; then seen_sep=1; continue; fi
    if [ $seen_sep = 0 ]; then required+=("$a"); else optional+=("$a"); fi
done

missing() {
    local out=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || out+=("$p")
    done
    echo "${out[@]:-}"
}

apt_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else return 2; fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ ! -f /tmp/.flipscope-apt-updated ]; then
        $sudo apt-get update -qq >/dev/null 2>&1 && touch /tmp/.flipscope-apt-updated
    fi
    $sudo apt-get install -y -qq --no-install-recommends "$@" >/tmp/flipscope-apt.log 2>&1
}

if ! command -v dpkg-query >/dev/null; then
    echo "deps: not a Debian system; make sure these are installed: ${required[*]}" >&2
    exit 0
fi

need=$(missing "${required[@]}")
if [ -n "$need" ]; then
    echo "deps: installing missing packages: $need"
    apt_install $need
    rc=$?
    if [ $rc = 2 ]; then
        echo "deps: these Debian packages are missing and I cannot install them (not root, no sudo):" >&2
        echo "      sudo apt-get install $need" >&2
        exit 1
    fi
    still=$(missing "${required[@]}")
    if [ -n "$still" ]; then
        echo "deps: apt-get could not install: $still (log: /tmp/flipscope-apt.log)" >&2
        exit 1
    fi
fi

if [ ${#optional[@]} -gt 0 ]; then
    opt=$(missing "${optional[@]}")
    if [ -n "$opt" ]; then
        echo "deps: installing optional packages (extra backends): $opt"
        apt_install $opt || echo "deps: optional packages not installed ($opt); those backends will be reported unavailable"
    fi
fi
exit 0
