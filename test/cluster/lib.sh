# shellcheck shell=bash
# Shared helpers for the local test cluster scripts (up.sh, down.sh, tests).
# Sourced, never executed; callers set `set -euo pipefail` themselves.
# shellcheck disable=SC2034  # variables below are used by the sourcing scripts

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${HARNESS_RUN:=/dev/shm/mcp-k8s-cluster}"
# Marker proving a directory was created by up.sh, so down.sh never `rm -rf`s a stranger's dir.
HARNESS_MARKER=.mcp-k8s-harness

# Loopback traffic must never go through an HTTP proxy (curl honours *_proxy; Go skips loopback).
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

log() { echo "[$(basename "$0") $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- port layout --------------------------------------------------------------------------
# Everything lives in [base, base+100) so harnesses with different bases never collide.
# Per-cluster ports leave room for 20 clusters.
HARNESS_MAX_CLUSTERS=20
etcd_port()       { echo $(($1 + 0)); }
etcd_peer_port()  { echo $(($1 + 1)); }
dex_port()        { echo $(($1 + 2)); }
pf_target_8080()  { echo $(($1 + 3)); }   # nothing listens here by default: tests start a server
pf_target_other() { echo $(($1 + 4)); }
apiserver_port()  { echo $(($1 + 10 + $2)); }   # base cluster-index
kcm_port()        { echo $(($1 + 30 + $2)); }
sched_port()      { echo $(($1 + 50 + $2)); }
kwok_port()       { echo $(($1 + 70 + $2)); }

# Ports our processes listen on (not the port-forward targets, which tests own).
harness_ports() { # base clusters dex(0|1)
  local b=$1 n=$2 i
  etcd_port "$b"; etcd_peer_port "$b"
  [ "$3" = 1 ] && dex_port "$b"
  for ((i = 0; i < n; i++)); do
    apiserver_port "$b" "$i"; kcm_port "$b" "$i"; kwok_port "$b" "$i"
    [ "$i" = 0 ] && sched_port "$b" "$i"
  done
  return 0
}

port_in_use() { # port -> 0 if something listens on it
  if command -v ss >/dev/null; then
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# A currently free ephemeral port (tiny race, fine for tests).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- waiting ------------------------------------------------------------------------------
# wait_until TIMEOUT_S CMD... : poll CMD every 0.2 s; non-zero on timeout.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# wait_url TIMEOUT_S URL [curl args...]
wait_url() {
  local t=$1 url=$2; shift 2
  wait_until "$t" curl -fsS --max-time 2 "$@" "$url"
}

# --- processes ----------------------------------------------------------------------------
# True if PID is alive *and* is one of ours: every process up.sh starts has the run dir in
# its command line, which protects against PID reuse after a crash or reboot.
pid_is_ours() { # pid run-dir
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

# --- kubeconfig ---------------------------------------------------------------------------
# write_kubeconfig CA CERT KEY USER CLUSTER=URL...  -> stdout. Self-contained (embedded data);
# one context per cluster, named like the cluster; the first one is current.
write_kubeconfig() {
  local ca cert key user c
  ca=$(base64 -w0 "$1"); cert=$(base64 -w0 "$2"); key=$(base64 -w0 "$3"); user=$4; shift 4
  echo "apiVersion: v1"
  echo "kind: Config"
  echo "clusters:"
  for c in "$@"; do
    echo "- name: ${c%%=*}"
    echo "  cluster: {server: \"${c#*=}\", certificate-authority-data: $ca}"
  done
  echo "users:"
  echo "- name: $user"
  echo "  user: {client-certificate-data: $cert, client-key-data: $key}"
  echo "contexts:"
  for c in "$@"; do
    echo "- name: ${c%%=*}"
    echo "  context: {cluster: ${c%%=*}, user: $user}"
  done
  echo "current-context: ${1%%=*}"
}
