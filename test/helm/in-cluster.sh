#!/usr/bin/env bash
# Runs a command as if it were in a pod: in a private mount namespace, SA_DIR (token, ca.crt,
# namespace) is mounted at /var/run/secrets/kubernetes.io/serviceaccount, where --in-cluster
# reads it, and KUBERNETES_SERVICE_HOST/PORT name the API server. Nothing changes outside the
# namespace (the host has no such directory and keeps none).
# Usage: in-cluster.sh SA_DIR API_HOST API_PORT COMMAND [ARG...]   (needs root: unshare -m)
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,6p' "$0" >&2; exit 2; }
SA_DIR=$(cd "$1" && pwd) API_HOST=$2 API_PORT=$3
shift 3
export SA_DIR KUBERNETES_SERVICE_HOST=$API_HOST KUBERNETES_SERVICE_PORT=$API_PORT
# A small tmpfs over /run (= /var/run) gives a mount point without touching the host's /run.
# shellcheck disable=SC2016  # expanded by the inner shell, inside the namespace
exec unshare --mount --propagation private -- sh -euc '
  mount -t tmpfs -o size=1m,mode=0755 mcpk-run /run
  mkdir -p /run/secrets/kubernetes.io/serviceaccount
  mount --bind -o ro "$SA_DIR" /run/secrets/kubernetes.io/serviceaccount
  exec "$@"' in-cluster "$@"
