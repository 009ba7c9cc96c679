#!/usr/bin/env bash
# Upstream connection reuse against a hostile upstream: corsica beside nginx
# and HAProxy, with equivalent settings, on 127.0.0.1.
#
#   bench/reuse.sh
#
# The upstream (crates/corsica-gateway/examples/reuse_probe.rs) follows every
# response, EXTRA_MS (3) later, with one more response that nobody asked for
# (`x-echo-id: extra`, with a `set-cookie`). The client sends CONNECTIONS (8)
# x REQUESTS (200) requests through each proxy, each with its own id, and
# counts what came back:
#   own      the answer to that request
#   extra    the unrequested response, handed to a client as its answer
#   foreign  another client's answer
#   errors   5xx or a broken connection
# It runs twice per proxy: back to back (GAP 0 ms between a connection's
# requests) and with a 10 ms pause. Then once more with reuse turned off
# (corsica `keepalive = false`, nginx without `keepalive`, HAProxy
# `http-reuse never`), where nothing can be misdirected.
#
# Settings: nginx keeps 32 idle upstream connections with
# keepalive_requests 1000 (its default); HAProxy `http-reuse safe` (its
# default); corsica its defaults (keepalive_requests 1000). All three run one
# worker, so that the runs compare like with like.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
CONNECTIONS="${CONNECTIONS:-8}"
REQUESTS="${REQUESTS:-200}"
EXTRA_MS="${EXTRA_MS:-3}"
UPSTREAM_PORT=18190
CORSICA_PORT=18191
NGINX_PORT=18192
HAPROXY_PORT=18193
CORSICA_ADMIN=18194
WORK="$(mktemp -d /tmp/corsica-reuse.XXXXXX)"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

bench_need nginx nginx haproxy haproxy
echo "bench: building corsica and the reuse probe (release)" >&2
(cd "$ROOT" &&
  cargo build --release --quiet -p corsica-cli --bin corsica &&
  cargo build --release --quiet -p corsica-gateway --example reuse_probe)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
PROBE="$TARGET/examples/reuse_probe"

"$PROBE" upstream "127.0.0.1:$UPSTREAM_PORT" "$EXTRA_MS" >/dev/null &
PIDS+=($!)
wait_port "$UPSTREAM_PORT"

# start_proxies REUSE (on|off): writes the three configs and starts them.
start_proxies() {
  local reuse="$1" corsica_extra="" nginx_keepalive="keepalive 32; keepalive_requests 1000;" haproxy_reuse="safe"
  if [ "$reuse" = off ]; then
    corsica_extra="keepalive = false"
    nginx_keepalive=""
    haproxy_reuse="never"
  fi
  cat >"$WORK/corsica.toml" <<EOF
listen = "127.0.0.1:$CORSICA_PORT"
upstream = "http://127.0.0.1:$UPSTREAM_PORT"
admin_listen = "127.0.0.1:$CORSICA_ADMIN"
$corsica_extra

[policy]
origins = ["https://app.example"]

[log]
format = "text"
EOF
  mkdir -p "$WORK/nginx/logs"
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
error_log logs/error.log;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  upstream hostile { server 127.0.0.1:$UPSTREAM_PORT; $nginx_keepalive }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://hostile;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  cat >"$WORK/haproxy.cfg" <<EOF
global
  maxconn 1000
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse $haproxy_reuse
frontend front
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend hostile
backend hostile
  server upstream 127.0.0.1:$UPSTREAM_PORT
EOF
  "$TARGET/corsica" serve --config "$WORK/corsica.toml" --workers 1 >"$WORK/corsica-$reuse.log" 2>&1 &
  CORSICA_PID=$!
  nginx -p "$WORK/nginx" -c nginx.conf -g 'daemon off;' &
  NGINX_PID=$!
  haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy-$reuse.log" 2>&1 &
  HAPROXY_PID=$!
  PIDS+=("$CORSICA_PID" "$NGINX_PID" "$HAPROXY_PID")
  wait_port "$CORSICA_PORT"
  wait_port "$NGINX_PORT"
  wait_port "$HAPROXY_PORT"
}

stop_proxies() {
  kill "$CORSICA_PID" "$NGINX_PID" "$HAPROXY_PID" 2>/dev/null || true
  wait "$CORSICA_PID" "$NGINX_PID" "$HAPROXY_PID" 2>/dev/null || true
}

echo "| reuse | gap | proxy | sent | own | extra | foreign | errors |"
echo "|---|---|---|---|---|---|---|---|"
# Each round starts the three proxies afresh, so that what one round taught
# a proxy (corsica stops reusing an upstream's connections for 60 s after
# its first stray response) does not carry into the next.
for reuse in on off; do
  for gap in 0 10; do
    start_proxies "$reuse"
    for proxy in corsica:$CORSICA_PORT nginx:$NGINX_PORT haproxy:$HAPROXY_PORT; do
      name="${proxy%%:*}" port="${proxy##*:}"
      line="$(timeout 120 "$PROBE" client "http://127.0.0.1:$port" "$CONNECTIONS" "$REQUESTS" "$gap")"
      # sent=N own=N foreign=N extra=N errors=N
      eval "$line"
      # shellcheck disable=SC2154
      echo "| $reuse | ${gap} ms | $name | $sent | $own | $extra | $foreign | $errors |"
    done
    if [ "$reuse" = on ]; then
      warned="$(grep -c "no request asked for" "$WORK/corsica-on.log" || true)"
      counted="$(curl -s "http://127.0.0.1:$CORSICA_ADMIN/metrics" | grep "^corsica_upstream_stray_responses_total" || true)"
      echo "|  |  | corsica logged $warned warning(s); /metrics: ${counted:-none} |  |  |  |  |  |"
    fi
    stop_proxies
  done
done
