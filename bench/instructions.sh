#!/usr/bin/env bash
# User-space instructions per request, corsica against nginx, counted by
# valgrind's callgrind: unlike requests per second on a shared 2-core
# machine, the count is the same from one run to the next (within about
# 0.5 %), so two builds, or corsica and nginx, can be told apart by a few
# percent. It counts the proxy's own work only: the kernel's (system calls,
# the loopback TCP stack, about two thirds of the CPU a proxied request
# costs) is not in it; bench/gateway.sh measures that part, with the rest.
#
#   bench/instructions.sh                  # all three scenarios, both proxies
#   SCENARIOS="origin" bench/instructions.sh
#   CORSICA_BIN=/path/to/corsica bench/instructions.sh   # another build
#
# Environment: SCENARIOS (preflight origin plain), SECONDS_COUNTED (8),
# CONNECTIONS (8), KEEP_PROFILES (a directory: the callgrind dumps are
# copied there as NAME-SCENARIO.callgrind, for callgrind_annotate, with
# their totals line in NAME-SCENARIO.totals), VALGRIND_EXTRA (more callgrind
# options, such as "--cache-sim=yes --branch-sim=yes" to count simulated
# cache misses and mispredicted branches). Each proxy runs as one worker
# under callgrind (corsica with --workers 1, nginx with one process and no
# master) behind the same upstream and policy as bench/gateway.sh. wrk
# warms it up for 3 s; then
# the counters are zeroed, wrk runs SECONDS_COUNTED seconds, and the
# counters are dumped: instructions over the requests wrk completed.
# Under valgrind each proxy runs some 50 times slower, so both see
# similar batches of events per wake-up.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

SCENARIOS="${SCENARIOS:-preflight origin plain}"
SECONDS_COUNTED="${SECONDS_COUNTED:-8}"
CONNECTIONS="${CONNECTIONS:-8}"
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

UPSTREAM_PORT=18091
CORSICA_PORT=18090
NGINX_PORT=18092
ORIGIN="https://app.example"
WORK="$(mktemp -d /tmp/corsica-instructions.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

bench_need nginx nginx wrk wrk valgrind valgrind curl curl
bench_build
CORSICA_BIN="${CORSICA_BIN:-$TARGET/corsica}"
NGINX="$(command -v nginx)"

"$TARGET/examples/bench_upstream" "127.0.0.1:$UPSTREAM_PORT" >/dev/null &
PIDS+=("$!")
wait_port "$UPSTREAM_PORT"
bench_corsica_config "$WORK/corsica.toml" "$CORSICA_PORT" "$UPSTREAM_PORT" "$ORIGIN"
bench_nginx_config "$WORK/nginx" "$NGINX_PORT" "$UPSTREAM_PORT" "$ORIGIN" 1 single
bench_wrk_scripts "$WORK" "$ORIGIN"

# count NAME SCENARIO: prints "requests instructions".
count() {
  local name="$1" scenario="$2" port out
  out="$WORK/$name-$scenario.callgrind"
  case "$name" in
    corsica)
      port="$CORSICA_PORT"
      RUST_LOG=warn valgrind --tool=callgrind ${VALGRIND_EXTRA:-} --callgrind-out-file="$out" \
        "$CORSICA_BIN" serve --config "$WORK/corsica.toml" --workers 1 2>"$WORK/valgrind-$name.log" &
      ;;
    nginx)
      port="$NGINX_PORT"
      valgrind --tool=callgrind ${VALGRIND_EXTRA:-} --callgrind-out-file="$out" \
        "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/valgrind-$name.log" &
      ;;
  esac
  local vg=$!
  wait_port "$port"
  bench_check "$name" "$port" "$ORIGIN"
  local url="http://127.0.0.1:$port/api/items"
  wrk -t1 -c"$CONNECTIONS" -d3s -s "$WORK/$scenario.lua" "$url" >/dev/null
  callgrind_control -z "$vg" >/dev/null 2>&1
  local requests
  requests="$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_COUNTED}s" -s "$WORK/$scenario.lua" "$url" |
    awk '/requests in/ {print $1}')"
  callgrind_control -d "$vg" >/dev/null 2>&1
  kill "$vg"
  wait "$vg" 2>/dev/null || true
  # The dump taken on request is the file with the highest suffix.
  local dump
  dump="$(ls -v "$out".* | tail -1)"
  if [ -n "${KEEP_PROFILES:-}" ]; then
    mkdir -p "$KEEP_PROFILES"
    cp "$dump" "$KEEP_PROFILES/$name-$scenario.callgrind"
  fi
  echo "$requests $(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
  [ -n "${KEEP_PROFILES:-}" ] && callgrind_annotate "$dump" 2>/dev/null | grep -m1 -B1 'PROGRAM TOTALS' >"$KEEP_PROFILES/$name-$scenario.totals" || true
}

echo "bench: corsica $("$CORSICA_BIN" --version 2>/dev/null || echo '(unknown version)'), nginx $("$NGINX" -v 2>&1 | cut -d/ -f2)" >&2
echo
echo "User-space instructions per request (callgrind; one worker each; wrk -t1 -c$CONNECTIONS, ${SECONDS_COUNTED} s counted):"
echo
echo "| Scenario | corsica instructions/request | nginx instructions/request | corsica/nginx |"
echo "| --- | ---: | ---: | ---: |"
for scenario in $SCENARIOS; do
  read -r cn ci < <(count corsica "$scenario")
  read -r nn ni < <(count nginx "$scenario")
  if [ -z "$cn" ] || [ -z "$nn" ] || [ "$cn" = 0 ] || [ "$nn" = 0 ]; then
    echo "no requests completed in the $scenario scenario" >&2
    exit 1
  fi
  c=$((ci / cn)) n=$((ni / nn))
  echo >&2 "bench: $scenario: corsica $cn requests, $c per request; nginx $nn requests, $n per request"
  echo "| $scenario | $c | $n | $(awk -v a="$c" -v b="$n" 'BEGIN { printf "%.3f", a / b }') |"
done
