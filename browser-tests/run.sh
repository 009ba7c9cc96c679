#!/bin/sh
# Runs the differential tests against real headless Chromium, Firefox ESR
# and WebKitGTK, installing the browsers from Debian's packages first when
# they are missing.
#
#   browser-tests/run.sh                   # the default corpus, all three
#   browser-tests/run.sh firefox           # one browser (chromium, firefox, webkit)
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

packages=""
have_chromium || packages="$packages chromium"
[ -x "${CORSICA_FIREFOX:-/usr/bin/firefox-esr}" ] || packages="$packages firefox-esr"
[ -x "${CORSICA_WEBKIT_DRIVER:-/usr/bin/WebKitWebDriver}" ] || packages="$packages webkit2gtk-driver"
command -v xvfb-run >/dev/null 2>&1 || packages="$packages xvfb"
command -v xauth >/dev/null 2>&1 || packages="$packages xauth"
if [ -n "$packages" ]; then
    echo "installing the Debian packages:$packages" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update
    # shellcheck disable=SC2086 # one word per package
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $packages
fi

cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
    exec cargo test -p corsica-browser-tests --test chromium --test firefox --test webkit -- --nocapture
fi
exec cargo test -p corsica-browser-tests --test "$1" -- --nocapture
