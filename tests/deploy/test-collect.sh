#!/usr/bin/env bash
# deploy/'s path from the pods to one report, without a cluster: two shards run through the
# container's entry point (a dry run of the real tool), their logs are served by a stand-in for
# kubectl, and deploy/hub-stress-test-job.sh collect finds each pod's report in its log and merges.
# Usage: test-collect.sh TOOL
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tool="${1:?usage: test-collect.sh TOOL}"
dir="$(mktemp -d /tmp/hst-collect-XXXXXX)"
trap 'rm -rf "$dir"' EXIT
for i in 0 1; do
  mkdir -p "$dir/pod-$i"
  TMPDIR="$dir/pod-$i" HST_TOOL="$tool" HUB_STRESS_TEST_STATE_DIR="$dir/state" \
    "$root/deploy/shard-entrypoint.sh" --dry-run -e http://127.0.0.1:9/hub/api stress-test -c 9 -b 4 --shard "$i/3" -q \
    >"$dir/pod-$i.log" 2>&1
done
echo "a pod that died before its report" >"$dir/pod-2.log"
cat >"$dir/kubectl" <<KUBECTL
#!/usr/bin/env bash
# stands in for kubectl: the pods of the Job and their logs
[ "\$1" = --namespace ] && shift 2
case "\$1 \$2" in
  "get pods") printf 'test-job-0-abc 0\ntest-job-1-def 1\ntest-job-2-ghi 2\n' ;;
  "logs test-job-0-abc") cat "$dir/pod-0.log" ;;
  "logs test-job-1-def") cat "$dir/pod-1.log" ;;
  "logs test-job-2-ghi") cat "$dir/pod-2.log" ;;
  *) echo "unexpected kubectl \$*" >&2; exit 1 ;;
esac
KUBECTL
chmod +x "$dir/kubectl"
set +e
KUBECTL="$dir/kubectl" HST_TOOL="$tool" "$root/deploy/hub-stress-test-job.sh" collect --name test-job --out "$dir/out" >"$dir/collect.out" 2>&1
code=$?
set -e
cat "$dir/collect.out"
fail() { echo "test-collect: $*" >&2; exit 1; }
[ "$code" -eq 128 ] || fail "collect exited $code; a missing shard must fail the test (128)"
grep -q "pod test-job-2-ghi (shard 2) printed no report" "$dir/collect.out" || fail "the pod without a report is not named"
[ -s "$dir/out/shard-0.json" ] && [ -s "$dir/out/shard-1.json" ] || fail "the shards' reports were not collected"
python3 - "$dir/out/merged.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert [s["index"] for s in m["shards"]] == [0, 1], m["shards"]
assert m["missing_shards"] == [2], m["missing_shards"]
assert m["users"]["requested"] == 9 and m["users"]["created"] == 6, m["users"]
assert m["status"] == "failed" and "shard 2" in m["error"], m["error"]
PY
[ -s "$dir/out/merged.html" ] || fail "no merged HTML report"
echo "collect checks passed"
