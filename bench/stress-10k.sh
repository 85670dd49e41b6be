#!/usr/bin/env bash
# Benchmark of issue 12: one whole stress-test cycle of 10,000 users on the shared-server spawner
# (every user's server is one process inside the hub: what is measured is the hub and the tool,
# not 10,000 notebook servers), beside the 500-user cycle it is compared with. Prints for each:
# phase times, the client's CPU and peak RSS (/usr/bin/time), CPU per user, the hub's and the
# proxy's CPU. Loopback only; about 45 minutes on 2 cores, almost all of it the hub.
#   bench/stress-10k.sh [COUNT=10000] [BATCH=50]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/stress-cycle.sh" shared 500 50
"$here/stress-cycle.sh" shared "${1:-10000}" "${2:-50}"
