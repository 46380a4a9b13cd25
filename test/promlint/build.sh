#!/usr/bin/env bash
# Builds promlint-check (main.go here: `promtool check metrics` from pinned client_golang and
# common modules, without the whole Prometheus module) and caches it outside the repo, next
# to the control-plane binaries of test/cluster/build.sh but under its own key, so neither
# invalidates the other. Prints the binary's path on stdout. Idempotent: a warm cache returns
# at once; cold it takes about 1.5 min on 2 cores (mostly the Go standard library).
set -euo pipefail
: "${HARNESS_CACHE:=/var/cache/mcp-k8s-harness}"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RECIPE_REV=1   # bump when build flags change
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOMODCACHE="$HARNESS_CACHE/gomod" GOCACHE="$HARNESS_CACHE/gocache"
export GOFLAGS="-modcacherw -mod=readonly -buildvcs=false"
mkdir -p "$HARNESS_CACHE"
KEY=$({ go version; echo "$RECIPE_REV"; cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go"; } | sha256sum | cut -c1-16)
DIR="$HARNESS_CACHE/promlint-$KEY"
if [ -x "$DIR/promlint-check" ]; then echo "$DIR/promlint-check"; exit 0; fi
# Our own lock: build.sh may hold $HARNESS_CACHE/.lock for a long cold build.
exec 9>"$HARNESS_CACHE/.lock-promlint"; flock 9
if [ -x "$DIR/promlint-check" ]; then echo "$DIR/promlint-check"; exit 0; fi
echo "[promlint/build.sh $(date +%T)] building promlint-check ($KEY)" >&2
TMP="$DIR.tmp"; rm -rf "$TMP"; mkdir -p "$TMP"
go build -C "$SRC" -trimpath -ldflags "-s -w" -o "$TMP/promlint-check" .
rm -rf "$DIR"; mv "$TMP" "$DIR"
echo "$DIR/promlint-check"
