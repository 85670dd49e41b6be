#!/usr/bin/env bash
# The Job that deploy/hub-stress-test-job.sh renders is a valid Kubernetes object (its schema,
# through kubernetes-models) with what the shards need; a broken one is refused; bad usage is one line.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
job="$root/deploy/hub-stress-test-job.sh"
validate() { node "$root/tests/deploy/validate.mjs" "$@"; }
render() { "$job" render --image registry.example.org/hub-stress-test:1 --endpoint http://proxy-public.jhub.svc/hub/api "$@"; }

render --shards 4 -- stress-test -c 4000 -b 40 | validate 4
render --shards 10 --name class-rehearsal -- journey -c 1000 --ramp-up 10m --threshold 'time_to_first_result_p95<120s' | validate 10
render --shards 2 -- activity-stress-test -c 500 --duration 5m | validate 2

# the check is alive: a Job the API server would refuse, and one without what the shards need
if render --shards 4 -- stress-test -c 40 | sed 's/completions: 4/completions: four/' | validate 4 2>/dev/null; then
  echo "a Job with completions: four passed the schema check" >&2; exit 1
fi
if render --shards 4 -- stress-test -c 40 | sed 's/completionMode: Indexed/completionMode: NonIndexed/' | validate 4 2>/dev/null; then
  echo "a Job that is not Indexed passed the check" >&2; exit 1
fi

# an argument reaches the pod exactly as given: quotes, backslashes, a newline
code=$'x = "6\\"\nprint(x)'
render --shards 2 -- journey -c 4 --code "$code" | validate 2 | grep -qF "$(printf '%s' "$code" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" ||
  { echo "--code with a newline did not reach the Job as given" >&2; exit 1; }

# secrets never go into the Job; bad usage: one line, exit 2
# every way the tool reads a token, a password or an endpoint (combined short flags included), and
# Jobs whose every pod would refuse to start
for bad in "--shards 0 -- stress-test" "-- purge" "--shards 2 -- stress-test --shard 0/2" "--shards 2" \
  "-- journey -tSECRETTOKEN123" "-- journey --token=SECRETTOKEN123" "-- journey --auth form --password SECRETPASSWORD" \
  "-- journey -c 4 -qtSECRET" "-- journey -vt SECRET" "-- journey -kqv -t SECRET" "-- journey --password=SECRET" \
  "-- journey -e http://admin:pw@hub/hub/api" "-- journey --endpoint=http://admin:pw@hub/hub/api" "-- journey -qehttp://x/hub/api" \
  "-- stress-test --shards=2" "-- journey --json=/tmp/x" \
  "--secret a\nb -- stress-test" "--endpoint http://admin:pw@hub/hub/api -- stress-test" \
  "--start-in 99999999999999 -- stress-test" "--shards 20000 -- stress-test -c 40000" "--shards 8 -- journey -c 4" \
  "--shards 200 -- stress-test" "-- journey -c abc" "-- stress-test -c0" "--endpoint hub.svc/hub/api -- stress-test"; do
  set +e
  # shellcheck disable=SC2086
  err="$(render $bad 2>&1 >/dev/null)"
  code=$?
  set -e
  [ "$code" -eq 2 ] || { echo "render $bad: exit $code, expected 2" >&2; exit 1; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "render $bad: more than one line: $err" >&2; exit 1; }
done
if "$job" render --endpoint http://x/hub/api -- stress-test 2>/dev/null; then echo "render without --image passed" >&2; exit 1; fi
# what only looks like a secret is a value: --code -t is code, -c40 -qkv are a count and flags
render --shards 2 -- journey --code -t -c40 -qkv | validate 2 >/dev/null
render --shards 2 -- capacity --start 30/min --stage 1m | validate 2 >/dev/null

# the script reads the tool's grammar: its lists of options match what the tool's --help shows
tool="$root/build/hub-stress-test"
if [ -x "$tool" ]; then
  from_help() {  # option names with (value) or without (flag) an argument, as --help lists them
    for cmd in "" stress-test activity-stress-test journey capacity; do
      # shellcheck disable=SC2086
      "$tool" $cmd --help | sed -n '/^Options:/,/^$/p' | grep -E '^  -' | sed -E 's/^  //; s/  .*//'
    done | while read -r names type; do
      for n in ${names//,/ }; do
        case "$type" in "") echo "flag $n" ;; \[*) echo "optional $n" ;; *) echo "value $n" ;; esac
      done
    done | sort -u
  }
  from_script() {
    for kind in value flag optional_value; do
      sed -n "s/^${kind}_opts=\"\(.*\)\"$/\1/p" "$job" | tr ' ' '\n' | grep . | sed "s/^/${kind%_value} /"
    done | sort -u
  }
  diff <(from_help) <(from_script) >&2 || { echo "deploy/hub-stress-test-job.sh's option lists differ from the tool's --help (< help, > script)" >&2; exit 1; }
fi
echo "manifest checks passed"
