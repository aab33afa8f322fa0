#!/usr/bin/env bash
# The main job: installs what is missing, starts Redis, loads the example inventory and serves the
# admin API (http://127.0.0.1:8080). Extra arguments go to `nvo serve`.
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$nvo_root"
ensure_packages redis-server redis-tools
ensure_node_modules
ensure_redis
export NVO_ADMIN_TOKEN=${NVO_ADMIN_TOKEN:-$(cat "$NVO_STATE_DIR/admin-token" 2>/dev/null || true)}
if [[ -z $NVO_ADMIN_TOKEN ]]; then
  NVO_ADMIN_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  mkdir -p "$NVO_STATE_DIR"; (umask 077; printf '%s\n' "$NVO_ADMIN_TOKEN" >"$NVO_STATE_DIR/admin-token")
  say "admin token written to $NVO_STATE_DIR/admin-token"
fi
node bin/nvo.js apply -f lab/inventory.yaml
exec node bin/nvo.js serve "$@"
