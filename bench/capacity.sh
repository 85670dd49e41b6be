#!/usr/bin/env bash
# Benchmark: a capacity search on a local real JupyterHub (loopback only), every student with a real
# server and kernel. Prints the stages (rate, arrived, time to first result p50/p95, failures, verdict),
# the capacity line, and the client's CPU time and peak memory.
#   bench/capacity.sh                                   singleuser spawner, --start 30/min --stage 30s
#   bench/capacity.sh shared --start 60/min --factor 2  SPAWNER, then more capacity arguments
#   HUB_STRESS_TEST_HUB=5.2 bench/capacity.sh           on JupyterHub 5.2.1 with Notebook 7
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="${HST_TOOL:-$root/build/hub-stress-test}"
[ -x "$tool" ] || "$root/scripts/build.sh"
spawner="${1:-singleuser}"
shift $(($# > 0 ? 1 : 0))
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--start 30/min --stage 30s)
dir="$(mktemp -d /tmp/hst-capacity-XXXXXX)"
trap '"$root/tests/hub/local-hub.sh" stop "$dir"; rm -rf "$dir"' EXIT
"$root/tests/hub/local-hub.sh" start "$dir" "$spawner" 2>"$dir/start.err" || { cat "$dir/start.err" >&2; exit 1; }
# shellcheck disable=SC1091
. "$dir/hub.env"
set +e
/usr/bin/time -f "TIME wall=%e user=%U sys=%S maxrss_kb=%M" -o "$dir/time" \
  "$tool" -e "$HST_ENDPOINT" -t "$HST_TOKEN" capacity "${args[@]}" --json "$dir/capacity.json" -q >"$dir/tool.out" 2>&1
status=$?
set -e
echo "== capacity ${args[*]}: exit $status (local JupyterHub ${HUB_STRESS_TEST_HUB:-3.0}, $spawner spawner, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
grep -iE '(^error|\berror\b)' "$dir/tool.out" | head -5 || true
if [ -s "$dir/capacity.json" ]; then
  /usr/bin/python3 - "$dir/capacity.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for st in r["stages"]:
    ttfr = next((s["seconds"] for s in st["steps"] if s["name"] == "time_to_first_result"), {"count": 0})
    figures = f"ttfr p50={ttfr['p50']:.1f} s p95={ttfr['p95']:.1f} s" if ttfr["count"] else "ttfr -"
    cpu = f" hub CPU peak {st['hub_cpu_peak_pct']:.0f} %" if st["hub_cpu_peak_pct"] is not None else ""
    print(f"  stage {st['number']} {st['rate_per_min']:g}/min: arrived {st['arrived']}, population {st['population']}, {figures},"
          f" failed {st['failed']}, 429s {st['answers_429']},{cpu} -> {st['verdict']}")
print("  capacity:", r["capacity"]["line"])
PY
else
  tail -5 "$dir/tool.out"
fi
sed 's/^TIME /  client: /' "$dir/time"
