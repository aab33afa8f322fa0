#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts Redis, then typecheck, lint and every test.
# Tests start and stop their own NETCONF, SSH and XMPP servers. Extra arguments go to vitest.
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$nvo_root"
ensure_packages redis-server redis-tools netconfd openssh-server prosody libyang-tools \
  python3-ncclient python3-slixmpp iproute2 iputils-ping chromium python3-prometheus-client
ensure_node_modules
ensure_redis
say "typecheck"; npx tsc --noEmit -p .
say "lint"; npx eslint --max-warnings=0 .
say "tests"; npx vitest run "$@"
