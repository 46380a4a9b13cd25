#!/usr/bin/env bash
# End-to-end check of the streaming paths through the real apiserver to kwok, with kubectl:
# logs (--tail, --previous), exec (stdout, stderr, stdin, exit status), port-forward (pod and
# service with a named port, bytes both ways), plus an RBAC Forbidden case for the viewer.
# Needs a running cluster (up.sh). Usage: test-kubectl-streams.sh [--run-dir DIR]
# Exits non-zero if any check fails; leaves nothing behind (namespace, servers, forwards).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN=$HARNESS_RUN
while [ $# -gt 0 ]; do
  case $1 in
    --run-dir) RUN=$2; shift 2 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ -f "$RUN/env" ] || die "no cluster at $RUN (run up.sh first)"
# shellcheck disable=SC1091
. "$RUN/env"

NS=streams-test-$$
K=("$KUBECTL" --kubeconfig="$KUBECONFIG_C0" -n "$NS")
KV=("$KUBECTL" --kubeconfig="$VIEWER_KUBECONFIG" --context=c0 -n "$NS")
TMP=$(mktemp -d)
BG=()      # background helpers we started (echo servers, port-forwards)
FAILS=0
T=30       # timeout for every single kubectl call: a hung stream must fail, not block

cleanup() {
  local pid
  for pid in "${BG[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BG[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$KUBECTL" --kubeconfig="$KUBECONFIG_C0" delete namespace "$NS" --ignore-not-found \
    --wait=true --timeout=60s >/dev/null || echo "warning: namespace $NS not deleted" >&2
  rm -rf "$TMP"
}
trap cleanup EXIT

pass() { echo "ok   - $*"; }
failed() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check_eq() { # description expected actual
  if [ "$2" = "$3" ]; then pass "$1"; else
    failed "$1"; diff <(echo "$2") <(echo "$3") | sed 's/^/       /' || true
  fi
}
# CRI log file -> what kubectl logs prints (drop "timestamp stream tag ").
cri_content() { sed -E 's/^[^ ]+ [^ ]+ [PF] //' "$1"; }

# --- workload -----------------------------------------------------------------------------
echo "# namespace $NS: Deployment app (2 replicas), Service app (http:80 -> targetPort http/8080)"
"$KUBECTL" --kubeconfig="$KUBECONFIG_C0" create namespace "$NS" >/dev/null
"${K[@]}" apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: streams}}
  template:
    metadata: {labels: {app: streams}}
    spec:
      containers:
      - name: app
        image: registry.invalid/app:1      # kwok never pulls
        ports:
        - {name: http, containerPort: 8080}
        - {name: other, containerPort: 9090}
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: streams}
  ports:
  - {name: http, port: 80, targetPort: http}
EOF
"${K[@]}" rollout status deploy/app --timeout=60s >/dev/null || die "deployment not rolled out"
"${K[@]}" wait pod -l app=streams --for=condition=Ready --timeout=60s >/dev/null || die "pods not Ready"
phases=$("${K[@]}" get pod -l app=streams -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}')
check_eq "2 pods Running via kwok" $'Running\nRunning' "$phases"
POD=$("${K[@]}" get pod -l app=streams -o jsonpath='{.items[0].metadata.name}')

# --- logs ---------------------------------------------------------------------------------
want=$(cri_content "$KWOK_LOG_FILE")
check_eq "logs" "$want" "$(timeout "$T" "${K[@]}" logs "$POD")"
check_eq "logs --tail=2" "$(tail -n 2 <<<"$want")" "$(timeout "$T" "${K[@]}" logs "$POD" --tail=2)"
check_eq "logs --previous" "$(cri_content "$KWOK_PREV_LOG_FILE")" \
  "$(timeout "$T" "${K[@]}" logs "$POD" --previous)"
check_eq "logs -c app (explicit container)" "$want" "$(timeout "$T" "${K[@]}" logs "$POD" -c app)"

# --- exec ---------------------------------------------------------------------------------
out=$(timeout "$T" "${K[@]}" exec "$POD" -- sh -c 'echo out; echo err >&2' 2>"$TMP/err")
check_eq "exec stdout" out "$out"
check_eq "exec stderr" err "$(cat "$TMP/err")"
# shellcheck disable=SC2016  # expanded by the remote (host) shell
check_eq "exec runs on the host with ClusterExec env/workDir" $'1\n/tmp' \
  "$(timeout "$T" "${K[@]}" exec "$POD" -- sh -c 'echo "$HARNESS"; pwd')"
# kwok does not pass on stdin EOF: read a fixed count instead of `cat`.
check_eq "exec stdin" hello-stdin \
  "$(printf 'hello-stdin' | timeout "$T" "${K[@]}" exec -i "$POD" -- head -c 11)"
rc=0; timeout "$T" "${K[@]}" exec "$POD" -- sh -c 'exit 3' >/dev/null 2>"$TMP/err" || rc=$?
if [ "$rc" = 0 ]; then
  failed "exec non-zero exit is reported"
elif grep -q 'exit status 3' "$TMP/err"; then
  pass "exec non-zero exit is reported (kubectl rc $rc, message has 'exit status 3')"
else
  failed "exec non-zero exit message: $(cat "$TMP/err")"
fi

# --- port-forward -------------------------------------------------------------------------
cat >"$TMP/echo_server.py" <<'EOF'
import socketserver, sys
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)
class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
Server(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
EOF
cat >"$TMP/echo_client.py" <<'EOF'
import os, socket, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
data = os.urandom(n)
s = socket.create_connection(("127.0.0.1", port), timeout=20)
sender = threading.Thread(target=s.sendall, args=(data,))  # send while reading: no deadlock
sender.start()
got = bytearray()
while len(got) < n and (chunk := s.recv(65536)):
    got += chunk
sender.join()
print(f"{len(got)}/{n} bytes echoed intact={bytes(got) == data}")
sys.exit(0 if bytes(got) == data else 1)
EOF
for port in "$PF_TARGET_8080" "$PF_TARGET_OTHER"; do
  port_in_use "$port" && die "port-forward target port $port is already in use"
  python3 "$TMP/echo_server.py" "$port" &
  BG+=($!)
done
for port in "$PF_TARGET_8080" "$PF_TARGET_OTHER"; do
  wait_until 10 port_in_use "$port" || die "echo server on $port did not start"
done

# forward_check description target remote-port: forward a free local port, push bytes through.
forward_check() {
  local lp log
  lp=$(free_port); log=$TMP/pf-$lp.log
  "${K[@]}" port-forward "$2" "$lp:$3" >"$log" 2>&1 &
  BG+=($!)
  if ! wait_until 20 grep -q "Forwarding from 127.0.0.1:$lp" "$log"; then
    failed "$1: port-forward did not start: $(cat "$log")"; return 0
  fi
  if res=$(timeout "$T" python3 "$TMP/echo_client.py" "$lp" 262144); then
    pass "$1 ($res)"
  else
    failed "$1 ($res)"; sed 's/^/       /' "$log"
  fi
}
forward_check "port-forward pod :8080 -> PF_TARGET_8080" "pod/$POD" 8080
forward_check "port-forward svc :80 (targetPort http) -> PF_TARGET_8080" svc/app 80
forward_check "port-forward pod :9090 -> PF_TARGET_OTHER" "pod/$POD" 9090

# --- RBAC: the viewer may read but not exec or delete ----------------------------------------
if timeout "$T" "${KV[@]}" get pods >/dev/null 2>&1; then pass "viewer can list pods"; else failed "viewer can list pods"; fi
for verb in "exec $POD -- true" "delete pod $POD"; do
  # shellcheck disable=SC2086  # word-split the verb on purpose
  if timeout "$T" "${KV[@]}" $verb >/dev/null 2>"$TMP/err"; then
    failed "viewer $verb must be Forbidden"
  elif grep -qi forbidden "$TMP/err"; then  # exec says "forbidden" (upgrade error)
    pass "viewer ${verb%% *} is Forbidden"
  else
    failed "viewer $verb: unexpected error $(cat "$TMP/err")"
  fi
done

if [ "$FAILS" = 0 ]; then echo "# all checks passed"; else echo "# $FAILS check(s) failed"; exit 1; fi
