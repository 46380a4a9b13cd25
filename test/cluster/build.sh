#!/usr/bin/env bash
# Builds the pinned test-ground binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, dex) from Go modules and caches them outside the repo.
# Prints the binary directory on stdout. Idempotent: a warm cache returns at once.
# shellcheck disable=SC2013,SC2046  # word splitting of the module and command lists is intended
set -euo pipefail
: "${HARNESS_CACHE:=/var/cache/mcp-k8s-harness}"
KUBE_VERSION=v1.36.3
ETCD_VERSION=v3.6.10
KWOK_VERSION=v0.8.0
DEX_VERSION=v0.0.0-20260303133905-11d2eeb52b42   # dex v2.45.1 (tags are not valid module versions)
RECIPE_REV=1                                      # bump when build flags change
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOMODCACHE="$HARNESS_CACHE/gomod" GOCACHE="$HARNESS_CACHE/gocache"
export GOFLAGS=-modcacherw
mkdir -p "$HARNESS_CACHE"
KEY=$({ go version; echo "$KUBE_VERSION $ETCD_VERSION $KWOK_VERSION $DEX_VERSION $RECIPE_REV"; } | sha256sum | cut -c1-16)
BIN="$HARNESS_CACHE/bin-$KEY"
if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi
exec 9>"$HARNESS_CACHE/.lock"; flock 9
if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi   # another builder finished while we waited
log() { echo "[build.sh $(date +%T)] $*" >&2; }
TMP="$BIN.tmp"; rm -rf "$TMP"; mkdir -p "$TMP"

log "kubernetes $KUBE_VERSION (wrapper module)"
W="$HARNESS_CACHE/src/kube-$KUBE_VERSION"; rm -rf "$W"; mkdir -p "$W"; cd "$W"
printf 'module harness.local/kube\n\ngo 1.26.0\n' > go.mod
UP=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | jq -r .GoMod)
go mod edit -go="$(sed -n 's/^go //p' "$UP")"
sed -n 's/^godebug //p' "$UP" | while read -r d; do go mod edit -godebug="$d"; done
STAGING="v0.${KUBE_VERSION#v1.}"
for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$UP"); do
  go mod edit -replace="$m=$m@$STAGING"
done
CMDS="kube-apiserver kube-controller-manager kube-scheduler kubectl"
go get -tool $(for c in $CMDS; do printf 'k8s.io/kubernetes/cmd/%s@%s ' "$c" "$KUBE_VERSION"; done) >&2
MINOR=${KUBE_VERSION#v1.}; MINOR=${MINOR%%.*}
LD="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=2000-01-01T00:00:00Z"
done
go build -trimpath -pgo=off -ldflags "$LD" -o "$TMP/" $(for c in $CMDS; do printf 'k8s.io/kubernetes/cmd/%s ' "$c"; done)

log "etcd $ETCD_VERSION"
W="$HARNESS_CACHE/src/etcd-$ETCD_VERSION"; rm -rf "$W"; mkdir -p "$W"; cd "$W"
printf 'module harness.local/etcd\n\ngo 1.26.0\n' > go.mod
go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
go build -trimpath -ldflags "-s -w" -o "$TMP/etcd" go.etcd.io/etcd/server/v3

log "kwok $KWOK_VERSION"
GOBIN="$TMP" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
KW="$GOMODCACHE/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize"
mkdir -p "$TMP/kwok-assets"; cp -r "$KW/stage" "$KW/crd/bases" "$TMP/kwok-assets/"; chmod -R u+w "$TMP/kwok-assets"

log "dex $DEX_VERSION"
W="$HARNESS_CACHE/src/dex"; rm -rf "$W"; mkdir -p "$W"; cd "$W"
printf 'module harness.local/dex\n\ngo 1.26.0\n' > go.mod
go get -tool "github.com/dexidp/dex/cmd/dex@$DEX_VERSION" >&2
go build -trimpath -ldflags "-s -w" -o "$TMP/dex" github.com/dexidp/dex/cmd/dex

"$TMP/kube-apiserver" --version >&2
touch "$TMP/.complete"; rm -rf "$BIN"; mv "$TMP" "$BIN"
# Reclaim the ~4 GB compile cache only when asked; keeping it makes a pin bump cheap.
[ "${HARNESS_CLEAN_GOCACHE:-0}" = 1 ] && go clean -cache
log "done: $BIN"
echo "$BIN"
