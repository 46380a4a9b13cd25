#!/usr/bin/env bash
# Builds the server image as an OCI image layout without a container daemon: the root
# filesystem of image/rootfs.sh (what the Dockerfile's final stage holds) packed by umoci, with
# the Dockerfile's user, entrypoint, command and ports. Load it elsewhere with e.g.
# `skopeo copy oci:LAYOUT:TAG docker-daemon:mcp-kubernetes:TAG`.
# Usage: image/build-oci.sh BINARY LAYOUT_DIR [TAG]   (BINARY: stripped, e.g. from make install)
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,6p' "$0" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$1 OUT=$2 TAG=${3:-latest}
command -v umoci >/dev/null || { echo "umoci is missing: run scripts/install-deps.sh" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/mcpk-oci.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$HERE/rootfs.sh" "$BIN" "$T/rootfs"
rm -rf "$OUT"
umoci init --layout "$OUT"
umoci new --image "$OUT:$TAG"
umoci unpack --image "$OUT:$TAG" "$T/bundle" >/dev/null
cp -a "$T/rootfs/." "$T/bundle/rootfs/"
umoci repack --image "$OUT:$TAG" "$T/bundle"
umoci config --image "$OUT:$TAG" --os linux --architecture "$(dpkg --print-architecture)" \
  --config.user 65532:65532 --config.workingdir / \
  --config.entrypoint /usr/bin/mcp-kubernetes \
  --config.cmd serve --config.cmd --transport=streamable-http --config.cmd --http-addr=:8080 --config.cmd --in-cluster \
  --config.exposedports 8080/tcp --config.exposedports 9090/tcp
umoci gc --layout "$OUT"
