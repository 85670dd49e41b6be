#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: install, build, run every test (unit, fault
# injection, and integration tests against real local JupyterHubs the tests start themselves:
# Debian 12's JupyterHub 3.0, and 5.2 from a Debian sid root made on first use, see README).
#   HUB_STRESS_TEST_HUBS   the hub flavours to test: "3.0 5.2" (default) or "3.0"
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hubs="${HUB_STRESS_TEST_HUBS:-3.0 5.2}"
case " $hubs " in
  *" 5.2 "*) with52=true ;;
  *) with52=false ;;
esac
"$root/scripts/install-deps.sh"
if $with52 && [ $# -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
  # the whole suite: make the JupyterHub 5.2 root (debootstrap, mostly waiting on the network)
  # while the build runs; the suite's hub52.root waits for it, and says so if it failed
  HUB_STRESS_TEST_HUB=5.2 setsid "$root/tests/hub/local-hub.sh" prepare >/dev/null 2>&1 &
  prepare=$!
  trap 'kill -TERM -- "-$prepare" 2>/dev/null || true' EXIT
fi
"$root/scripts/build.sh"
cd "$root/build"
if $with52; then
  ctest --output-on-failure -j2 "$@"
else
  ctest --output-on-failure -j2 -LE hub52 "$@"  # HUB_STRESS_TEST_HUBS=3.0: without the 5.2 flavour's tests
fi
