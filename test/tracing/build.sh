#!/usr/bin/env bash
# Builds Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger: an OpenTelemetry Collector
# distribution with an OTLP receiver, in-memory storage and the query API) from Go modules
# and caches it outside the repo under its own key, like test/cluster/build.sh. Prints the
# binary's path on stdout. Idempotent: a warm cache returns at once; cold it is a big build
# (the collector's dependency tree), so it runs niced.
set -euo pipefail
JAEGER_VERSION=v1.75.0   # the module's v1 tags carry the v2 binary in cmd/jaeger
RECIPE_REV=1             # bump when build flags change
# shellcheck source=../lib/go-cache.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/go-cache.sh"
KEY=$(go_cache_key "$JAEGER_VERSION $RECIPE_REV")
DIR="$HARNESS_CACHE/jaeger-$KEY"
go_cache_enter jaeger "$DIR/jaeger"
echo "[tracing/build.sh $(date +%T)] building jaeger $JAEGER_VERSION ($KEY)" >&2
go_cache_module_dir "jaeger-$JAEGER_VERSION" jaeger
go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" >&2
TMP="$DIR.tmp"; rm -rf "$TMP"; mkdir -p "$TMP"
nice -n 10 go build -trimpath -ldflags "-s -w" -o "$TMP/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
rm -rf "$DIR"; mv "$TMP" "$DIR"
echo "[tracing/build.sh $(date +%T)] done: $DIR/jaeger" >&2
echo "$DIR/jaeger"
