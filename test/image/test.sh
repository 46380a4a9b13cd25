#!/usr/bin/env bash
# The container image without a daemon: image/build-oci.sh packs it as an OCI layout (umoci),
# umoci unpacks it again into a runtime bundle, and the bundle's own entrypoint, arguments and
# user run chrooted into its root filesystem, in a mount namespace where a service-account token
# for the test cluster sits at the in-cluster path, as a kubelet would put it. The server must
# start as user 65532, answer /healthz and /readyz, and list namespaces through MCP over HTTP.
# Prints "ok ..."/"FAIL ..." per check and "image: N passed, M failed".
# Usage: test/image/test.sh [--run-dir RUN] [--binary FILE | BUILD_DIR]   (root; RUN default
#        $HARNESS_RUN; FILE: a stripped server binary instead of `make install` from BUILD_DIR)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=${HARNESS_RUN:-/dev/shm/mcp-k8s-cluster}
BINARY=""
while [ $# -gt 0 ]; do
  case $1 in
    --run-dir) RUN=$2; shift 2 ;;
    --binary) BINARY=$2; shift 2 ;;
    *) break ;;
  esac
done
BUILD_DIR=${1:-$ROOT/build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
# shellcheck source=/dev/null
source "$RUN/env"
PASS=0 FAIL=0
check() { # NAME COMMAND...
  local name=$1; shift
  if "$@"; then echo "ok $name"; PASS=$((PASS + 1)); else echo "FAIL $name"; FAIL=$((FAIL + 1)); fi
}
T=$(mktemp -d "${TMPDIR:-/tmp}/mcpk-image.XXXXXX")
NS=image-test-$$
SERVER_PID=""
cleanup() {
  [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
  "$KUBECTL" delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  "$KUBECTL" delete clusterrolebinding "$NS-view" --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT

# The stripped binary, as the Dockerfile installs it.
if [ -n "$BINARY" ]; then
  install -D -m 0755 "$BINARY" "$T/inst/usr/bin/mcp-kubernetes"
else
  make --no-print-directory -C "$ROOT" BUILD_DIR="$BUILD_DIR" install DESTDIR="$T/inst" PREFIX=/usr >"$T/make.log" 2>&1 ||
    { cat "$T/make.log"; exit 1; }
fi
"$ROOT/image/build-oci.sh" "$T/inst/usr/bin/mcp-kubernetes" "$T/oci" test
echo "image: $(du -sh "$T/oci" | cut -f1) OCI layout"
check "layout: umoci lists the tag" grep -qx test <<<"$(umoci ls --layout "$T/oci")"
umoci unpack --image "$T/oci:test" "$T/bundle" >/dev/null
B=$T/bundle
check "config: user 65532:65532" test "$(jq -c '.process.user | [.uid, .gid]' "$B/config.json")" = '[65532,65532]'
mapfile -t ARGS < <(jq -r '.process.args[]' "$B/config.json")
check "config: entrypoint /usr/bin/mcp-kubernetes serve --transport=streamable-http --in-cluster" \
  test "${ARGS[0]} ${ARGS[1]} ${ARGS[2]} ${ARGS[4]}" = "/usr/bin/mcp-kubernetes serve --transport=streamable-http --in-cluster"
(cd "$B/rootfs" && find . ! -type d | sort) >"$T/files"
expected_files() {
  printf '%s\n' ./etc/group ./etc/nsswitch.conf ./etc/passwd ./etc/ssl/certs/ca-certificates.crt \
    ./usr/bin/mcp-kubernetes ./usr/lib/ssl/cert.pem ./usr/lib/ssl/certs
  ldd "$T/inst/usr/bin/mcp-kubernetes" | awk '$2 == "=>" && $3 ~ /^\// {print "." $3} $1 ~ /^\// {print "." $1}'
}
check "rootfs: only the binary, its libraries, CA bundle, passwd/group (no shell)" \
  diff <(expected_files | sort -u) "$T/files"

# A service account the way a pod gets one: token from the TokenRequest API, the cluster CA,
# the namespace. ClusterRole view is enough to list namespaces.
"$KUBECTL" create namespace "$NS" >/dev/null
"$KUBECTL" -n "$NS" create serviceaccount mcp >/dev/null
"$KUBECTL" create clusterrolebinding "$NS-view" --clusterrole=view --serviceaccount="$NS:mcp" >/dev/null
mkdir -p "$T/sa"
"$KUBECTL" -n "$NS" create token mcp --duration=10m >"$T/sa/token"
cp "$CA_CERT" "$T/sa/ca.crt"
echo "$NS" >"$T/sa/namespace"
chmod 0644 "$T/sa/"*
API=${APISERVER_URL_C0#https://}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The bundle's arguments, with the listen address moved to loopback (the host shares its network).
RUN_ARGS=()
for a in "${ARGS[@]}"; do
  case $a in --http-addr=*) RUN_ARGS+=("--http-addr=127.0.0.1:$PORT") ;; *) RUN_ARGS+=("$a") ;; esac
done
# shellcheck disable=SC2016  # expanded by the inner shell, inside the namespace
env -i KUBERNETES_SERVICE_HOST="${API%:*}" KUBERNETES_SERVICE_PORT="${API##*:}" \
  unshare --mount --propagation private -- sh -euc '
    mount --bind -o ro "$1" "$2/rootfs/var/run/secrets/kubernetes.io/serviceaccount"
    shift 2
    exec chroot --userspec=65532:65532 "$0" "$@"' "$B/rootfs" "$T/sa" "$B" "${RUN_ARGS[@]}" \
  >"$T/server.out" 2>"$T/server.err" &
SERVER_PID=$!
up=0
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
check "runs: /healthz answers" test "$up" = 1
check "runs: /readyz answers (the API server is reachable with the token)" curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz"
check "runs: as uid 65532" grep -qE '^Uid:\s+65532\s' <(cat /proc/"$(pgrep -P "$SERVER_PID" -x mcp-kubernetes || echo "$SERVER_PID")"/status)
mcp() { # BODY [SESSION]: one JSON-RPC message to the MCP endpoint; prints headers and body
  curl -sS -D - "http://127.0.0.1:$PORT/mcp" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18' \
    ${2:+-H "Mcp-Session-Id: $2"} -d "$1"
}
INIT=$(mcp '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"image-test","version":"1"}}}')
SID=$(tr -d '\r' <<<"$INIT" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
check "mcp: initialize gives a session" test -n "$SID"
mcp '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$SID" >/dev/null
LIST=$(mcp '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"k8s_list_resources","arguments":{"resourceType":"namespaces"}}}' "$SID")
# The answer is JSON or one SSE event; its result must be a success naming the namespace (an
# error would name it too: "system:serviceaccount:$NS:mcp cannot list ...").
listed() {
  tr -d '\r' <<<"$LIST" | sed -n 's/^data: //p; /^{/p' |
    jq -e --arg ns "$NS" 'select(.id == 2) | .result | (.isError | not) and (.content[0].text | contains($ns))' >/dev/null
}
check "mcp: k8s_list_resources lists the test namespace as the service account" listed
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
if [ "$FAIL" != 0 ]; then
  echo "--- server stderr"; tail -20 "$T/server.err"
  echo "--- tools/call answer"; tail -c 2000 <<<"$LIST"
fi
echo "image: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
