#!/usr/bin/env bash
# The main job in one command: install, build, and run a stress test.
# With JUPYTERHUB_ENDPOINT and JUPYTERHUB_API_TOKEN set, it runs against that hub.
# Without them, it starts a local real JupyterHub (Debian's package) whose users get real
# jupyterhub-singleuser notebook servers, runs the stress test against it, and stops it.
# Arguments are hub-stress-test's stress-test arguments (default: -c 50 -b 10), or a command name
# first and its arguments: ./scripts/run.sh journey -c 5 --ramp-up 10s, ./scripts/run.sh capacity --start 30/min --stage 30s
# HUB_STRESS_TEST_HUB=5.2 runs the local hub as JupyterHub 5.2.1 with Notebook 7 instead of Debian
# 12's 3.0 (a Debian sid root, made on first use: tests/hub/local-hub.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
tool="$root/build/hub-stress-test"
command=stress-test
case "${1:-}" in stress-test | activity-stress-test | journey | capacity) command="$1"; shift ;; esac
[ $# -gt 0 ] || [ "$command" != stress-test ] || set -- -c 50 -b 10

if [ -n "${JUPYTERHUB_ENDPOINT:-}" ]; then
  exec "$tool" "$command" "$@"
fi

hubdir="$(mktemp -d /tmp/hub-stress-test-demo-XXXXXX)"
cleanup() { "$root/tests/hub/local-hub.sh" stop "$hubdir"; rm -rf "$hubdir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
"$root/tests/hub/local-hub.sh" start "$hubdir" "${HUB_STRESS_TEST_SPAWNER:-singleuser}"
# shellcheck disable=SC1091
. "$hubdir/hub.env"
echo "Running: hub-stress-test -e $HST_ENDPOINT -t *** $command $*" >&2
set +e
JUPYTERHUB_ENDPOINT="$HST_ENDPOINT" JUPYTERHUB_API_TOKEN="$HST_TOKEN" "$tool" "$command" "$@"
status=$?
set -e
exit $status
