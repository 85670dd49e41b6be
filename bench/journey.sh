#!/usr/bin/env bash
# Benchmark: a class arriving on a local real JupyterHub (loopback only), every student with a real
# jupyterhub-singleuser server and an ipykernel kernel. Prints the per-step p50/p95 and the client's
# CPU time and peak memory.
#   bench/journey.sh                      30 students, --ramp-up 30s, 3 cells 5 s apart
#   bench/journey.sh 10 10s --auth form --password x   STUDENTS RAMP_UP, then more journey arguments
#   HUB_STRESS_TEST_HUB=5.2 bench/journey.sh   on JupyterHub 5.2.1 with Notebook 7 (tests/hub/local-hub.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="${HST_TOOL:-$root/build/hub-stress-test}"
[ -x "$tool" ] || "$root/scripts/build.sh"
students="${1:-30}"
ramp="${2:-30s}"
shift $(($# > 2 ? 2 : $#))
dir="$(mktemp -d /tmp/hst-journey-XXXXXX)"
trap '"$root/tests/hub/local-hub.sh" stop "$dir"; rm -rf "$dir"' EXIT
"$root/tests/hub/local-hub.sh" start "$dir" singleuser 2>"$dir/start.err" || { cat "$dir/start.err" >&2; exit 1; }
# shellcheck disable=SC1091
. "$dir/hub.env"
set +e
/usr/bin/time -f "TIME wall=%e user=%U sys=%S maxrss_kb=%M" -o "$dir/time" \
  "$tool" -e "$HST_ENDPOINT" -t "$HST_TOKEN" journey -c "$students" --ramp-up "$ramp" --cells 3 --think 5s \
  --json "$dir/journey.json" -q "$@" >"$dir/tool.out" 2>&1
status=$?
set -e
echo "== journey -c $students --ramp-up $ramp --cells 3 --think 5s $*: exit $status (local JupyterHub 3.0, $(nproc) cores)"
/usr/bin/python3 - "$dir/journey.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["journey"]
print(f"  students {j['students']}, completed {j['completed']}, failed {j['failed']}, late starts {j['late_starts']}")
for s in j["steps"]:
    d = s["seconds"]
    if d["count"]:
        print(f"  {s['name']:<22} n={d['count']:<4} p50={d['p50']:.3f} s  p95={d['p95']:.3f} s  max={d['max']:.3f} s")
for f in j["failures"]:
    print(f"  failed {f['count']}: {f['reason']}")
PY
sed 's/^TIME /  client: /' "$dir/time"
