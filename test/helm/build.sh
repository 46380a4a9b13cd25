#!/usr/bin/env bash
# Builds helm (the Go module helm.sh/helm/v4, cmd/helm) and caches it outside the repo, next to
# the control-plane binaries of test/cluster/build.sh but under its own key and lock, so neither
# invalidates or waits for the other. Prints the binary's path on stdout. Idempotent: a warm
# cache returns at once; cold it downloads the modules and compiles for several minutes on 2 cores.
set -euo pipefail
HELM_VERSION=v4.3.2
RECIPE_REV=1   # bump when build flags change
# shellcheck source=../lib/go-cache.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/go-cache.sh"
KEY=$(go_cache_key "$HELM_VERSION $RECIPE_REV")
DIR="$HARNESS_CACHE/helm-$KEY"
go_cache_enter helm "$DIR/helm"
echo "[helm/build.sh $(date +%T)] building helm $HELM_VERSION ($KEY)" >&2
go_cache_module_dir "helm-$HELM_VERSION" helm
go get -tool "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
TMP="$DIR.tmp"; rm -rf "$TMP"; mkdir -p "$TMP"
# The version is stamped as the release build does, so `helm version` names the pin.
go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  -o "$TMP/helm" helm.sh/helm/v4/cmd/helm
"$TMP/helm" version >&2
rm -rf "$DIR"; mv "$TMP" "$DIR"
echo "$DIR/helm"
