#!/usr/bin/env bash
# Origin-store figures for BENCHMARKS.md, end to end through `corsica serve`
# (release build) and a real redis-server on loopback:
#
#   1. propagation: 3 replicas under load; a change made in the store until
#      every replica answers accordingly (examples/propagation.rs), p50/p99;
#   2. 1M origins: the bulk write with `corsica origins add --from-file`, the
#      time a replica takes from start to "origin set loaded", and its
#      resident memory against a replica with an empty set;
#   3. propagation again, with 3 replicas on the 1M-origin set.
#
#   bench/origins.sh                 # ROUNDS=200 COUNT=1000000
#   ROUNDS=50 COUNT=100000 bench/origins.sh
#
# Every process it starts is stopped by its PID on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${ROUNDS:-200}"
COUNT="${COUNT:-1000000}"
command -v redis-server >/dev/null || { echo "redis-server is required (apt-get install redis-server)" >&2; exit 1; }

echo "bench: building corsica and the propagation client (release)" >&2
(cd "$ROOT" && cargo build --release --quiet --bin corsica && cargo build --release --quiet --example propagation)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >/dev/null 2>&1 &
PIDS+=($!)
STORE="redis://127.0.0.1:$REDIS_PORT/0"
for _ in $(seq 1 200); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

# start_gateway NAME SET: starts a replica; sets GW_PID and GW_LISTEN.
start_gateway() {
  local name="$1" set="$2"
  cat >"$WORK/$name.toml" <<TOML
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
upstream = "http://127.0.0.1:9"
[policy]
origins = ["https://static.example"]
methods = ["PUT"]
credentials = true
origins_from = "$STORE"
origin_set = "$set"
TOML
  "$TARGET/corsica" serve --config "$WORK/$name.toml" --workers 1 2>"$WORK/$name.log" >/dev/null &
  GW_PID=$!
  PIDS+=("$GW_PID")
  for _ in $(seq 1 400); do grep -q 'listen=' "$WORK/$name.log" 2>/dev/null && break; sleep 0.05; done
  GW_LISTEN="$(grep -o 'listen=[0-9.:]*' "$WORK/$name.log" | head -1 | cut -d= -f2)"
}

# wait_loaded NAME: until the replica logged its first load (at most 120 s).
wait_loaded() {
  for _ in $(seq 1 2400); do grep -q 'origin set loaded' "$WORK/$1.log" && return 0; sleep 0.05; done
  echo "replica $1 never loaded its set" >&2; exit 1
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

echo "== propagation: 3 replicas, $ROUNDS adds and $ROUNDS removes, under load"
ADDRS=()
for i in 1 2 3; do start_gateway "replica$i" default; wait_loaded "replica$i"; ADDRS+=("$GW_LISTEN"); done
"$TARGET/examples/propagation" "$STORE" "$ROUNDS" "${ADDRS[@]}"

echo "== $COUNT origins"
seq 0 $((COUNT - 1)) | sed 's#.*#https://tenant&.customer.example#' >"$WORK/origins.txt"
start=$(date +%s.%N)
"$TARGET/corsica" origins add --store "$STORE" --set big --from-file "$WORK/origins.txt" >/dev/null
echo "bulk write with corsica origins add --from-file: $(echo "$(date +%s.%N) - $start" | bc) s"
start_gateway empty empty
wait_loaded empty
sleep 0.5
EMPTY_RSS=$(rss_kib "$GW_PID")
start=$(date +%s.%N)
start_gateway big big
wait_loaded big
echo "replica start to set loaded: $(echo "$(date +%s.%N) - $start" | bc) s ($(grep -o 'origin set loaded.*' "$WORK/big.log" | head -1))"
sleep 0.5
BIG_RSS=$(rss_kib "$GW_PID")
echo "resident memory: empty set ${EMPTY_RSS} KiB, $COUNT origins ${BIG_RSS} KiB: $(( (BIG_RSS - EMPTY_RSS) * 1024 / COUNT )) bytes per origin"

echo "== propagation on the $COUNT-origin set: 3 replicas, $ROUNDS adds and $ROUNDS removes, under load"
BIG=("$GW_LISTEN")
for i in 2 3; do start_gateway "big$i" big; wait_loaded "big$i"; BIG+=("$GW_LISTEN"); done
SET=big "$TARGET/examples/propagation" "$STORE" "$ROUNDS" "${BIG[@]}"
