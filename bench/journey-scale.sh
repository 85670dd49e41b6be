#!/usr/bin/env bash
# Benchmark: the client at scale. STUDENTS (default 2000) students against tests/support/fake_hub.py
# (a loopback fake of a hub, its proxy and its users' servers with kernel WebSockets, in its own
# process), each with a kernel WebSocket open, running a cell every 5 s for a minute. Prints the
# client's CPU time (and per student-minute of cells), its peak memory, and the per-step figures.
#   bench/journey-scale.sh [STUDENTS] [RAMP_UP]      defaults: 2000 30s
# The client is held to one core (taskset), the fake runs on the other.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="${HST_TOOL:-$root/build/hub-stress-test}"
[ -x "$tool" ] || "$root/scripts/build.sh"
students="${1:-2000}"
ramp="${2:-30s}"
cells=13  # the first, then 12 more 5 s apart: a minute of cells
dir="$(mktemp -d /tmp/hst-scale-XXXXXX)"
fake_pid=""
cleanup() { [ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
cores=$(nproc)
fake_cpu=$((cores > 1 ? 1 : 0))
taskset -c "$fake_cpu" /usr/bin/python3 "$root/tests/support/fake_hub.py" --spawn-delay 1 >"$dir/fake.out" 2>"$dir/fake.err" &
fake_pid=$!
for _ in $(seq 1 100); do grep -q PORT "$dir/fake.out" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/PORT/ {print $2}' "$dir/fake.out")
[ -n "$port" ] || { echo "journey-scale.sh: the fake hub did not start" >&2; cat "$dir/fake.err" >&2; exit 1; }
set +e
HUB_STRESS_TEST_STATE_DIR="$dir/state" /usr/bin/time -f "TIME wall=%e user=%U sys=%S maxrss_kb=%M" -o "$dir/time" \
  taskset -c 0 "$tool" -e "http://127.0.0.1:$port" -t admin-token journey -c "$students" --ramp-up "$ramp" \
  --cells $cells --think 5s -b 100 --json "$dir/journey.json" -q >"$dir/tool.out" 2>&1
status=$?
set -e
fake_cpu_s=$(awk '{print ($14 + $15) / 100}' "/proc/$fake_pid/stat" 2>/dev/null || echo "?")
echo "== journey -c $students --ramp-up $ramp --cells $cells --think 5s against the fake hub: exit $status"
grep -E "ERROR|failed journeys" "$dir/tool.out" | head -5 | sed 's/^.*\[hub-stress-test\] /  /' || true
/usr/bin/python3 - "$dir/journey.json" "$dir/time" "$students" "$fake_cpu_s" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1]))["journey"]
t = dict(re.findall(r"(\w+)=([\d.]+)", open(sys.argv[2]).read()))
students = int(sys.argv[3])
cpu = float(t["user"]) + float(t["sys"])
print(f"  students {j['students']}, completed {j['completed']}, failed {j['failed']}, late starts {j['late_starts']}")
for s in j["steps"]:
    d = s["seconds"]
    if d["count"]:
        print(f"  {s['name']:<22} n={d['count']:<6} p50={d['p50']:.3f} s  p95={d['p95']:.3f} s  max={d['max']:.3f} s")
for f in j["failures"][:5]:
    print(f"  failed {f['count']}: {f['reason']}")
print(f"  client: wall {t['wall']} s, user {t['user']} s, sys {t['sys']} s, peak RSS {int(t['maxrss_kb']) / 1024:.0f} MB")
print(f"  client CPU per student-minute of cells: {cpu / students * 1000:.1f} ms (cells span 1 minute per student)")
print(f"  fake hub CPU: {sys.argv[4]} s")
PY
