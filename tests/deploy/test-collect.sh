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
{ [ -s "$dir/out/shard-0.json" ] && [ -s "$dir/out/shard-1.json" ]; } || fail "the shards' reports were not collected"
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

# `run` waits until every pod has ended, whatever counts the Job's status leaves out while it runs
# (Kubernetes omits succeeded and failed while they are 0): collecting on a partial set would
# merge a test still under way. The stand-in answers the script's jsonpath as kubectl does, from a
# Job status that changes at each poll; the logs are read only after the last.
cat >"$dir/statuses.json" <<'JSON'
[{"active": 3}, {"active": 3}, {"active": 3, "ready": 3}, {"active": 1, "succeeded": 2},
 {"succeeded": 2, "failed": 1, "terminating": 1, "conditions": [{"type": "FailureTarget", "status": "True"}]},
 {"succeeded": 2, "failed": 1, "conditions": [{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}]}]
JSON
cat >"$dir/jsonpath.py" <<'PY'
# kubectl's -o jsonpath for what the script asks: {.a.b}, and {range .a[?(@.k=="v")]}...{end}
import json, re, sys
status, template = json.loads(sys.argv[1]), sys.argv[2]
def get(obj, path):
    for key in [k for k in path.split(".") if k]:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj
def render(obj, t):
    out, pos = "", 0
    for m in re.finditer(r'\{range \.([\w.]+)\[\?\(@\.(\w+)=="(\w+)"\)\]\}(.*?)\{end\}|\{(\.[\w.]*)\}', t):
        out += t[pos:m.start()]
        pos = m.end()
        if m.group(1):
            for item in get(obj, m.group(1)) or []:
                if item.get(m.group(2)) == m.group(3): out += render(item, m.group(4))
        else:
            v = get(obj, m.group(5))
            out += "" if v is None else str(v)
    return out + t[pos:]
print(render({"status": status}, template), end="")
PY
cat >"$dir/kubectl-run" <<KUBECTL
#!/usr/bin/env bash
[ "\$1" = --namespace ] && shift 2
polls="\$(cat "$dir/polls" 2>/dev/null || echo 0)"
case "\$1 \$2" in
  "get job")
    [ "\${4:-}" = "-o" ] || { [ "\$polls" -gt 0 ]; exit; }  # the Job exists once it has been polled
    status="\$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps(s[min(int(sys.argv[2]), len(s)-1)]))' "$dir/statuses.json" "\$polls")"
    echo \$((polls + 1)) >"$dir/polls"
    python3 "$dir/jsonpath.py" "\$status" "\${5#jsonpath=}" ;;
  "apply -f") cat >/dev/null ;;
  "get pods"|"logs "*)
    [ "\$polls" -ge "\$(cat "$dir/last")" ] || { echo "collected after \$polls polls, while pods still ran" >"$dir/early"; }
    "$dir/kubectl" "\$@" ;;
  *) echo "unexpected kubectl \$*" >&2; exit 1 ;;
esac
KUBECTL
chmod +x "$dir/kubectl-run"
# run_job STATUSES POLLS: `run` against a Job whose status goes through STATUSES (a JSON list), one per
# poll; it must collect after exactly POLLS polls (the first status that shows every pod ended)
run_job() {
  echo "$1" >"$dir/statuses.json"
  echo "$2" >"$dir/last"
  rm -f "$dir/polls" "$dir/early"
  set +e
  env -u JUPYTERHUB_API_TOKEN KUBECTL="$dir/kubectl-run" HST_TOOL="$tool" HST_POLL_SECONDS=0 timeout 60 "$root/deploy/hub-stress-test-job.sh" run \
    --image registry.example.org/hub-stress-test:1 --endpoint http://proxy-public.jhub.svc/hub/api --shards 3 --name test-job \
    --out "$dir/run-out" -- stress-test -c 9 >"$dir/run.out" 2>&1
  code=$?
  set -e
  [ ! -e "$dir/early" ] || fail "$(cat "$dir/early")"
  [ "$(cat "$dir/polls")" -eq "$2" ] || fail "run collected after $(cat "$dir/polls") polls of the Job's status, expected $2"
  [ "$code" -eq 128 ] || { cat "$dir/run.out"; fail "run exited $code, expected merge's 128 for the missing shard"; }
}
run_job "$(cat "$dir/statuses.json")" 6
# a Kubernetes that writes no conditions: the counts alone say when every pod has ended (2 succeeded and
# 1 failed of 3, none active or terminating)
run_job '[{"active": 3}, {"active": 2, "succeeded": 1}, {"succeeded": 2, "failed": 1, "terminating": 1}, {"succeeded": 2, "failed": 1}]' 4
echo "run waits for every pod: passed"

# `collect` of a Job still running is refused, before any report is read
echo 1 >"$dir/polls"
set +e
err="$(KUBECTL="$dir/kubectl-run" HST_TOOL="$tool" "$root/deploy/hub-stress-test-job.sh" collect --name test-job --shards 3 --out "$dir/early-out" 2>&1)"
code=$?
set -e
{ [ "$code" -eq 2 ] && [[ "$err" == *"still has pods running"* ]]; } || fail "collect of a running Job: exit $code: $err"
[ ! -e "$dir/early-out" ] || fail "collect of a running Job wrote $dir/early-out"
echo "collect refuses a running Job: passed"
