#!/usr/bin/env bash
# The engine against wrk on one core: a local nginx on a loopback port answers a small JSON body;
# engine-bench and then `wrk -t1 -c50 -d5s` each keep 50 connections busy for 5 s, pinned to one
# core (nginx to the other when there is one). Prints both figures. Not part of CI.
#   bench/engine-bench.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
connections="${1:-50}"
seconds="${2:-5}"

# nginx and wrk are for this benchmark only, so they are installed here, not by install-deps.sh.
if ! command -v wrk >/dev/null || ! [ -x /usr/sbin/nginx ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "engine-bench.sh: installing nginx wrk" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx wrk >/dev/null
fi
bench="$root/build/bench/engine-bench"
if ! [ -x "$bench" ]; then
  "$root/scripts/build.sh"
fi

tmp="$(mktemp -d /tmp/engine-bench.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type application/json;
      return 200 '{"version": "3.0.0"}';
    }
  }
}
CONF
chmod 755 "$tmp"
cores="$(nproc)"
client_core=0
server_core=$((cores > 1 ? 1 : 0))
taskset -c "$server_core" /usr/sbin/nginx -c "$tmp/nginx.conf" -p "$tmp" -g "user $(id -un);" 2>/dev/null ||
  taskset -c "$server_core" /usr/sbin/nginx -c "$tmp/nginx.conf" -p "$tmp"
stop_nginx() {
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  sleep 0.2
  rm -rf "$tmp"
}
trap stop_nginx EXIT
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done

url="http://127.0.0.1:$port/"
echo "== engine-bench (taskset -c $client_core, $connections connections, ${seconds}s) =="
engine_out="$(taskset -c "$client_core" "$bench" --url "$url" --connections "$connections" --duration "$seconds")"
echo "$engine_out"
echo "== wrk -t1 -c$connections -d${seconds}s (taskset -c $client_core) =="
wrk_out="$(taskset -c "$client_core" wrk -t1 -c"$connections" -d"${seconds}s" "$url")"
echo "$wrk_out"

engine_rps="$(echo "$engine_out" | awk '/^requests\/s/ {print $2}')"
wrk_rps="$(echo "$wrk_out" | awk '/^Requests\/sec:/ {print $2}')"
echo "== summary =="
echo "engine-bench requests/s $engine_rps"
echo "wrk          requests/s $wrk_rps"
awk -v e="$engine_rps" -v w="$wrk_rps" 'BEGIN { if (w > 0) printf "ratio %.2f (goal >= 0.50)\n", e / w }'
