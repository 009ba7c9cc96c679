#!/usr/bin/env bash
# Runs every test of corsica, installing what the tests need when it is
# missing: formatting and lints, unit/integration/property tests, the
# Chromium differential suite, the gateway's network tests, and a fuzz smoke
# run of every fuzz target.
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
packages=()
[ -x /usr/lib/chromium/chromium ] || packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
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
[ -x /usr/lib/chromium/chromium ] || { echo "chromium is required for the browser tests and could not be installed" >&2; exit 1; }
command -v redis-server >/dev/null 2>&1 || { echo "redis-server is required for the origin-store tests and could not be installed" >&2; exit 1; }
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { echo "postgresql is required for the origin-store tests and could not be installed" >&2; exit 1; }
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
/usr/lib/chromium/chromium --version || true

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "tests (unit, integration, property, gateway, Chromium differential)"
cargo test --workspace --all-targets
cargo test --workspace --doc

step "fuzz smoke: ${FUZZ_SECONDS}s per target"
for target in origin_parser acrh_parser config_loader gateway_config; do
  mkdir -p "fuzz/corpus/$target"
  cp -n fuzz/seeds/"$target"/* "fuzz/corpus/$target/" 2>/dev/null || true
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1)
done

step "all tests passed"
