#!/usr/bin/env bash
# Starts or stops a real local JupyterHub (Debian's package) on free loopback ports.
#   local-hub.sh start DIR [SPAWNER] [SPAWN_LIMIT]   -> writes DIR/hub.env (HST_ENDPOINT, HST_TOKEN, HST_PID)
#   local-hub.sh stop DIR
#   local-hub.sh kill DIR      -> SIGKILL the hub process alone (its proxy and user servers live on)
#   local-hub.sh restart DIR   -> start the hub again with the same ports, token and database
#   local-hub.sh ports         -> print the range hub ports are taken from ("10000 32767")
# SPAWNER: mocksu (default) | shared | singleuser | failing  (see jupyterhub_config.py)
# Ports come from outside the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range):
# a port inside it can be taken at any moment as the local end of an outgoing connection. A start
# that still loses a port to another process (another hub starting at the same moment) is retried
# on new ports.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py=/usr/bin/python3  # JupyterHub runs on Debian's python, whatever python3 is first on PATH

# "LOW HIGH": the widest stretch of 10000-65535 outside the ephemeral range
port_range() {
  local lo hi
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  if [ $((lo - 1 - 10000)) -ge $((65535 - hi - 1)) ]; then
    echo "10000 $((lo - 1))"
  else
    echo "$((hi + 1)) 65535"
  fi
}

# A base port P with P, P+1 and P+2 free now, from port_range.
pick_ports() {
  # shellcheck disable=SC2046
  "$py" - $(port_range) <<'EOF'
import random, socket, sys
low, high = int(sys.argv[1]), int(sys.argv[2])
if high - low < 100:
    sys.exit("local-hub.sh: no room for hub ports outside the ephemeral range %d-%d" % (low, high))
for _ in range(200):
    base = random.randint(low, high - 2)
    socks = []
    try:
        for p in (base, base + 1, base + 2):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
else:
    sys.exit("local-hub.sh: no three free ports in a row in %d-%d" % (low, high))
EOF
}

cmd="${1:?usage: local-hub.sh start|stop|kill|restart DIR [SPAWNER] [SPAWN_LIMIT] | ports}"
if [ "$cmd" = ports ]; then
  port_range
  exit 0
fi
dir="${2:?usage: local-hub.sh start|stop DIR [SPAWNER] [SPAWN_LIMIT]}"

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
*) echo "local-hub.sh: unknown command '$cmd' (start|stop|kill|restart|ports)" >&2; exit 2 ;;
esac

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
if [ "$cmd" = restart ]; then
  # shellcheck disable=SC1091
  . "$dir/hub.env"
  port="$HST_PORT" token="$HST_TOKEN" limited="$HST_LIMITED_TOKEN"
  set -- "$cmd" "$dir" "$HST_SPAWNER" "$HST_SPAWN_LIMIT"
else
  token="$("$py" -c 'import secrets; print(secrets.token_hex(24))')"
  limited="$("$py" -c 'import secrets; print(secrets.token_hex(24))')"
fi
export HST_TOKEN="$token" HST_LIMITED_TOKEN="$limited" HST_STATE_DIR="$dir"
export HST_SPAWNER="${3:-mocksu}" HST_SPAWN_LIMIT="${4:-100}"
export NODE_PATH=/usr/share/nodejs
cd "$dir"

# One try on $port (proxy), $port+1 (hub), $port+2 (proxy API). Returns 0 when up, 2 when a port
# was taken by another process, 1 for any other failure; a failed try leaves nothing running.
launch() {
  export HST_PORT="$port"
  echo "--- local-hub.sh $cmd on ports $port-$((port + 2))" >>"$dir/hub.log"
  local from
  from=$(wc -l <"$dir/hub.log")
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
    # with our token: only our hub answers 200 (another hub on a port we lost would answer 403)
    if curl -fsS -o /dev/null -H "Authorization: token $token" "http://127.0.0.1:$port/hub/api/user" 2>/dev/null; then
      echo "local JupyterHub up at http://127.0.0.1:$port/hub/api (pid $pid, log $dir/hub.log)" >&2
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  local status=1
  tail -n "+$((from + 1))" "$dir/hub.log" | grep -qiE 'address already in use|EADDRINUSE' && status=2
  stop_hub
  return $status
}

status=1
if [ "$cmd" = restart ]; then
  launch && exit 0  # the proxy still holds $port and $port+2: these ports or none
else
  for attempt in 1 2 3 4 5; do
    port="$(pick_ports)"
    status=0
    launch || status=$?
    [ $status -eq 0 ] && exit 0
    [ $status -eq 2 ] || break
    echo "local-hub.sh: another process took a port of $port-$((port + 2)); trying new ports ($attempt of 5)" >&2
    rm -f "$dir/jupyterhub.sqlite" "$dir/jupyterhub_cookie_secret" "$dir/jupyterhub.pid"
  done
fi
echo "local-hub.sh: JupyterHub did not start; last lines of $dir/hub.log:" >&2
tail -20 "$dir/hub.log" >&2
exit 1
