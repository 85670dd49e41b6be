#!/usr/bin/env bash
# Benchmark: whole stress-test cycles against a local real JupyterHub (loopback only).
# Prints wall time per phase, the client's CPU time and peak memory, and HTTP requests per user.
#   bench/stress-cycle.sh            both settings of issue 3, then the purge measurement
#   bench/stress-cycle.sh mocksu 100 10   one setting: SPAWNER COUNT BATCH
#   HST_TOOL=/path/to/hub-stress-test bench/stress-cycle.sh shared 500 50   another build (a comparison)
#   HUB_STRESS_TEST_HUB=5.2 bench/stress-cycle.sh   on JupyterHub 5.2.1 (tests/hub/local-hub.sh)
# Settings: "mocksu" = one real process per user (jupyterhub.tests.mocksu), "shared" = every user
# points at one shared server inside the hub (SPEC §5), so hundreds of users cost nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="${HST_TOOL:-$root/build/hub-stress-test}"
[ -x "$tool" ] || [ -n "${HST_TOOL:-}" ] || "$root/scripts/build.sh"
[ -x "$tool" ] || { echo "stress-cycle.sh: $tool is not an executable" >&2; exit 1; }
hub="$root/tests/hub/local-hub.sh"

with_hub() {  # SPAWNER -> starts a hub, sets HST_ENDPOINT/HST_TOKEN/dir
  dir="$(mktemp -d /tmp/hst-bench-XXXXXX)"
  if ! "$hub" start "$dir" "$1" 2>"$dir/start.err"; then
    cat "$dir/start.err" >&2
    rm -rf "$dir"  # a hub that did not start leaves no folder behind
    exit 1
  fi
  # shellcheck disable=SC1091
  . "$dir/hub.env"
}
stop_hub() { "$hub" stop "$dir"; rm -rf "$dir"; }
hub_requests() { grep -c " log:" "$dir/hub.log" || true; }
# CPU seconds (user + sys) a process has used so far, from /proc (0 when it is gone)
cpu_s() {
  local pid="$1" ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", t / hz}'
}

cycle() {  # SPAWNER COUNT BATCH
  with_hub "$1"
  local out="$dir/tool.out" before after hub_pid proxy_pid hub0 proxy0
  hub_pid="$HST_PID"
  proxy_pid="$(cat "$dir/jupyterhub-proxy.pid" 2>/dev/null || echo 0)"
  hub0=$(cpu_s "$hub_pid")
  proxy0=$(cpu_s "$proxy_pid")
  before=$(hub_requests)
  /usr/bin/time -f "TIME wall=%e user=%U sys=%S maxrss_kb=%M" \
    "$tool" -e "$HST_ENDPOINT" -t "$HST_TOKEN" stress-test -c "$2" -b "$3" >"$out" 2>&1 || true
  after=$(hub_requests)
  echo "== stress-test -c $2 -b $3, spawner $1"
  grep -E "Phase |Servers ready|HTTP requests|Throttled|ERROR" "$out" | sed 's/^.*\[hub-stress-test\] /  /'
  grep TIME "$out" | sed 's/^TIME /  client: /'
  echo "  hub access log: $((after - before)) requests ($(awk -v a=$((after - before)) -v n="$2" 'BEGIN{printf "%.2f", a/n}') per user)"
  echo "  hub CPU: $(awk -v a="$(cpu_s "$hub_pid")" -v b="$hub0" 'BEGIN{printf "%.1f", a - b}') s (JupyterHub process), proxy CPU: $(awk -v a="$(cpu_s "$proxy_pid")" -v b="$proxy0" 'BEGIN{printf "%.1f", a - b}') s (configurable-http-proxy)"
  awk -v n="$2" '/^TIME/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "  client CPU per user: %.3f ms; peak RSS %.1f MB\n", (v["user"] + v["sys"]) * 1000 / n, v["maxrss_kb"] / 1024 }' "$out"
  stop_hub
}

purge_bench() {  # COUNT BATCH: servers running on the shared spawner, then purge
  with_hub shared
  "$tool" -e "$HST_ENDPOINT" -t "$HST_TOKEN" stress-test -c "$1" -b "$2" -k >/dev/null 2>&1
  local before after out="$dir/purge.out"
  before=$(hub_requests)
  /usr/bin/time -f "TIME wall=%e user=%U sys=%S maxrss_kb=%M" \
    "$tool" -e "$HST_ENDPOINT" -t "$HST_TOKEN" purge >"$out" 2>&1 || true
  after=$(hub_requests)
  echo "== purge of $1 users with running servers (shared spawner)"
  grep -E "seconds to|Found" "$out" | sed 's/^.*\[hub-stress-test\] /  /'
  grep TIME "$out" | sed 's/^TIME /  client: /'
  echo "  hub access log: $((after - before)) requests"
  stop_hub
}

if [ $# -ge 3 ]; then
  cycle "$1" "$2" "$3"
else
  cycle mocksu 100 10
  cycle shared 500 50
  purge_bench 500 50
fi
