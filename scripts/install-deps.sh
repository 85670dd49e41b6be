#!/usr/bin/env bash
# Installs what hub-stress-test needs to build, test and run its local demo hub (Debian 12), and
# the npm packages the test of deploy/'s Kubernetes objects reads (tests/deploy).
#   --build-only   only what building the tool needs (deploy/Dockerfile)
# Does nothing when everything is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
packages=(
  build-essential cmake ninja-build pkg-config curl ca-certificates
  libcurl4-openssl-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libboost-dev libssl-dev
)
build_only=false
[ "${1:-}" = --build-only ] && build_only=true
if ! $build_only; then
  # debootstrap: the JupyterHub 5.2 root of the second hub flavour (tests/hub/local-hub.sh)
  packages+=(libgtest-dev libgmock-dev libcpp-httplib-dev jupyterhub python3-ipykernel chromium tmux debootstrap)
  command -v npm >/dev/null || packages+=(nodejs npm)  # a Node.js from elsewhere (NodeSource) will do
fi
npm_packages() {  # the schema check of deploy/'s Kubernetes objects (kubernetes-models, yaml)
  $build_only || [ -d "$root/tests/deploy/node_modules" ] ||
    (cd "$root/tests/deploy" && npm ci --no-audit --no-fund --loglevel=error >&2)
}
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  npm_packages
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_packages
