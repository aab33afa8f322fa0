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
say "tests"
results=$(mktemp --suffix=.json)
trap 'rm -f "$results"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line, whatever reads the log: "N passed, N failed, N skipped".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" 2>/dev/null || true
exit "$status"
