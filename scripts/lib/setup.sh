# Shared by the README's commands: install what is missing, start Redis when none answers.
# Sourced, not run. Every step says what it does; a step that cannot work fails with the reason.

nvo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NVO_STATE_DIR=${NVO_STATE_DIR:-$nvo_root/.nvo}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export NVO_STATE_DIR REDIS_URL

say() { printf 'nvo: %s\n' "$*" >&2; }
die() { printf 'nvo: error: %s\n' "$*" >&2; exit 1; }

# ensure_packages PKG...: Debian packages, installed with apt-get only when one is missing.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "missing Debian packages (${missing[*]}) and no apt-get to install them"
  [[ $(id -u) == 0 ]] || die "missing Debian packages (${missing[*]}); run as root or install them first"
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  # policy-rc.d keeps Debian from starting the packages' own services: nvo starts what it needs itself.
  local prc=/usr/sbin/policy-rc.d had_prc=0
  [[ -e $prc ]] && had_prc=1
  ((had_prc)) || { printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; local rc=$?
  ((had_prc)) || rm -f "$prc"
  ((rc == 0)) || die "apt-get install ${missing[*]} failed"
}

# ensure_node_modules: npm ci when node_modules is missing or older than package-lock.json.
ensure_node_modules() {
  local stamp=$nvo_root/node_modules/.package-lock.json
  if [[ ! -f $stamp || $nvo_root/package-lock.json -nt $stamp ]]; then
    say "installing npm dependencies"
    (cd "$nvo_root" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  fi
}

# ensure_redis: when nothing answers at REDIS_URL and it points at this machine, start redis-server
# with append-only persistence under $NVO_STATE_DIR/redis (the state must survive a restart).
ensure_redis() {
  if redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; then return 0; fi
  local rest=${REDIS_URL#redis://}; rest=${rest#*@}; rest=${rest%%/*}
  local host=${rest%%:*} port=${rest##*:}
  [[ $port == "$rest" ]] && port=6379
  case $host in 127.*|localhost|::1|'[::1]') ;; *) die "no Redis answers at $REDIS_URL (not on this machine, so not started)";; esac
  local dir=$NVO_STATE_DIR/redis
  mkdir -p "$dir"
  say "starting redis-server on 127.0.0.1:$port (data in $dir)"
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$dir" --appendonly yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' >/dev/null || die "redis-server did not start (see $dir/redis.log)"
  local i
  for i in $(seq 1 50); do
    redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  die "redis-server started but does not answer at $REDIS_URL (see $dir/redis.log)"
}
