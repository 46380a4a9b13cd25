#!/usr/bin/env bash
# Builds promlint-check (main.go here: `promtool check metrics` from pinned client_golang and
# common modules, without the whole Prometheus module) and caches it outside the repo, next
# to the control-plane binaries of test/cluster/build.sh but under its own key, so neither
# invalidates the other. Prints the binary's path on stdout. Idempotent: a warm cache returns
# at once; cold it takes about 1.5 min on 2 cores (mostly the Go standard library).
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RECIPE_REV=1   # bump when build flags change
GOFLAGS_MORE=-mod=readonly
# shellcheck source=../lib/go-cache.sh
. "$SRC/../lib/go-cache.sh"
KEY=$(go_cache_key "$RECIPE_REV" "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go")
DIR="$HARNESS_CACHE/promlint-$KEY"
go_cache_enter promlint "$DIR/promlint-check"
echo "[promlint/build.sh $(date +%T)] building promlint-check ($KEY)" >&2
TMP="$DIR.tmp"; rm -rf "$TMP"; mkdir -p "$TMP"
go build -C "$SRC" -trimpath -ldflags "-s -w" -o "$TMP/promlint-check" .
rm -rf "$DIR"; mv "$TMP" "$DIR"
echo "$DIR/promlint-check"
