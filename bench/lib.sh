# Shared by the gateway benchmarks (bench/gateway.sh, bench/instructions.sh):
# the tools, the builds, and the same CORS policy written for corsica and for
# nginx, so that every benchmark compares the two on one configuration.
# Sourced, not run.

# Installs Debian packages for the commands that are missing: bench_need CMD PKG...
bench_need() {
  local missing=() cmd pkg
  while [ $# -ge 2 ]; do
    cmd="$1" pkg="$2"
    shift 2
    command -v "$cmd" >/dev/null || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bench: installing ${missing[*]} from Debian packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq </dev/null >/dev/null 2>&1 && apt-get install -y "${missing[@]}" </dev/null >/dev/null 2>&1; } || {
    apt-get update -qq </dev/null >/dev/null
    apt-get install -y "${missing[@]}" </dev/null >/dev/null
  }
}

# Builds corsica and the bench upstream in release; sets TARGET to their folder.
bench_build() {
  echo "bench: building corsica and the bench upstream (release)" >&2
  (cd "$ROOT" &&
    cargo build --release --quiet -p corsica-cli --bin corsica &&
    cargo build --release --quiet -p corsica-gateway --example bench_upstream)
  TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
}

# Waits until something accepts connections on 127.0.0.1:PORT.
wait_port() {
  local port="$1"
  for _ in $(seq 1 400); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on port $port" >&2
  exit 1
}

# The policy: one exact origin, PUT and DELETE, content-type, max_age 600.
# bench_corsica_config FILE PORT UPSTREAM_PORT ORIGIN
bench_corsica_config() {
  cat >"$1" <<EOF
listen = "127.0.0.1:$2"
upstream = "http://127.0.0.1:$3"

[policy]
origins = ["$4"]
methods = ["PUT", "DELETE"]
request_headers = ["content-type"]
max_age = 600

[log]
format = "text"
EOF
}

# The same policy the usual nginx way: an exact-origin map, preflights
# answered with 204, headers added with `always`, upstream CORS headers
# hidden, keepalive upstream connections.
# bench_nginx_config DIR PORT UPSTREAM_PORT ORIGIN WORKERS [single]
# With `single`, one process and no master (to run under valgrind).
bench_nginx_config() {
  local dir="$1" port="$2" upstream_port="$3" origin="$4" workers="$5" single="${6:-}"
  local master=""
  [ "$single" = single ] && master="master_process off;"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes $workers;
$master
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 100000;
  upstream api {
    server 127.0.0.1:$upstream_port;
    keepalive 128;
  }
  # Exact-origin allowlist: anything else maps to "" and add_header skips it.
  map \$http_origin \$cors_origin {
    default "";
    "$origin" \$http_origin;
  }
  map "\$request_method:\$http_origin:\$http_access_control_request_method" \$preflight {
    default 0;
    "~^OPTIONS:.+:.+\$" 1;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      if (\$preflight) {
        add_header Access-Control-Allow-Origin \$cors_origin always;
        add_header Access-Control-Allow-Methods "PUT, DELETE" always;
        add_header Access-Control-Allow-Headers "content-type" always;
        add_header Access-Control-Max-Age 600 always;
        add_header Vary "Origin, Access-Control-Request-Method, Access-Control-Request-Headers" always;
        return 204;
      }
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_hide_header Access-Control-Allow-Origin;
      proxy_hide_header Access-Control-Allow-Credentials;
      proxy_hide_header Access-Control-Expose-Headers;
      add_header Access-Control-Allow-Origin \$cors_origin always;
      add_header Vary Origin always;
    }
  }
}
EOF
}

# The wrk scripts of the three scenarios: preflight.lua, origin.lua, plain.lua.
# bench_wrk_scripts DIR ORIGIN
bench_wrk_scripts() {
  cat >"$1/preflight.lua" <<EOF
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "$2"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type"
EOF
  cat >"$1/origin.lua" <<EOF
wrk.method = "GET"
wrk.headers["Origin"] = "$2"
EOF
  cat >"$1/plain.lua" <<'EOF'
wrk.method = "GET"
EOF
}

# Fails unless the proxy on PORT answers a preflight with 204 and an
# allowed GET with the origin echoed. bench_check NAME PORT ORIGIN
bench_check() {
  local name="$1" port="$2" origin="$3" pre acao
  pre="$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "http://127.0.0.1:$port/api/items" \
    -H "Origin: $origin" -H 'Access-Control-Request-Method: PUT')"
  acao="$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/api/items" -H "Origin: $origin" \
    | tr -d '\r' | awk -F': ' 'tolower($1)=="access-control-allow-origin"{print $2}')"
  if [ "$pre" != 204 ] || [ "$acao" != "$origin" ]; then
    echo "$name does not answer as expected (preflight $pre, allow-origin '$acao')" >&2
    exit 1
  fi
}
