#!/usr/bin/env bash
# Builds helm (the Go module helm.sh/helm/v4, cmd/helm) and caches it outside the repo, next to
# the control-plane binaries of test/cluster/build.sh but under its own key and lock, so neither
# invalidates or waits for the other. Prints the binary's path on stdout. Idempotent: a warm
# cache returns at once; cold it downloads the modules and compiles for several minutes on 2 cores.
set -euo pipefail
: "${HARNESS_CACHE:=/var/cache/mcp-k8s-harness}"
HELM_VERSION=v4.3.2
RECIPE_REV=1   # bump when build flags change
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOMODCACHE="$HARNESS_CACHE/gomod" GOCACHE="$HARNESS_CACHE/gocache"
export GOFLAGS="-modcacherw -buildvcs=false"
mkdir -p "$HARNESS_CACHE"
KEY=$({ go version; echo "$HELM_VERSION $RECIPE_REV"; } | sha256sum | cut -c1-16)
DIR="$HARNESS_CACHE/helm-$KEY"
if [ -x "$DIR/helm" ]; then echo "$DIR/helm"; exit 0; fi
exec 9>"$HARNESS_CACHE/.lock-helm"; flock 9
if [ -x "$DIR/helm" ]; then echo "$DIR/helm"; exit 0; fi   # another builder finished while we waited
echo "[helm/build.sh $(date +%T)] building helm $HELM_VERSION ($KEY)" >&2
W="$HARNESS_CACHE/src/helm-$HELM_VERSION"; rm -rf "$W"; mkdir -p "$W"; cd "$W"
printf 'module harness.local/helm\n\ngo 1.26.0\n' > go.mod
go get -tool "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
TMP="$DIR.tmp"; rm -rf "$TMP"; mkdir -p "$TMP"
# The version is stamped as the release build does, so `helm version` names the pin.
go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  -o "$TMP/helm" helm.sh/helm/v4/cmd/helm
"$TMP/helm" version >&2
rm -rf "$DIR"; mv "$TMP" "$DIR"
echo "$DIR/helm"
