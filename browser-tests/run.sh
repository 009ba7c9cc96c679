#!/bin/sh
# Runs the differential test against real headless Chromium, installing
# Chromium from Debian's packages first when it is missing.
#
#   browser-tests/run.sh                   # the default corpus
#   CORSICA_SEED=7 CORSICA_CASES=5000 browser-tests/run.sh
set -eu

have_chromium() {
    if [ -n "${CORSICA_CHROMIUM:-}" ]; then
        [ -x "$CORSICA_CHROMIUM" ]
        return
    fi
    for b in /usr/lib/chromium/chromium /usr/bin/chromium /usr/bin/chromium-browser \
        /usr/bin/google-chrome /usr/bin/google-chrome-stable; do
        [ -x "$b" ] && return 0
    done
    return 1
}

if ! have_chromium; then
    echo "Chromium is missing: installing the Debian package 'chromium'" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

cd "$(dirname "$0")/.."
exec cargo test -p corsica-browser-tests --test chromium -- --nocapture
