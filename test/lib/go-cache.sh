# shellcheck shell=bash
# Sourced by the test ground's build scripts (test/tracing, test/helm, test/promlint,
# test/federation/crds.sh): the Go environment they share, and how a build is cached outside the
# repo: under $HARNESS_CACHE, in a directory named by a key (the Go version plus the script's
# pins), built as <dir>.tmp and renamed when complete, under a lock of its own so that builders of
# different things never wait on each other (test/cluster/build.sh may hold $HARNESS_CACHE/.lock
# for a long cold build).
: "${HARNESS_CACHE:=/var/cache/mcp-k8s-harness}"
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOMODCACHE="$HARNESS_CACHE/gomod" GOCACHE="$HARNESS_CACHE/gocache"
export GOFLAGS="-modcacherw -buildvcs=false${GOFLAGS_MORE:+ $GOFLAGS_MORE}"
mkdir -p "$HARNESS_CACHE"

# go_cache_key PINS [FILE...]: 16 hex digits of the Go version, PINS and the files' contents.
go_cache_key() {
  local pins=$1
  shift
  { go version; echo "$pins"; [ $# -eq 0 ] || cat "$@"; } | sha256sum | cut -c1-16
}

# go_cache_enter LOCK RESULT [OUTPUT]: when RESULT (a file or directory) exists, prints OUTPUT
# (default RESULT) and exits the script; else takes $HARNESS_CACHE/.lock-LOCK (kept until the
# script ends) and checks again, since another builder may have finished while this one waited.
go_cache_enter() {
  local out=${3:-$2}
  if [ -e "$2" ]; then echo "$out"; exit 0; fi
  exec 9>"$HARNESS_CACHE/.lock-$1"
  # Bounded: a cold build of the biggest of these takes minutes, not an hour.
  flock -w "${GO_CACHE_LOCK_WAIT:-3600}" 9 || { echo "timed out waiting for $HARNESS_CACHE/.lock-$1" >&2; exit 1; }
  if [ -e "$2" ]; then echo "$out"; exit 0; fi
}

# go_cache_module_dir DIR MODULE: a fresh wrapper module harness.local/MODULE in
# $HARNESS_CACHE/src/DIR, made the working directory and set as $W, for `go get -tool` to pin
# a command's dependencies.
go_cache_module_dir() {
  W="$HARNESS_CACHE/src/$1"
  rm -rf "$W"
  mkdir -p "$W"
  cd "$W" || exit 1
  printf 'module harness.local/%s\n\ngo 1.26.0\n' "$2" >go.mod
}
