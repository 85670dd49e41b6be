#!/usr/bin/env bash
# The engine against wrk on one core: a local nginx on a loopback port answers a small JSON body;
# engine-bench, curl-bench (libcurl's own loop with the same request options: the floor under the
# engine) and `wrk -t1 -c50 -d5s` each keep 50 connections busy for 5 s, pinned to one core (nginx
# to the other when there is one), one after the other, ROUNDS times (a shared machine's speed
# drifts from one second to the next: only figures taken side by side compare). Prints every
# figure, the medians and the ratios: the ratio of each round (engine-bench beside the curl-bench
# run right before or after it, each first in every other round) and their median, which a drifting machine moves less than the ratio of the
# two medians. Each round also gives the CPU time (user + system, /usr/bin/time) per answer of
# those same runs: the host's other guests, which move requests per second, do not move it.
# Not part of CI.
#   bench/engine-bench.sh [CONNECTIONS] [SECONDS] [ROUNDS]
# ENGINE_BENCH=/path/engine-bench and CURL_BENCH=/path/curl-bench run other builds of them (an older
# commit's, to compare before and after); the default is this tree's build/bench/.
# INSTRUCTIONS=1 first counts instructions per request of both under valgrind --tool=callgrind
# (steady state: the runs of --requests 12000 and 2000, the difference divided by the difference
# of answers), which a shared machine's load does not move; it installs valgrind if missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
connections="${1:-50}"
seconds="${2:-5}"
rounds="${3:-3}"

# nginx and wrk are for this benchmark only, so they are installed here, not by install-deps.sh.
if ! command -v wrk >/dev/null || ! [ -x /usr/sbin/nginx ] || ! [ -x /usr/bin/time ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "engine-bench.sh: installing nginx wrk time" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx wrk time >/dev/null
fi
bench="${ENGINE_BENCH:-$root/build/bench/engine-bench}"
floor="${CURL_BENCH:-$root/build/bench/curl-bench}"
if ! [ -x "$bench" ] || ! [ -x "$floor" ]; then
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
if [ "${INSTRUCTIONS:-0}" = 1 ]; then
  command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
  # "INSTRUCTIONS ANSWERS" of one run of $1 that stops after $2 answers
  counted() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --url "$url" --connections "$connections" \
      --duration 1000 --requests "$2" 2>&1 |
      awk '/Collected :/ {c = $4} /^answers 2xx/ {n += $3} /^answers other/ {n += $3} /^failed/ {n += $2} END {print c, n}'
  }
  per_request() {
    read -r c1 n1 < <(counted "$1" 2000)
    read -r c2 n2 < <(counted "$1" 12000)
    awk -v c1="$c1" -v c2="$c2" -v n1="$n1" -v n2="$n2" 'BEGIN {printf "%.0f", (c2 - c1) / (n2 - n1)}'
  }
  engine_ipr="$(per_request "$bench")"
  floor_ipr="$(per_request "$floor")"
  echo "instructions/request: engine-bench $engine_ipr  curl-bench $floor_ipr  (callgrind, 12000 minus 2000 requests)"
  awk -v e="$engine_ipr" -v f="$floor_ipr" 'BEGIN {printf "ratio by instructions: libcurl alone/engine %.3f\n", f / e}'
fi
rps() { awk '/^requests\/s/ {print $2} /^Requests\/sec:/ {print $2}'; }
# "REQUESTS_PER_S CPU_US_PER_ANSWER" of one timed run of $1
timed() {
  local out
  out="$(taskset -c "$client_core" /usr/bin/time -f 'cpu %U %S' "$1" --url "$url" --connections "$connections" \
    --duration "$seconds" 2>&1)"
  awk '/^requests\/s/ {r = $2} /^answers 2xx/ {n += $3} /^answers other/ {n += $3} /^failed/ {n += $2}
       /^cpu / {c = $2 + $3} END {printf "%s %.2f\n", r, (n > 0 ? c * 1e6 / n : 0)}' <<<"$out"
}
engine_all=() floor_all=() wrk_all=() ratio_all=() engine_cpu_all=() floor_cpu_all=() cpu_ratio_all=()
for round in $(seq "$rounds"); do
  if ((round % 2)); then # each goes first in every other round: neither always meets the machine as the other left it
    read -r e ec < <(timed "$bench")
    read -r f fc < <(timed "$floor")
  else
    read -r f fc < <(timed "$floor")
    read -r e ec < <(timed "$bench")
  fi
  w="$(taskset -c "$client_core" wrk -t1 -c"$connections" -d"${seconds}s" "$url" | rps)"
  r="$(awk -v e="$e" -v f="$f" 'BEGIN {printf "%.3f", (f > 0 ? e / f : 0)}')"
  cr="$(awk -v e="$ec" -v f="$fc" 'BEGIN {printf "%.3f", (e > 0 ? f / e : 0)}')"
  echo "round $round: engine-bench $e  curl-bench $f  wrk $w  (requests/s, $connections connections, ${seconds}s, taskset -c $client_core); engine/libcurl alone $r"
  echo "         CPU per answer: engine-bench $ec us  curl-bench $fc us; libcurl alone/engine $cr"
  engine_all+=("$e") floor_all+=("$f") wrk_all+=("$w") ratio_all+=("$r")
  engine_cpu_all+=("$ec") floor_cpu_all+=("$fc") cpu_ratio_all+=("$cr")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
engine_rps="$(median "${engine_all[@]}")"
floor_rps="$(median "${floor_all[@]}")"
wrk_rps="$(median "${wrk_all[@]}")"
echo "== summary (medians of $rounds rounds) =="
echo "engine-bench requests/s $engine_rps"
echo "curl-bench   requests/s $floor_rps"
echo "wrk          requests/s $wrk_rps"
awk -v e="$engine_rps" -v f="$floor_rps" -v w="$wrk_rps" 'BEGIN {
  if (w > 0) printf "ratio engine/wrk %.2f (goal >= 0.50), libcurl alone/wrk %.2f, engine/libcurl alone %.2f\n", e / w, f / w, (f > 0 ? e / f : 0)
}'
echo "engine/libcurl alone, median of the rounds' ratios: $(median "${ratio_all[@]}")"
echo "CPU per answer (medians): engine-bench $(median "${engine_cpu_all[@]}") us  curl-bench $(median "${floor_cpu_all[@]}") us; libcurl alone/engine, median of the rounds' ratios: $(median "${cpu_ratio_all[@]}")"
