#!/usr/bin/env bash
# Starts or stops a real local JupyterHub (Debian's package) on free loopback ports.
#   local-hub.sh start DIR [SPAWNER] [SPAWN_LIMIT]   -> writes DIR/hub.env (HST_ENDPOINT, HST_TOKEN, HST_PID)
#   local-hub.sh stop DIR
#   local-hub.sh kill DIR      -> SIGKILL the hub process alone (its proxy and user servers live on)
#   local-hub.sh restart DIR   -> start the hub again with the same ports, token and database
#   local-hub.sh ports         -> print the range hub ports are taken from ("10000 32767")
#   local-hub.sh prepare       -> make (or check) the root the chosen flavour runs from, and print it
# SPAWNER: mocksu (default) | shared | singleuser | failing  (see jupyterhub_config.py)
# HUB_STRESS_TEST_HUB chooses the hub flavour:
#   3.0  Debian 12's jupyterhub package on this machine, classic notebook 6.4 servers (default)
#   5.2  JupyterHub 5.2.1 with Notebook 7 on jupyter-server 2, from a Debian unstable (sid) root made
#        with debootstrap on first use (about 10 minutes, needs root) and reused: kept in
#        $HUB_STRESS_TEST_CACHE (default /var/cache/hub-stress-test)/jupyterhub-5.2, made again
#        when it is not complete. The hub runs there through chroot and serves on this loopback;
#        its state folder DIR is bound into the root at the same path while the hub runs.
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

hub="${HUB_STRESS_TEST_HUB:-3.0}"
cache="${HUB_STRESS_TEST_CACHE:-/var/cache/hub-stress-test}"
rootfs=""  # the root the hub runs in; empty: this machine's own /

# The Debian mirror this machine's apt uses (only Debian's registry is reachable from here).
debian_mirror() {
  [ -n "${HUB_STRESS_TEST_DEBIAN_MIRROR:-}" ] && { echo "$HUB_STRESS_TEST_DEBIAN_MIRROR"; return; }
  local url
  url="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE '(https?)://[^[:space:]]+/debian/?([[:space:]]|$)' | head -1 | tr -d '[:space:]')"
  echo "${url:-http://deb.debian.org/debian}"
}

# Binds /proc and /dev into a root (once; they stay until the root is removed).
bind_system() {
  local r="$1" d
  for d in proc dev; do
    mkdir -p "$r/$d"
    mountpoint -q "$r/$d" || mount --bind "/$d" "$r/$d"
  done
}

# Unmounts everything mounted inside a root, deepest first, so that removing it never reaches the host.
unmount_all() {
  local r="$1" m
  [ -d "$r" ] || return 0
  r="$(cd "$r" && pwd -P)"
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(awk -v r="$r" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
}

remove_root() {
  unmount_all "$1"
  rm -rf --one-file-system "$1"
}

# A root is complete once its marker is written, after every step of make_root succeeded.
notebook_json=etc/jupyter/jupyter_server_config.d/notebook.json
root_ok() {
  [ -f "$1/.hub-stress-test-ready" ] && [ -x "$1/usr/bin/python3" ] && [ -x "$1/usr/bin/jupyterhub-singleuser" ] &&
    [ -f "$1/$notebook_json" ]
}

# Debian sid with JupyterHub 5.2, Notebook 7, ipykernel; made in DIR.new and renamed when done.
make_root() {
  local r="$1" new="$1.new" log="$cache/debootstrap.log" mirror
  mirror="$(debian_mirror)"
  command -v debootstrap >/dev/null || {
    echo "local-hub.sh: JupyterHub 5.2 needs debootstrap (apt-get install debootstrap, or ./scripts/install-deps.sh)" >&2
    return 1
  }
  remove_root "$new"
  echo "local-hub.sh: making the JupyterHub 5.2 root $r from Debian sid at $mirror (10 to 30 minutes; log $log)" >&2
  local started=$SECONDS
  # sid's base seldom configures in one go (node packages whose dependencies dpkg meets later):
  # debootstrap then fails after "Configuring the base system", and apt-get -f install below
  # finishes it. A failure before that point (a download, the mirror) is the end of it.
  if ! debootstrap --variant=minbase \
      --include=jupyterhub,python3-jupyter-server,python3-ipykernel,python3-notebook,curl \
      sid "$new" "$mirror" >"$log" 2>&1 &&
    ! grep -q '^I: Configuring the base system' "$log"; then
    echo "local-hub.sh: debootstrap of Debian sid from $mirror failed: $(grep -E '^(E|W):' "$log" | tail -1 || tail -1 "$log") (log $log)" >&2
    return 1
  fi
  bind_system "$new"
  # the release file of a snapshot is past its date here; -f install finishes configuring;
  # configurable-http-proxy's logger needs safe-stable-stringify, which its package does not depend on
  if ! { chroot "$new" apt-get -o Acquire::Check-Valid-Until=false -f install -y --no-install-recommends &&
    chroot "$new" apt-get -o Acquire::Check-Valid-Until=false install -y --no-install-recommends node-fast-safe-stringify &&
    chroot "$new" apt-get clean &&
    chroot "$new" /usr/bin/python3 -c 'import jupyterhub, jupyter_server, notebook, ipykernel, jupyterhub.tests.mocksu'
  } >>"$log" 2>&1; then
    echo "local-hub.sh: finishing the Debian sid root failed: $(tail -1 "$log") (log $log)" >&2
    return 1
  fi
  # Debian's python3-notebook 7.4.7 does not enable its own server extension (upstream ships this
  # file): without it /user/NAME/tree, Notebook 7's default URL, is a 404
  mkdir -p "$new/etc/jupyter/jupyter_server_config.d"
  echo '{"ServerApp": {"jpserver_extensions": {"notebook": true}}}' >"$new/$notebook_json"
  chroot "$new" /usr/bin/python3 -c 'import jupyterhub; print(jupyterhub.__version__)' >"$new/.hub-stress-test-ready"
  unmount_all "$new"
  remove_root "$r"
  mv "$new" "$r"
  echo "local-hub.sh: JupyterHub $(cat "$r/.hub-stress-test-ready") root ready in $((SECONDS - started)) s" >&2
}

# Sets rootfs for the chosen flavour, making the root first when it is missing or incomplete.
prepare_hub() {
  case "$hub" in
  3.0) rootfs="" ;;
  5.2)
    [ "$(id -u)" -eq 0 ] || { echo "local-hub.sh: HUB_STRESS_TEST_HUB=5.2 needs root (debootstrap, mount, chroot)" >&2; return 1; }
    rootfs="$cache/jupyterhub-5.2"
    mkdir -p "$cache"
    # one maker at a time; a hub that finds the root being made waits for it
    exec 8>"$cache/.lock"
    flock 8
    root_ok "$rootfs" || make_root "$rootfs" || { exec 8>&-; return 1; }
    bind_system "$rootfs"
    exec 8>&-
    ;;
  *) echo "local-hub.sh: HUB_STRESS_TEST_HUB=$hub: expected 3.0 or 5.2" >&2; return 1 ;;
  esac
}

cmd="${1:?usage: local-hub.sh start|stop|kill|restart DIR [SPAWNER] [SPAWN_LIMIT] | ports | prepare}"
if [ "$cmd" = ports ]; then
  port_range
  exit 0
fi
if [ "$cmd" = prepare ]; then
  prepare_hub || exit 1
  echo "${rootfs:-/}"
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
  # the proxy and user servers may outlive a killed hub: end whatever still runs inside the state
  # dir (seen from here as the root's bound copy of it when the hub ran in a root)
  local proc cwd inner="${HST_ROOTFS:-}$dir"
  for proc in /proc/[0-9]*; do
    cwd="$(readlink "$proc/cwd" 2>/dev/null)" || continue
    case "$cwd" in "$dir" | "$dir"/* | "$inner" | "$inner"/*) [ "${proc#/proc/}" = "$$" ] || kill -KILL "${proc#/proc/}" 2>/dev/null || true ;; esac
  done
  if [ -n "${HST_ROOTFS:-}" ] && mountpoint -q "$inner"; then
    for _ in $(seq 1 50); do umount "$inner" 2>/dev/null && break; sleep 0.1; done
    mountpoint -q "$inner" && umount -l "$inner"
    rmdir "$inner" 2>/dev/null || true
  fi
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
*) echo "local-hub.sh: unknown command '$cmd' (start|stop|kill|restart|ports|prepare)" >&2; exit 2 ;;
esac

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
if [ "$cmd" = restart ]; then
  # shellcheck disable=SC1091
  . "$dir/hub.env"
  port="$HST_PORT" token="$HST_TOKEN" limited="$HST_LIMITED_TOKEN" hub="${HST_HUB:-3.0}"
  set -- "$cmd" "$dir" "$HST_SPAWNER" "$HST_SPAWN_LIMIT"
else
  token="$("$py" -c 'import secrets; print(secrets.token_hex(24))')"
  limited="$("$py" -c 'import secrets; print(secrets.token_hex(24))')"
fi
export HST_TOKEN="$token" HST_LIMITED_TOKEN="$limited" HST_STATE_DIR="$dir"
export HST_SPAWNER="${3:-mocksu}" HST_SPAWN_LIMIT="${4:-100}"
export NODE_PATH=/usr/share/nodejs
prepare_hub || exit 1
cd "$dir"

# One try on $port (proxy), $port+1 (hub), $port+2 (proxy API). Returns 0 when up, 2 when a port
# was taken by another process, 1 for any other failure; a failed try leaves nothing running.
launch() {
  export HST_PORT="$port"
  echo "--- local-hub.sh $cmd on ports $port-$((port + 2))" >>"$dir/hub.log"
  local from
  from=$(wc -l <"$dir/hub.log")
  if [ -z "$rootfs" ]; then
    setsid /usr/bin/jupyterhub -f "$here/jupyterhub_config.py" >>"$dir/hub.log" 2>&1 </dev/null &
  else
    # the state dir at the same path inside the root, the config in it; the hub's cwd is the
    # state dir as for 3.0, so that stop finds whatever it left running
    mkdir -p "$rootfs$dir"
    mountpoint -q "$rootfs$dir" || mount --bind "$dir" "$rootfs$dir"
    cp "$here/jupyterhub_config.py" "$dir/jupyterhub_config.py"
    # shellcheck disable=SC2016  # expanded by the shell inside the root
    setsid chroot "$rootfs" /bin/sh -c 'cd "$1" && exec /usr/bin/python3 -m jupyterhub -f "$1/jupyterhub_config.py"' \
      sh "$dir" >>"$dir/hub.log" 2>&1 </dev/null &
  fi
  pid=$!
  cat >"$dir/hub.env" <<EOF
HST_ENDPOINT=http://127.0.0.1:$port/hub/api
HST_TOKEN=$token
HST_LIMITED_TOKEN=$limited
HST_PID=$pid
HST_PORT=$port
HST_SPAWNER=$HST_SPAWNER
HST_SPAWN_LIMIT=$HST_SPAWN_LIMIT
HST_HUB=$hub
HST_ROOTFS=$rootfs
EOF
  for _ in $(seq 1 300); do
    # with our token: only our hub answers 200 (another hub on a port we lost would answer 403)
    if curl -fsS -o /dev/null -H "Authorization: token $token" "http://127.0.0.1:$port/hub/api/user" 2>/dev/null; then
      echo "local JupyterHub ($hub) up at http://127.0.0.1:$port/hub/api (pid $pid, log $dir/hub.log)" >&2
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
