#!/usr/bin/env bash
# The whole test suite from a fresh machine (what `make test` and CI run):
#   deps (apt, npm ci) -> build -> unit tests -> package (.deb and tarball, unpacked and run) ->
#   fuzz (each libFuzzer target briefly) -> asan (ASan+UBSan build, unit tests) -> tsan (TSan
#   build, unit tests) -> control-plane binaries (cached) -> a private local cluster (always torn
#   down) -> kubectl stream checks -> image (OCI layout, run chrooted) -> every e2e test ->
#   asan-e2e (every e2e test again, against the ASan server).
# Prints the time of every phase and a summary; exits non-zero if anything failed.
# Usage: scripts/test.sh [--unit-only | --e2e-only] [--keep-cluster]
# Env: BUILD_DIR (build), BUILD_TYPE (RelWithDebInfo), HARNESS_CACHE (/var/cache/mcp-k8s-harness),
#      HARNESS_PORT_BASE (default: a free base), TEST_CLUSTERS (2), TEST_DEX (1),
#      E2E_TIMEOUT (whole e2e phase, s, 2700), E2E_TEST_TIMEOUT (ms, 900000; on Node 20 it bounds
#      each test file as a whole too),
#      E2E_FILES (space-separated test files instead of all of test/e2e/tests/),
#      TEST_FUZZ / TEST_ASAN / TEST_TSAN (1; 0 skips that phase; TEST_ASAN=0 skips asan-e2e too),
#      FUZZ_CI_SECONDS (per fuzz target, 30).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
UNIT=1 E2E=1 KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --unit-only) E2E=0; shift ;;
    --e2e-only) UNIT=0; shift ;;
    --keep-cluster) KEEP=1; shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

export BUILD_DIR=${BUILD_DIR:-build} BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
TEST_CLUSTERS=${TEST_CLUSTERS:-2} TEST_DEX=${TEST_DEX:-1}
E2E_TIMEOUT=${E2E_TIMEOUT:-2700} E2E_TEST_TIMEOUT=${E2E_TEST_TIMEOUT:-900000}
TEST_FUZZ=${TEST_FUZZ:-1} TEST_ASAN=${TEST_ASAN:-1} TEST_TSAN=${TEST_TSAN:-1} FUZZ_CI_SECONDS=${FUZZ_CI_SECONDS:-30}
ASAN_DIR=${BUILD_DIR}-asan TSAN_DIR=${BUILD_DIR}-tsan
# The Go build cache (~4 GB) lives outside the clone so it survives between runs and clones.
: "${HARNESS_CACHE:=/var/cache/mcp-k8s-harness}"
if ! mkdir -p "$HARNESS_CACHE" 2>/dev/null || [ ! -w "$HARNESS_CACHE" ]; then
  HARNESS_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mcp-k8s-harness
  mkdir -p "$HARNESS_CACHE"
fi
export HARNESS_CACHE
# Loopback traffic (apiserver, kwok, Dex) must never go through a proxy.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

SHM=/dev/shm; [ -d "$SHM" ] && [ -w "$SHM" ] || SHM=${TMPDIR:-/tmp}
RUN=$SHM/mcpk-test-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcpk-test.XXXXXX")   # per-run scratch: reports, bin dir
CLUSTER_UP=0
T_START=$SECONDS

# --- phases: name, status, seconds --------------------------------------------------------
RESULTS=()
FAILED=0
ts() { date +%T; }
banner() { printf '\n=== [%s] %s\n' "$(ts)" "$*"; }

# phase NAME FUNC: runs FUNC with `set -e` honoured inside it (a subshell that is not part
# of an && / || list), records its status and time; returns its status.
CURRENT=""   # the phase running now, for the summary of an interrupted run
phase() {
  local name=$1 t0=$SECONDS rc=0
  CURRENT=$name
  banner "$name"
  set +e
  (set -e; "$2")
  rc=$?
  set -e
  CURRENT=""
  local dt=$((SECONDS - t0)) status=ok
  [ "$rc" = 0 ] || { status="FAILED (exit $rc)"; FAILED=1; }
  RESULTS+=("$(printf '%-16s %-18s %4dm%02ds' "$name" "$status" $((dt / 60)) $((dt % 60)))")
  printf '=== [%s] %s: %s in %ds\n' "$(ts)" "$name" "$status" "$dt"
  return "$rc"
}

UNIT_PASS=0 UNIT_FAIL=0 E2E_PASS=0 E2E_FAIL=0 STREAMS_PASS=0 STREAMS_FAIL=0 ASAN_E2E_PASS="" ASAN_E2E_FAIL=""
SUMMARY_DONE=0
summary() {
  SUMMARY_DONE=1
  local dt=$((SECONDS - T_START))
  printf '\n=== summary (%s)\n' "$(ts)"
  printf '%-16s %-18s %s\n' phase status time
  local r
  for r in "${RESULTS[@]}"; do echo "$r"; done
  printf '%-16s %-18s %4dm%02ds\n' total "" $((dt / 60)) $((dt % 60))
  [ "$UNIT" = 1 ] && echo "unit tests: $UNIT_PASS passed, $UNIT_FAIL failed"
  if [ "$E2E" = 1 ]; then
    echo "kubectl streams: $STREAMS_PASS passed, $STREAMS_FAIL failed"
    echo "e2e tests: $E2E_PASS passed, $E2E_FAIL failed"
    [ -z "$ASAN_E2E_PASS" ] || echo "e2e tests under ASan: $ASAN_E2E_PASS passed, $ASAN_E2E_FAIL failed"
  fi
  if [ -s "$WORK/fuzz.out" ] && grep -q '^fuzz FAILED' "$WORK/fuzz.out"; then
    grep -E '^(fuzz FAILED|==[0-9]+==ERROR|SUMMARY:|.*runtime error:|reproducer:)' "$WORK/fuzz.out" | head -12
  fi
  # The one closing line CI reads.
  echo "tests: $((UNIT_PASS + E2E_PASS + STREAMS_PASS)) passed, $((UNIT_FAIL + E2E_FAIL + STREAMS_FAIL)) failed"
}

teardown() {
  [ "$CLUSTER_UP" = 1 ] || return 0
  CLUSTER_UP=0
  if [ "$KEEP" = 1 ]; then
    echo "keeping the cluster: source $RUN/env; stop it with test/cluster/down.sh --run-dir $RUN"
    return 0
  fi
  local t0=$SECONDS
  banner "teardown"
  if test/cluster/down.sh --run-dir "$RUN"; then
    RESULTS+=("$(printf '%-16s %-18s %4dm%02ds' teardown ok 0 $((SECONDS - t0)))")
  else
    RESULTS+=("$(printf '%-16s %-18s %4dm%02ds' teardown FAILED 0 $((SECONDS - t0)))")
    FAILED=1
  fi
}
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$CURRENT" ] || RESULTS+=("$(printf '%-16s %-18s' "$CURRENT" interrupted)")
  teardown || true
  [ "$rc" = 0 ] && [ "$FAILED" = 1 ] && rc=1
  [ "$SUMMARY_DONE" = 1 ] || summary
  rm -rf "$WORK"
  exit "$rc"
}
trap on_exit EXIT
trap 'echo "interrupted" >&2; FAILED=1; exit 130' INT
trap 'echo "terminated" >&2; FAILED=1; exit 143' TERM

finish() {
  summary
  [ "$FAILED" = 0 ] || exit 1
  exit 0
}

# --- phase bodies -------------------------------------------------------------------------
do_deps() {
  scripts/install-deps.sh
  scripts/e2e-deps.sh
}

do_build() {
  make --no-print-directory BUILD_DIR="$BUILD_DIR" BUILD_TYPE="$BUILD_TYPE" build
  [ -x "$BUILD_DIR/mcp-kubernetes" ]
  "$BUILD_DIR/mcp-kubernetes" --version
}

do_unit() {
  local out=$WORK/ctest.log rc=0
  ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 300 -j "$(nproc)" 2>&1 | tee "$out" || rc=$?
  counts_from_ctest "$out" >"$WORK/unit.counts"
  return "$rc"
}
# "100% tests passed, 0 tests failed out of 12" -> "12 0"
counts_from_ctest() {
  sed -n 's/.* tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\2 \1/p' "$1" |
    awk '{print $1 - $2, $2}' | tail -1
}

do_cluster_bins() {
  test/cluster/build.sh >"$WORK/bin"
  echo "control-plane binaries: $(cat "$WORK/bin")"
  test/promlint/build.sh >"$WORK/promlint"   # `promtool check metrics` for metrics.test.mjs
  echo "metrics checker: $(cat "$WORK/promlint")"
  echo "helm: $(test/helm/build.sh)"   # helm_chart.test.mjs: lint, template, install
  echo "chart CRDs: $(test/helm/crds.sh)"   # HTTPRoute, ServiceMonitor, PrometheusRule schemas
  # The OTLP collector for tracing.test.mjs; a failed build fails that test only (it retries).
  test/tracing/build.sh >"$WORK/jaeger" || : >"$WORK/jaeger"
  echo "trace collector: $(cat "$WORK/jaeger")"
}

# A port base whose whole [base, base+100) range is free. Bases stay below the ephemeral
# range (32768+) so outgoing connections don't take our ports mid-run.
pick_port_base() {
  local listening b p busy
  listening=$(ss -Hltn 2>/dev/null | awk '{n = split($4, a, ":"); print a[n]}' | sort -un)
  for _ in $(seq 1 200); do
    b=$(((RANDOM % 150) * 100 + 17000))
    busy=0
    for p in $listening; do
      if ((p >= b && p < b + 100)); then busy=1; break; fi
    done
    [ "$busy" = 0 ] && { echo "$b"; return 0; }
  done
  echo "no free port base found" >&2
  return 1
}

do_cluster_up() {
  local args=(--run-dir "$RUN" --clusters "$TEST_CLUSTERS") base attempt
  [ "$TEST_DEX" = 1 ] && args+=(--dex)
  for attempt in 1 2 3; do
    base=${HARNESS_PORT_BASE:-$(pick_port_base)}
    echo "cluster: run dir $RUN, port base $base, clusters $TEST_CLUSTERS, dex $TEST_DEX"
    if HARNESS_BIN=$(cat "$WORK/bin") test/cluster/up.sh "${args[@]}" --port-base "$base"; then return 0; fi
    # Another run may have grabbed the same ports between our check and up.sh: retry elsewhere.
    [ -z "${HARNESS_PORT_BASE:-}" ] || return 1
    echo "cluster bring-up failed (attempt $attempt); retrying with another port base" >&2
  done
  return 1
}

# make package / make install: the .deb and tarball unpacked and run (test/package/test.sh).
do_package() { test/package/test.sh "$BUILD_DIR"; }
# The container image as an OCI layout, run chrooted against the cluster (test/image/test.sh).
do_image() { test/image/test.sh --run-dir "$RUN" "$BUILD_DIR"; }

do_streams() {
  test/cluster/test-kubectl-streams.sh --run-dir "$RUN" 2>&1 | tee "$WORK/streams.log"
}
counts_from_streams() { # lines "ok ..." / "FAIL ..." printed by test-kubectl-streams.sh
  local p f
  p=$(grep -c '^ok\b' "$WORK/streams.log" || true)
  f=$(grep -c '^FAIL\b' "$WORK/streams.log" || true)
  echo "${p:-0} ${f:-0}"
}

E2E_BIN="" E2E_TAP=""  # default: the build's binary, $WORK/e2e.tap
do_e2e() {
  cd test/e2e
  local files=()
  if [ -n "${E2E_FILES:-}" ]; then
    read -r -a files <<<"$E2E_FILES"
  else
    files=(tests/)
  fi
  # spec for people, tap to a file for counting. The phase timeout is a backstop; every test
  # has its own timeout too. --foreground keeps Ctrl-C reaching node.
  HARNESS_RUN=$RUN MCPK_BIN=${E2E_BIN:-$BUILD_DIR/mcp-kubernetes} PROMLINT_BIN=$(cat "$WORK/promlint") \
    JAEGER_BIN=$(cat "$WORK/jaeger" 2>/dev/null || true) \
    timeout --foreground -k 30 "$E2E_TIMEOUT" \
    node --test --test-concurrency=1 --test-timeout="$E2E_TEST_TIMEOUT" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="${E2E_TAP:-$WORK/e2e.tap}" \
    "${files[@]}"
}
counts_from_tap() { # a timed-out (cancelled) test counts as failed; no report at all as 1 failure
  local p f c tap=${1:-$WORK/e2e.tap}
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
  c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
  echo "${p:-0} $((${f:-1} + ${c:-0}))"
}

# --- sanitizers and fuzzing (cmake/Sanitizers.cmake, scripts/fuzz.sh) ----------------------
do_fuzz() {
  # The output is kept so the summary can name a failed target and its first report: CI shows
  # the summary, not this phase's log.
  FUZZ_SECONDS=$FUZZ_CI_SECONDS FUZZ_BUILD_DIR=${BUILD_DIR}-fuzz scripts/fuzz.sh 2>&1 | tee "$WORK/fuzz.out"
}

# -O1 and light debug info: sanitizer builds are for finding bugs, and compile faster so.
sanitizer_build() { # DIR KIND
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DMCPK_SANITIZE="$2" >/dev/null
  cmake --build "$1" -j "$(nproc)"
}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
do_asan() {
  sanitizer_build "$ASAN_DIR" address
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    ctest --test-dir "$ASAN_DIR" --output-on-failure --timeout 600 -j "$(nproc)"
}
do_tsan() {
  sanitizer_build "$TSAN_DIR" thread
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir "$TSAN_DIR" --output-on-failure --timeout 600 -j "$(nproc)"
}
# The e2e suite against the ASan server. Tests start the server with an environment of their
# own, so a wrapper sets the options; reports go to files (the server's stderr belongs to the
# test), and any report fails the phase.
do_asan_e2e() {
  local logs=$WORK/asan-reports wrapper=$WORK/mcp-kubernetes-asan
  mkdir -p "$logs"
  cat >"$wrapper" <<WRAP
#!/bin/sh
export ASAN_OPTIONS=detect_leaks=1:log_path=$logs/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan
exec $ASAN_DIR/mcp-kubernetes "\$@"
WRAP
  chmod +x "$wrapper"
  local rc=0
  E2E_BIN=$wrapper E2E_TAP=$WORK/e2e-asan.tap do_e2e || rc=$?
  if [ -n "$(ls -A "$logs")" ]; then
    echo "sanitizer reports from the server (also kept in ${BUILD_DIR}-asan-reports/):"
    rm -rf "${BUILD_DIR}-asan-reports" && cp -r "$logs" "${BUILD_DIR}-asan-reports"
    for f in "$logs"/*; do
      echo "--- $f"
      head -80 "$f"
    done
    return 1
  fi
  return "$rc"
}

# --- run ----------------------------------------------------------------------------------
echo "mcp-kubernetes tests: $(ts), build dir $BUILD_DIR ($BUILD_TYPE), cache $HARNESS_CACHE"
phase deps do_deps || finish
phase build do_build || finish

if [ "$UNIT" = 1 ]; then
  phase unit do_unit || true
  read -r UNIT_PASS UNIT_FAIL <"$WORK/unit.counts" 2>/dev/null || true
  UNIT_PASS=${UNIT_PASS:-0} UNIT_FAIL=${UNIT_FAIL:-0}
  # A crashed ctest reports nothing: count it as a failure, never as a clean run.
  grep -q 'FAILED' <<<"${RESULTS[-1]}" && [ "$UNIT_FAIL" = 0 ] && UNIT_FAIL=1
  phase package do_package || true
  [ "$TEST_FUZZ" = 1 ] && { phase fuzz do_fuzz || true; }
  [ "$TEST_ASAN" = 1 ] && { phase asan do_asan || true; }
  [ "$TEST_TSAN" = 1 ] && { phase tsan do_tsan || true; }
fi

if [ "$E2E" = 1 ]; then
  phase cluster-bins do_cluster_bins || finish
  CLUSTER_UP=1   # from here on the trap tears down whatever up.sh managed to start
  phase cluster-up do_cluster_up || finish
  phase kubectl-streams do_streams || true
  read -r STREAMS_PASS STREAMS_FAIL < <(counts_from_streams)
  grep -q 'FAILED' <<<"${RESULTS[-1]}" && [ "$STREAMS_FAIL" = 0 ] && STREAMS_FAIL=1
  phase image do_image || true
  phase e2e do_e2e || true
  read -r E2E_PASS E2E_FAIL < <(counts_from_tap)
  grep -q 'FAILED' <<<"${RESULTS[-1]}" && [ "$E2E_FAIL" = 0 ] && E2E_FAIL=1
  if [ "$TEST_ASAN" = 1 ] && [ -x "$ASAN_DIR/mcp-kubernetes" ]; then
    phase asan-e2e do_asan_e2e || true
    read -r ASAN_E2E_PASS ASAN_E2E_FAIL < <(counts_from_tap "$WORK/e2e-asan.tap")
  fi
  teardown
fi
finish
