#!/usr/bin/env bash
# The upstream Cluster API `Cluster` CRD (cluster.x-k8s.io, v1beta1 + v1beta2) for the federation
# test ground: the YAML that the cluster-api Go module ships (core/config/crd/bases), cached
# outside the repo. If the proxy refuses that module, the CRD is generated with controller-gen
# from the served API types module (sigs.k8s.io/cluster-api/api), the way upstream generates it.
# Prints the directory holding cluster.x-k8s.io_clusters.yaml. Idempotent: a warm cache returns
# at once. Env: HARNESS_CACHE (/var/cache/mcp-k8s-harness), CAPI_CRD_FROM=module|controller-gen
# (default: module, falling back to controller-gen).
set -euo pipefail
CAPI_VERSION=v1.14.2
CONTROLLER_TOOLS_VERSION=v0.23.0
RECIPE_REV=1
FROM=${CAPI_CRD_FROM:-}
# shellcheck source=../lib/go-cache.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/go-cache.sh"
KEY=$(go_cache_key "$CAPI_VERSION $CONTROLLER_TOOLS_VERSION $RECIPE_REV $FROM")
DIR="$HARNESS_CACHE/capi-crds-$KEY"
CRD=cluster.x-k8s.io_clusters.yaml
GO_CACHE_LOCK_WAIT=900 go_cache_enter capi-crds "$DIR/.complete" "$DIR"
log() { echo "[federation/crds.sh $(date +%T)] $*" >&2; }
TMP="$DIR.tmp"; rm -rf "$TMP"; mkdir -p "$TMP"
go_cache_module_dir capi-crds capicrds

from_module() {
  local dir
  dir=$(timeout 600 go mod download -json "sigs.k8s.io/cluster-api@$CAPI_VERSION" | jq -r '.Dir // empty') || return 1
  [ -n "$dir" ] && [ -f "$dir/core/config/crd/bases/$CRD" ] || return 1
  cp "$dir/core/config/crd/bases/$CRD" "$TMP/"
  echo "sigs.k8s.io/cluster-api@$CAPI_VERSION core/config/crd/bases/$CRD" >"$TMP/SOURCE"
}

from_types() {
  local api=sigs.k8s.io/cluster-api/api
  timeout 600 go get "$api@$CAPI_VERSION" >&2
  timeout 600 go get -tool "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION" >&2
  timeout 900 go build -trimpath -ldflags "-s -w" -o "$W/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen
  mkdir -p "$W/out"
  # Both served versions, as upstream's Makefile generates them (v1beta2 is the storage version).
  "$W/controller-gen" crd:crdVersions=v1 paths="$api/core/v1beta1" paths="$api/core/v1beta2" \
    output:crd:artifacts:config="$W/out" >&2
  cp "$W/out/$CRD" "$TMP/"
  echo "controller-gen $CONTROLLER_TOOLS_VERSION from $api@$CAPI_VERSION (core/v1beta1, core/v1beta2)" >"$TMP/SOURCE"
}

case $FROM in
  module) log "CRD from sigs.k8s.io/cluster-api@$CAPI_VERSION"; from_module ;;
  controller-gen) log "CRD generated from sigs.k8s.io/cluster-api/api@$CAPI_VERSION"; from_types ;;
  "")
    log "CRD from sigs.k8s.io/cluster-api@$CAPI_VERSION"
    from_module || { log "module not available; generating from the API types"; from_types; } ;;
  *) echo "CAPI_CRD_FROM must be module or controller-gen" >&2; exit 2 ;;
esac
grep -q '^  name: clusters.cluster.x-k8s.io$' "$TMP/$CRD" || { log "unexpected CRD file"; exit 1; }
touch "$TMP/.complete"; rm -rf "$DIR"; mv "$TMP" "$DIR"
echo "$DIR"
