#!/usr/bin/env bash
# `make run`: installs what is missing, builds the server, starts the bundled local cluster
# (idempotent), creates a small demo workload once and prints the MCP client configuration to
# paste. It does not block: an MCP client starts the server itself over stdio.
# Usage: scripts/run.sh [--inspect]   --inspect also starts the server once and lists namespaces.
# Env: BUILD_DIR (build), BUILD_TYPE, HARNESS_RUN (/dev/shm/mcp-k8s-cluster), HARNESS_PORT_BASE (16000).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
INSPECT=0
case ${1:-} in
  --inspect) INSPECT=1 ;;
  "") ;;
  -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
  *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
export HARNESS_RUN=${HARNESS_RUN:-/dev/shm/mcp-k8s-cluster}
step() { printf '\n== [%s] %s\n' "$(date +%T)" "$*" >&2; }

step "dependencies"
scripts/install-deps.sh
[ "$INSPECT" = 0 ] || scripts/e2e-deps.sh

step "build ($BUILD_DIR)"
make --no-print-directory BUILD_DIR="$BUILD_DIR" BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" server >&2
SERVER=$BUILD_DIR/mcp-kubernetes  # not BIN: the cluster env file sets BIN
[ -x "$SERVER" ] || { echo "build did not produce $SERVER" >&2; exit 1; }

step "local cluster at $HARNESS_RUN (a first run on a new machine builds it: ~17 min on 2 cores)"
test/cluster/up.sh --run-dir "$HARNESS_RUN" ${HARNESS_PORT_BASE:+--port-base "$HARNESS_PORT_BASE"}
# shellcheck disable=SC1091  # written by up.sh
. "$HARNESS_RUN/env"

step "demo workload (namespace demo: Deployment web x3, Service web)"
if "$KUBECTL" get deployment web -n demo >/dev/null 2>&1; then
  echo "already there" >&2
else
  "$KUBECTL" apply -f - >&2 <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27          # kwok fakes the pods: nothing is pulled or run
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
EOF
  "$KUBECTL" rollout status deployment/web -n demo --timeout=90s >&2
fi

if [ "$INSPECT" = 1 ]; then
  step "self-check: the server lists namespaces over MCP stdio"
  (cd test/e2e && MCPK_BIN=$SERVER KUBECONFIG=$KUBECONFIG timeout 60 node lib/inspect.mjs)
fi

step "ready"
STOP="make cluster-down"
[ "$HARNESS_RUN" = /dev/shm/mcp-k8s-cluster ] || STOP="HARNESS_RUN=$HARNESS_RUN make cluster-down"
cat <<EOF
The cluster runs until you stop it: $STOP

Add this to your MCP client's configuration (Claude Desktop: claude_desktop_config.json,
VS Code / Cursor: mcp.json); the client starts the server itself over stdio:

EOF
jq -n --arg bin "$SERVER" --arg kc "$KUBECONFIG" \
  '{mcpServers: {kubernetes: {command: $bin, args: ["serve"], env: {KUBECONFIG: $kc}}}}'
cat <<EOF

Writes are off by default; add "--non-destructive=false" to args to allow them (or
"--dry-run" to try them without persisting). A read-only RBAC user: KUBECONFIG=$VIEWER_KUBECONFIG.
kubectl for this cluster: source $HARNESS_RUN/env && \$KUBECTL get pods -n demo
EOF
