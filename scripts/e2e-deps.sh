#!/usr/bin/env bash
# Installs the Node packages of test/e2e (the MCP TypeScript SDK) from package-lock.json.
# Idempotent: `npm ci` wipes node_modules, so it only runs when the installed tree does not
# match the lockfile (someone may be running e2e tests from this tree right now).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../test/e2e"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are missing (Node.js 20+ is expected on the machine)" >&2; exit 1
fi
stamp=node_modules/.mcpk-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "test/e2e/node_modules matches package-lock.json"
elif [ -d node_modules ] && npm ls --all >/dev/null 2>&1; then
  echo "$want" >"$stamp"
  echo "test/e2e/node_modules satisfies package-lock.json"
else
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
