#!/usr/bin/env bash
# Builds Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger: an OpenTelemetry Collector
# distribution with an OTLP receiver, in-memory storage and the query API) from Go modules
# and caches it outside the repo under its own key, like test/cluster/build.sh. Prints the
# binary's path on stdout. Idempotent: a warm cache returns at once; cold it is a big build
# (the collector's dependency tree), so it runs niced.
set -euo pipefail
: "${HARNESS_CACHE:=/var/cache/mcp-k8s-harness}"
JAEGER_VERSION=v1.75.0   # the module's v1 tags carry the v2 binary in cmd/jaeger
RECIPE_REV=1             # bump when build flags change
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOMODCACHE="$HARNESS_CACHE/gomod" GOCACHE="$HARNESS_CACHE/gocache"
export GOFLAGS="-modcacherw -buildvcs=false"
mkdir -p "$HARNESS_CACHE"
KEY=$({ go version; echo "$JAEGER_VERSION $RECIPE_REV"; } | sha256sum | cut -c1-16)
DIR="$HARNESS_CACHE/jaeger-$KEY"
if [ -x "$DIR/jaeger" ]; then echo "$DIR/jaeger"; exit 0; fi
# Our own lock: build.sh may hold $HARNESS_CACHE/.lock for a long cold build.
exec 9>"$HARNESS_CACHE/.lock-jaeger"; flock 9
if [ -x "$DIR/jaeger" ]; then echo "$DIR/jaeger"; exit 0; fi
echo "[tracing/build.sh $(date +%T)] building jaeger $JAEGER_VERSION ($KEY)" >&2
W="$HARNESS_CACHE/src/jaeger-$JAEGER_VERSION"; rm -rf "$W"; mkdir -p "$W"; cd "$W"
printf 'module harness.local/jaeger\n\ngo 1.26.0\n' > go.mod
go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" >&2
TMP="$DIR.tmp"; rm -rf "$TMP"; mkdir -p "$TMP"
nice -n 10 go build -trimpath -ldflags "-s -w" -o "$TMP/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
rm -rf "$DIR"; mv "$TMP" "$DIR"
echo "[tracing/build.sh $(date +%T)] done: $DIR/jaeger" >&2
echo "$DIR/jaeger"
