#!/usr/bin/env bash
# Starts or stops a real local JupyterHub (Debian's package) on free loopback ports.
#   local-hub.sh start DIR [SPAWNER] [SPAWN_LIMIT]   -> writes DIR/hub.env (HST_ENDPOINT, HST_TOKEN, HST_PID)
#   local-hub.sh stop DIR
#   local-hub.sh kill DIR      -> SIGKILL the hub process alone (its proxy and user servers live on)
#   local-hub.sh restart DIR   -> start the hub again with the same ports, token and database
# SPAWNER: mocksu (default) | shared | singleuser | failing  (see jupyterhub_config.py)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cmd="${1:?usage: local-hub.sh start|stop DIR [SPAWNER] [SPAWN_LIMIT]}"
dir="${2:?usage: local-hub.sh start|stop DIR [SPAWNER] [SPAWN_LIMIT]}"
py=/usr/bin/python3  # JupyterHub runs on Debian's python, whatever python3 is first on PATH

stop_hub() {
  [ -f "$dir/hub.env" ] || return 0
  # shellcheck disable=SC1091
  . "$dir/hub.env"
  if kill -0 "$HST_PID" 2>/dev/null; then
    kill -TERM -- "-$HST_PID" 2>/dev/null || kill -TERM "$HST_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$HST_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$HST_PID" 2>/dev/null || true
  fi
  # the proxy and user servers may outlive a killed hub: end whatever still runs inside the state dir
  local proc cwd
  for proc in /proc/[0-9]*; do
    cwd="$(readlink "$proc/cwd" 2>/dev/null)" || continue
    case "$cwd" in "$dir" | "$dir"/*) [ "${proc#/proc/}" = "$$" ] || kill -KILL "${proc#/proc/}" 2>/dev/null || true ;; esac
  done
}

case "$cmd" in
stop) dir="$(cd "$dir" 2>/dev/null && pwd)" || exit 0; stop_hub; exit 0 ;;
kill)
  # shellcheck disable=SC1091
  . "$dir/hub.env"
  kill -KILL "$HST_PID"
  for _ in $(seq 1 50); do kill -0 "$HST_PID" 2>/dev/null || exit 0; sleep 0.1; done
  exit 0 ;;
start | restart) ;;
*) echo "local-hub.sh: unknown command '$cmd' (start|stop|kill|restart)" >&2; exit 2 ;;
esac

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
if [ "$cmd" = restart ]; then
  # shellcheck disable=SC1091
  . "$dir/hub.env"
  port="$HST_PORT" token="$HST_TOKEN" limited="$HST_LIMITED_TOKEN"
  set -- "$cmd" "$dir" "$HST_SPAWNER" "$HST_SPAWN_LIMIT"
else
port="$("$py" - <<'EOF'
import random, socket
for _ in range(200):
    base = random.randint(20000, 59000)
    try:
        socks = []
        for p in (base, base + 1, base + 2):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
)"
token="$("$py" -c 'import secrets; print(secrets.token_hex(24))')"
limited="$("$py" -c 'import secrets; print(secrets.token_hex(24))')"
fi
export HST_PORT="$port" HST_TOKEN="$token" HST_LIMITED_TOKEN="$limited" HST_STATE_DIR="$dir"
export HST_SPAWNER="${3:-mocksu}" HST_SPAWN_LIMIT="${4:-100}"
export NODE_PATH=/usr/share/nodejs
cd "$dir"
setsid /usr/bin/jupyterhub -f "$here/jupyterhub_config.py" >>"$dir/hub.log" 2>&1 </dev/null &
pid=$!
cat >"$dir/hub.env" <<EOF
HST_ENDPOINT=http://127.0.0.1:$port/hub/api
HST_TOKEN=$token
HST_LIMITED_TOKEN=$limited
HST_PID=$pid
HST_PORT=$port
HST_SPAWNER=$HST_SPAWNER
HST_SPAWN_LIMIT=$HST_SPAWN_LIMIT
EOF
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/hub/api/" 2>/dev/null; then
    echo "local JupyterHub up at http://127.0.0.1:$port/hub/api (pid $pid, log $dir/hub.log)" >&2
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
echo "local-hub.sh: JupyterHub did not start; last lines of $dir/hub.log:" >&2
tail -20 "$dir/hub.log" >&2
stop_hub
exit 1
