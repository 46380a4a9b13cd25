#!/usr/bin/env bash
# Side-by-side benchmark of mcp-kubernetes against kubernetes-mcp-server and mcp-server-kubernetes
# (npm) on one local cluster in one run; writes docs/performance.md and prints it.
# Phases: stdio (spawn, RSS, tools/list, sequential get/list, raw API floor), load (S concurrent
# MCP sessions x N calls over Streamable HTTP, ours vs kubernetes-mcp-server), podops (exec and
# port-forward, ours vs kubectl), responsiveness (ping latency of one HTTP session while others
# list 10,000 ConfigMaps, ours vs kubernetes-mcp-server).
# Usage: bench/run.sh [--quick] [--only LIST] [--out FILE] [--run-dir DIR] [--port-base P]
#                     [--keep-cluster]
#   --quick        small sample counts (a smoke run; numbers are not for publishing)
#   --only LIST    comma-separated phases (stdio, load, podops, responsiveness) and/or servers (ours,
#                  ours-unthrottled, kms, flux); none of a kind = all of it: `--only load`,
#                  `--only load,ours`, `--only ours,kms` (every phase, two servers)
#   --out FILE     markdown report (default docs/performance.md)
#   --run-dir/--port-base  the cluster this run starts (default /dev/shm/mcpk-bench, 16600)
#   --keep-cluster leave the cluster (and its 500 pods) running afterwards
# Env: MCPK_BIN (our binary; default: Release build in build-bench), BENCH_N_SPAWN (20),
#      BENCH_N_GET (200), BENCH_N_LIST (50), BENCH_PODS (500), BENCH_PHASE_BUDGET_S (90),
#      BENCH_CALL_TIMEOUT_S (60), BENCH_JSON_OUT (raw results, default build-bench/bench-results.json),
#      load: BENCH_LOAD_SESSIONS (64), BENCH_LOAD_CALLS (1000 per session), BENCH_LOAD_BUDGET_S (1200
#      per server), BENCH_LOAD_DEFAULTS_S (15; 0 skips the default-rate-limit runs),
#      BENCH_LOAD_FLOOR_CALLS (250 per loop), podops: BENCH_EXEC_N (100), BENCH_PF_MB (64),
#      BENCH_PF_REPS (3), BENCH_PF_CONNECT_N (50), responsiveness: BENCH_RESP_OBJECTS (10000),
#      BENCH_RESP_NS (bench-resp), BENCH_RESP_LISTERS (2 listing sessions), BENCH_RESP_IDLE_S (10),
#      BENCH_RESP_LIST_S (30 per mode), BENCH_RESP_PING_MS (10), BENCH_RESP_PAGE (1000),
#      BENCH_RESP_MODES (full,summary; also slim, table); BENCH_NOTE (a sentence for the report's header),
#      BENCH_OURS_REV (the git revision to name for MCPK_BIN; default: this tree's).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
RUN_DIR=${BENCH_RUN:-/dev/shm/mcpk-bench}
PORT_BASE=${BENCH_PORT_BASE:-16600}
OUT=$ROOT/docs/performance.md
KEEP=0
ONLY=
ARGS=("$@")
NS=bench
PODS=${BENCH_PODS:-500}
WAIT_PODS_S=${BENCH_WAIT_PODS_S:-300}

log() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --quick)
      export BENCH_N_SPAWN=${BENCH_N_SPAWN:-3} BENCH_N_GET=${BENCH_N_GET:-20} BENCH_N_LIST=${BENCH_N_LIST:-5}
      export BENCH_PHASE_BUDGET_S=${BENCH_PHASE_BUDGET_S:-30}
      export BENCH_LOAD_SESSIONS=${BENCH_LOAD_SESSIONS:-8} BENCH_LOAD_CALLS=${BENCH_LOAD_CALLS:-50}
      export BENCH_LOAD_DEFAULTS_S=${BENCH_LOAD_DEFAULTS_S:-5} BENCH_LOAD_FLOOR_CALLS=${BENCH_LOAD_FLOOR_CALLS:-50}
      export BENCH_EXEC_N=${BENCH_EXEC_N:-10} BENCH_PF_MB=${BENCH_PF_MB:-8} BENCH_PF_REPS=${BENCH_PF_REPS:-2}
      export BENCH_PF_CONNECT_N=${BENCH_PF_CONNECT_N:-10}
      export BENCH_RESP_IDLE_S=${BENCH_RESP_IDLE_S:-3} BENCH_RESP_LIST_S=${BENCH_RESP_LIST_S:-8}
      shift ;;
    --only) ONLY=$2; shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    --run-dir) RUN_DIR=$2; shift 2 ;;
    --port-base) PORT_BASE=$2; shift 2 ;;
    --keep-cluster) KEEP=1; shift ;;
    -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done
RUN_DIR=$(realpath -m "$RUN_DIR")

command -v node >/dev/null || die "node is not installed (Node 20+ needed)"
command -v npm >/dev/null || die "npm is not installed"

# --- our server: a Release build unless MCPK_BIN names one -----------------------------------
MCPK_BIN_GIVEN=${MCPK_BIN:-}
if [ -n "${MCPK_BIN:-}" ]; then
  [ -x "$MCPK_BIN" ] || die "MCPK_BIN=$MCPK_BIN is not an executable"
  MCPK_BIN=$(realpath "$MCPK_BIN") # bench.mjs runs in bench/
else
  log "building Release into build-bench"
  if [ ! -f "$ROOT/build-bench/build.ninja" ]; then
    cmake -S "$ROOT" -B "$ROOT/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMCPK_BUILD_TESTS=OFF >&2 \
      || die "cmake configure of build-bench failed"
  fi
  cmake --build "$ROOT/build-bench" -j "$(nproc)" --target mcp-kubernetes >&2 || die "Release build failed"
  MCPK_BIN=$ROOT/build-bench/mcp-kubernetes
fi
export MCPK_BIN
mkdir -p "$ROOT/build-bench"

# --- peers from npm, pinned by bench/package-lock.json --------------------------------------
if [ ! -f "$BENCH/node_modules/.package-lock.json" ] || [ "$BENCH/package-lock.json" -nt "$BENCH/node_modules/.package-lock.json" ]; then
  log "installing the peers (npm ci in bench/)"
  (cd "$BENCH" && timeout 900 npm ci --no-audit --no-fund >&2) \
    || log "WARNING: npm ci failed; peers that are not installed will be skipped"
fi

# --- the cluster: ours alone, torn down on exit ---------------------------------------------
cleanup() {
  local rc=$?
  if [ "$KEEP" = 1 ]; then
    log "cluster left running: source $RUN_DIR/env; stop with test/cluster/down.sh --run-dir $RUN_DIR"
  elif [ -d "$RUN_DIR" ]; then
    log "stopping the cluster"
    "$ROOT/test/cluster/down.sh" --run-dir "$RUN_DIR" >&2 || log "WARNING: down.sh failed"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting the cluster in $RUN_DIR (ports $PORT_BASE+)"
timeout 600 "$ROOT/test/cluster/up.sh" --run-dir "$RUN_DIR" --port-base "$PORT_BASE" >&2 || die "cluster did not start"
# shellcheck disable=SC1091
. "$RUN_DIR/env"
export KUBECONFIG KUBECTL PF_TARGET_8080
k() { timeout 60 "$KUBECTL" "$@"; }

# --- the workload: PODS Running pods of one Deployment on the kwok nodes ------------------
# (not needed when the only phase named is responsiveness, which makes its own ConfigMaps)
need_pods=1
case ",$ONLY," in
  *,stdio,* | *,load,* | *,podops,*) ;;
  *,responsiveness,*) need_pods=0 ;;
esac
if [ "$need_pods" = 1 ]; then
  log "creating $PODS pods in namespace $NS"
  k create namespace "$NS" --dry-run=client -o yaml | k apply -f - >/dev/null
  k -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: fleet}
spec:
  replicas: $PODS
  selector: {matchLabels: {app: fleet}}
  template:
    metadata: {labels: {app: fleet}}
    spec:
      containers: [{name: app, image: registry.local/bench:1}]
EOF
  deadline=$((SECONDS + WAIT_PODS_S))
  while :; do
    total=$(k -n "$NS" get pods --no-headers 2>/dev/null | wc -l)
    running=$(k -n "$NS" get pods --field-selector=status.phase=Running --no-headers 2>/dev/null | wc -l)
    [ "$running" -eq "$PODS" ] && [ "$total" -eq "$PODS" ] && break
    ((SECONDS < deadline)) || die "only $running/$PODS pods Running ($total exist) after ${WAIT_PODS_S}s"
    sleep 2
  done
  log "$PODS pods Running"
fi

# --- measure -------------------------------------------------------------------------------
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
  log "WARNING: load average $load on $(nproc) cores: other work is competing; latencies will be inflated"
fi
export BENCH_NS=$NS BENCH_PODS=$PODS BENCH_MD_OUT=$OUT BENCH_ONLY=$ONLY
export BENCH_JSON_OUT=${BENCH_JSON_OUT:-$ROOT/build-bench/bench-results.json}
export BENCH_PROFILE_NOTES=$BENCH/profile-notes.md
if [ -n "${MCPK_BIN_GIVEN:-}" ]; then
  export BENCH_COMMAND="MCPK_BIN=$MCPK_BIN_GIVEN bench/run.sh${ARGS[*]:+ ${ARGS[*]}}"
else
  export BENCH_COMMAND="bench/run.sh${ARGS[*]:+ ${ARGS[*]}}   # or: make bench"
fi
# BENCH_OURS_REV may name the revision of a MCPK_BIN that was not built from this tree.
if [ -z "${BENCH_OURS_REV:-}" ]; then
  BENCH_OURS_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)
  if [ -n "$BENCH_OURS_REV" ] && [ -n "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ]; then
    BENCH_OURS_REV="$BENCH_OURS_REV+local changes"
  fi
fi
export BENCH_OURS_REV
(cd "$BENCH" && node bench.mjs)
log "report written to $OUT (raw results: $BENCH_JSON_OUT)"
