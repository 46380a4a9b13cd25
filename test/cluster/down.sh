#!/usr/bin/env bash
# Tears down what up.sh started: kills the recorded PIDs (newest first, etcd last; TERM, then
# KILL after HARNESS_STOP_TIMEOUT s), checks the harness ports are free, removes the run dir.
# Only processes whose command line contains the run dir are signalled, so a recycled PID
# is never hit. Usage: down.sh [--run-dir DIR]   (default $HARNESS_RUN or /dev/shm/mcp-k8s-cluster)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$HARNESS_RUN
while [ $# -gt 0 ]; do
  case $1 in
    --run-dir) RUN=$2; shift 2 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
RUN=$(realpath -m "$RUN")
[ -e "$RUN" ] || { log "nothing to do: $RUN does not exist"; exit 0; }
[ -f "$RUN/$HARNESS_MARKER" ] || die "$RUN was not created by up.sh (no $HARNESS_MARKER); not touching it"

# stop PID... : TERM the given PIDs that are ours, wait, then KILL survivors.
stop() {
  local pid left deadline=$((SECONDS + ${HARNESS_STOP_TIMEOUT:-15}))
  # A process a test froze (SIGSTOP, test/federation/up.sh --freeze) acts on TERM only once continued.
  for pid in "$@"; do pid_is_ours "$pid" "$RUN" && kill -CONT "$pid" 2>/dev/null; done
  for pid in "$@"; do pid_is_ours "$pid" "$RUN" && kill -TERM "$pid" 2>/dev/null; done
  while :; do
    left=()
    for pid in "$@"; do pid_is_ours "$pid" "$RUN" && left+=("$pid"); done
    [ ${#left[@]} = 0 ] && return 0
    ((SECONDS < deadline)) || break
    sleep 0.2
  done
  log "still running after TERM, sending KILL: ${left[*]}"
  kill -KILL "${left[@]}" 2>/dev/null || true
  sleep 0.5
}

# Everything but etcd first (newest first), so apiservers can shut down cleanly against a
# live etcd; then etcd.
if [ -s "$RUN/pids" ]; then
  mapfile -t others < <(tac "$RUN/pids" | awk '$2 != "etcd" {print $1}')
  mapfile -t etcd < <(awk '$2 == "etcd" {print $1}' "$RUN/pids")
  [ ${#others[@]} = 0 ] || stop "${others[@]}"
  [ ${#etcd[@]} = 0 ] || stop "${etcd[@]}"
fi

rc=0
if [ -f "$RUN/ports" ]; then
  while read -r p; do
    if port_in_use "$p"; then
      log "port $p is still in use:"; ss -Hltnp "sport = :$p" >&2 || true; rc=1
    fi
  done <"$RUN/ports"
fi
if [ -f "$RUN/pids" ]; then
  while read -r pid name; do
    pid_is_ours "$pid" "$RUN" && { log "$name ($pid) survived KILL; keeping $RUN"; exit 1; }
  done <"$RUN/pids"
fi
rm -rf "$RUN"
log "stopped and removed $RUN"
exit "$rc"
