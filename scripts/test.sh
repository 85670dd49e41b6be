#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: install, build, run every test (unit, fault
# injection, and integration tests against real local JupyterHubs the tests start themselves).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j2 "$@"
