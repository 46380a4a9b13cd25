#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-15, ASan+UBSan) and runs each for a while
# (what `make fuzz` and the CI `fuzz` phase run). Each target starts from its committed seeds
# (fuzz/corpus/<target>/) plus what earlier runs found (<build dir>/corpus/<target>/). A crash,
# leak, timeout or out-of-memory fails the run and prints the reproducer's path; replay it with
#   <build dir>/fuzz/fuzz_<target> <reproducer>
# Usage: scripts/fuzz.sh [--build-only | --no-build] [TARGET...]   (default: every target)
# Env: FUZZ_SECONDS (per target, 600), FUZZ_BUILD_DIR (build-fuzz), FUZZ_CXX (clang++-15),
#      FUZZ_NICE (10), FUZZ_TIMEOUT (one input, s, 25), FUZZ_RSS_MB (2048),
#      FUZZ_STATS (a file each run appends "date target seconds execs status" to;
#      default <build dir>/fuzz-stats.tsv).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=1 RUN=1 TARGETS=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-only) RUN=0; shift ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
ALL=(jsonrpc http kubeconfig manifest schema websocket spdy spdy_session jwt_verify otlp)
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")

FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
case $FUZZ_BUILD_DIR in /*) ;; *) FUZZ_BUILD_DIR=$ROOT/$FUZZ_BUILD_DIR ;; esac
FUZZ_CXX=${FUZZ_CXX:-clang++-15}
FUZZ_NICE=${FUZZ_NICE:-10}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-25}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
FUZZ_STATS=${FUZZ_STATS:-$FUZZ_BUILD_DIR/fuzz-stats.tsv}

if [ "$BUILD" = 1 ]; then
  command -v "$FUZZ_CXX" >/dev/null || { echo "$FUZZ_CXX is missing: run scripts/install-deps.sh" >&2; exit 1; }
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # -O1 and line tables only: the usual fuzzing trade (fast builds, readable stacks).
  cmake -S . -B "$FUZZ_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$FUZZ_CXX" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DMCPK_FUZZ=ON -DMCPK_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
  cmake --build "$FUZZ_BUILD_DIR" --target fuzz_all -j "$(nproc)"
fi
[ "$RUN" = 1 ] || exit 0

# Reports go to the log; a leak in the fuzzed code fails like a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$FUZZ_BUILD_DIR/corpus" "$FUZZ_BUILD_DIR/artifacts" "$(dirname "$FUZZ_STATS")"
FAILED=() SUMMARY=()
for t in "${TARGETS[@]}"; do
  bin=$FUZZ_BUILD_DIR/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "no fuzz target $t ($bin)" >&2; exit 2; }
  corpus=$FUZZ_BUILD_DIR/corpus/$t seeds=fuzz/corpus/$t log=$FUZZ_BUILD_DIR/fuzz-$t.log
  mkdir -p "$corpus"
  args=(-max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -rss_limit_mb="$FUZZ_RSS_MB"
    -artifact_prefix="$FUZZ_BUILD_DIR/artifacts/$t-" -print_final_stats=1)
  [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
  echo "== fuzz $t: ${FUZZ_SECONDS}s (log: $log)"
  rc=0
  # New inputs go to the first directory; the committed seeds are only read. stdin is closed
  # so nothing an input names can block on it.
  nice -n "$FUZZ_NICE" "$bin" "${args[@]}" "$corpus" "$seeds" </dev/null >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  status=ok
  if [ "$rc" != 0 ]; then
    status="FAILED (exit $rc)"
    FAILED+=("$t")
    grep -E '^(==[0-9]+==ERROR|SUMMARY:|.*runtime error:|artifact_prefix=|Test unit written to|.*(crash|leak|timeout|oom)-[0-9a-f]+)' \
      "$log" | head -20 || true
    # The whole stack, for CI logs that keep nothing else.
    tail -60 "$log"
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    [ -n "$reproducer" ] && echo "reproducer: $reproducer  (replay: $bin $reproducer)"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$FUZZ_SECONDS" "${execs:-0}" "${status%% *}" >>"$FUZZ_STATS"
  SUMMARY+=("$(printf '%-14s %12s execs  %s' "$t" "${execs:-?}" "$status")")
done
echo "== fuzz summary (${FUZZ_SECONDS}s per target)"
printf '%s\n' "${SUMMARY[@]}"
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "fuzz FAILED: ${FAILED[*]}"
  exit 1
fi
