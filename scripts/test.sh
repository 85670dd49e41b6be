#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: install, build, run every test (unit, fault
# injection, and integration tests against real local JupyterHubs the tests start themselves:
# Debian 12's JupyterHub 3.0, and 5.2 from a Debian sid root made on first use, see README).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
if [ $# -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
  # the whole suite: make the JupyterHub 5.2 root (debootstrap, mostly waiting on the network)
  # while the build runs; the suite's hub52.root waits for it, and says so if it failed
  HUB_STRESS_TEST_HUB=5.2 setsid "$root/tests/hub/local-hub.sh" prepare >/dev/null 2>&1 &
  prepare=$!
  trap 'kill -TERM -- "-$prepare" 2>/dev/null || true' EXIT
fi
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j2 "$@"
