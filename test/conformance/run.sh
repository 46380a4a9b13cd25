#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance, the version
# pinned in package.json; 0.1.x runs on the machine's Node 20) against the product binary over
# Streamable HTTP. Scenarios needing the suite's fixture tools are in expected-failures.yml.
# Usage: run.sh [path/to/mcp-kubernetes]   (KUBECONFIG must point at a reachable cluster)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/mcp-kubernetes}
cd "$here"
[ -d node_modules/@modelcontextprotocol/conformance ] || npm ci --no-audit --no-fund >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$bin" serve --transport streamable-http --http-addr "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server did not start:"; cat "$log"; exit 1; }
node node_modules/@modelcontextprotocol/conformance/dist/index.js server \
  --url "http://127.0.0.1:$port/mcp" --suite active --expected-failures expected-failures.yml
