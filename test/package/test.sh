#!/usr/bin/env bash
# What a user without a C++ toolchain gets: `make package` builds the .deb and the tarball
# (CPack); the .deb is unpacked into a scratch root (dpkg -x) and its binary run: stripped,
# --version, and an MCP tools/list over stdio. The tarball and `make install DESTDIR=...` are
# checked the same way. Prints "ok ..."/"FAIL ..." per check and "package: N passed, M failed".
# Usage: test/package/test.sh [BUILD_DIR]   (default: build)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
PASS=0 FAIL=0
check() { # NAME COMMAND...
  local name=$1; shift
  if "$@"; then echo "ok $name"; PASS=$((PASS + 1)); else echo "FAIL $name"; FAIL=$((FAIL + 1)); fi
}
T=$(mktemp -d "${TMPDIR:-/tmp}/mcpk-package.XXXXXX")
trap 'rm -rf "$T"' EXIT

make --no-print-directory -C "$ROOT" BUILD_DIR="$BUILD_DIR" package >"$T/make.log" 2>&1 || { cat "$T/make.log"; exit 1; }
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD_DIR/CMakeCache.txt")
ARCH=$(dpkg --print-architecture)
DEB=$BUILD_DIR/mcp-kubernetes_${VERSION}_$ARCH.deb
TGZ=$BUILD_DIR/mcp-kubernetes-$VERSION-linux-$(uname -m).tar.gz
echo "packages: $(du -h "$DEB" | cut -f1) $DEB, $(du -h "$TGZ" | cut -f1) $TGZ"

field() { dpkg-deb -f "$DEB" "$1"; }
check "deb: Package mcp-kubernetes" test "$(field Package)" = mcp-kubernetes
check "deb: Version $VERSION" test "$(field Version)" = "$VERSION"
check "deb: Architecture $ARCH" test "$(field Architecture)" = "$ARCH"
check "deb: Depends names libc6 (from dpkg-shlibdeps)" grep -q 'libc6' <<<"$(field Depends)"
dpkg-deb -c "$DEB" >"$T/deb.list"
check "deb: /usr/bin/mcp-kubernetes" grep -q ' ./usr/bin/mcp-kubernetes$' "$T/deb.list"
check "deb: LICENSE in /usr/share/doc" grep -q ' ./usr/share/doc/mcp-kubernetes/LICENSE$' "$T/deb.list"

# An installed binary has neither debug sections nor a symbol table.
stripped() { ! readelf -S --wide "$1" | grep -qE '\.(debug_[a-z]+|symtab) '; }
# initialize, initialized, tools/list over stdio; the tool list must name the read tools. No
# kubeconfig at all: the server starts anyway and says so in the tools' answers.
tools_list() {
  printf '%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"package-test","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' |
    env -i PATH=/usr/bin:/bin HOME="$T/home" KUBECONFIG="$T/none" timeout 20 "$1" serve 2>"$T/stderr" |
    jq -e -s 'map(select(.id == 2))[0].result.tools | map(.name) | index("k8s_list_resources") and index("k8s_get_pod_logs")' >/dev/null
}
runs() { # BINARY: stripped, --version, tools/list
  local bin=$1 what=$2
  check "$what: stripped" stripped "$bin"
  check "$what: --version says $VERSION" grep -qx "mcp-kubernetes version $VERSION" <<<"$("$bin" --version)"
  check "$what: tools/list over stdio" tools_list "$bin"
}

mkdir -p "$T/root" "$T/home"
dpkg -x "$DEB" "$T/root"
runs "$T/root/usr/bin/mcp-kubernetes" "deb"
echo "binary: $(du -h "$T/root/usr/bin/mcp-kubernetes" | cut -f1) installed, $(du -h "$BUILD_DIR/mcp-kubernetes" | cut -f1) in the build tree"

mkdir -p "$T/tgz"
tar -xzf "$TGZ" -C "$T/tgz"
TBIN=$(find "$T/tgz" -path '*/bin/mcp-kubernetes' -type f)
runs "$TBIN" "tarball"
check "tarball: same binary as the deb" cmp -s "$TBIN" "$T/root/usr/bin/mcp-kubernetes"

make --no-print-directory -C "$ROOT" BUILD_DIR="$BUILD_DIR" install DESTDIR="$T/inst" PREFIX=/usr >"$T/make.log" 2>&1 ||
  { cat "$T/make.log"; exit 1; }
runs "$T/inst/usr/bin/mcp-kubernetes" "make install"

echo "package: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
