#!/usr/bin/env bash
# The main job: on a fresh Debian machine, as root, installs what is missing, starts Redis, builds
# the lab (`nvo lab up`: namespaces, netconfd + sshd, Prosody, proxies, hNVE agents) and runs use
# cases 1-6 on it (`nvo lab demo`). Extra arguments go to `nvo lab demo` (e.g. --json).
#   npm start -- serve [nvo serve options]   only the admin API (no root needed), as before the lab
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$nvo_root"

admin_token() {
  export NVO_ADMIN_TOKEN=${NVO_ADMIN_TOKEN:-$(cat "$NVO_STATE_DIR/admin-token" 2>/dev/null || true)}
  if [[ -z $NVO_ADMIN_TOKEN ]]; then
    NVO_ADMIN_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    mkdir -p "$NVO_STATE_DIR"; (umask 077; printf '%s\n' "$NVO_ADMIN_TOKEN" >"$NVO_STATE_DIR/admin-token")
    say "admin token written to $NVO_STATE_DIR/admin-token"
  fi
}

if [[ ${1:-} == serve ]]; then
  shift
  ensure_packages redis-server redis-tools
  ensure_node_modules
  ensure_redis
  admin_token
  # A running lab applied the inventory with its real ports and host keys: the example file's
  # placeholders would cut the proxies off from its devices.
  if [[ -e $NVO_STATE_DIR/lab/state.json ]]; then
    say "a lab is up ($NVO_STATE_DIR/lab): serving its inventory as it is"
  else
    node bin/nvo.js apply -f lab/inventory.yaml
  fi
  exec node bin/nvo.js serve "$@"
fi

[[ $(id -u) == 0 ]] || die "the lab needs root: it creates network namespaces and veth links. Run 'sudo npm start', or 'npm start -- serve' for the admin API alone"
ensure_packages redis-server redis-tools netconfd openssh-server prosody iproute2 iputils-ping
ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here: this machine (or container) does not allow network namespaces"
ensure_node_modules
ensure_redis
admin_token
node bin/nvo.js lab up
exec node bin/nvo.js lab demo "$@"
