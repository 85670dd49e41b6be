#!/bin/sh
# The entry point of a shard's container: runs hub-stress-test with the pod's arguments, then
# prints the shard's JSON report into the pod's log (gzip, base64, between two marker lines),
# where deploy/hub-stress-test-job.sh collects it with `kubectl logs`: no volume, no service.
# It exits 0 once the report is printed, so that one shard's failed servers do not fail the Job
# and stop the other shards: `merge` judges the whole test. A signal (the Job deleted, a node
# drained) is passed on to the tool, which removes its users and still writes its report.
set -u
tool="${HST_TOOL:-hub-stress-test}"
dir="${TMPDIR:-/tmp}/hub-stress-test-report"
mkdir -p "$dir"
report="$dir/report.json"
rm -f "$report"
# the handlers are in place before the tool starts: a SIGTERM in between is passed on, not lost;
# Ctrl-C (docker run -it) reaches the tool itself, so the shell only keeps waiting
pid=""
termed=false
trap 'termed=true; [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null' TERM
trap ':' INT
"$tool" "$@" --json "$report" &
pid=$!
! $termed || kill -TERM "$pid" 2>/dev/null
wait "$pid"
code=$?
# a signal ends `wait` early: wait again until the tool has finished its clean-up
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid"
  code=$?
done
if [ ! -s "$report" ]; then
  echo "hub-stress-test exited with $code and wrote no report" >&2
  exit "$code"
fi
echo "==== hub-stress-test shard report (gzip, base64) ===="
gzip -c "$report" | base64
echo "==== end of hub-stress-test shard report ===="
echo "hub-stress-test exited with $code; the merged report judges the test" >&2
exit 0
