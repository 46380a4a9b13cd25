#!/usr/bin/env bash
# Starts a local Kubernetes test ground (single entry point; see README.md):
#   one shared etcd; per cluster c<i> a TLS/RBAC kube-apiserver (own --etcd-prefix), a
#   kube-controller-manager and a kwok with fake Ready nodes; a kube-scheduler in c0 only;
#   optionally Dex for OIDC. Writes kubeconfigs, a sourceable env file and pids into the run dir.
# Usage: up.sh [--clusters N] [--dex] [--run-dir DIR] [--port-base P] [--restart]
# Env: HARNESS_RUN (run dir), HARNESS_PORT_BASE, HARNESS_BIN (skip build.sh),
#      HARNESS_KEEP_ON_FAILURE=1 (leave a failed run dir for debugging).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTERS=1 DEX=0 RESTART=0 RUN=$HARNESS_RUN BASE=${HARNESS_PORT_BASE:-16000}
while [ $# -gt 0 ]; do
  case $1 in
    --clusters) CLUSTERS=$2; shift 2 ;;
    --dex) DEX=1; shift ;;
    --run-dir) RUN=$2; shift 2 ;;
    --port-base) BASE=$2; shift 2 ;;
    --restart) RESTART=1; shift ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done
if ! [[ $CLUSTERS =~ ^[0-9]+$ ]] || ((CLUSTERS < 1 || CLUSTERS > HARNESS_MAX_CLUSTERS)); then
  die "--clusters must be 1..$HARNESS_MAX_CLUSTERS"
fi
if ! [[ $BASE =~ ^[0-9]+$ ]] || ((BASE < 1024 || BASE + 100 > 65535)); then
  die "bad --port-base $BASE"
fi
RUN=$(realpath -m "$RUN")
T0=$SECONDS

# --- already running? ---------------------------------------------------------------------
running() { # every recorded process alive and every apiserver ready
  local pid _ url
  [ -s "$RUN/pids" ] && [ -f "$RUN/env" ] || return 1
  while read -r pid _; do pid_is_ours "$pid" "$RUN" || return 1; done <"$RUN/pids"
  while read -r url; do
    curl -fsS --max-time 2 --cacert "$RUN/pki/ca.crt" --cert "$RUN/pki/admin.crt" \
      --key "$RUN/pki/admin.key" "$url/readyz" >/dev/null 2>&1 || return 1
  done < <(sed -n 's/^export APISERVER_URL_C[0-9]*=//p' "$RUN/env")
}
if [ -e "$RUN" ]; then
  if [ "$RESTART" = 0 ] && running; then
    want="$CLUSTERS $DEX $BASE"
    # shellcheck disable=SC1091,SC2153  # variables come from the env file
    have=$(. "$RUN/env" && echo "$HARNESS_CLUSTERS $HARNESS_DEX $HARNESS_PORT_BASE")
    [ "$want" = "$have" ] ||
      die "a harness with different settings (clusters dex port-base = $have) runs at $RUN; use --restart"
    log "already running at $RUN (source $RUN/env)"
    exit 0
  fi
  log "cleaning up previous run dir $RUN"
  "$HARNESS_DIR/down.sh" --run-dir "$RUN"
fi

BIN=${HARNESS_BIN:-$("$HARNESS_DIR/build.sh")}
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok dex; do
  [ -x "$BIN/$b" ] || die "missing $BIN/$b"
done
KUBECTL=$BIN/kubectl
for p in $(harness_ports "$BASE" "$CLUSTERS" "$DEX"); do
  port_in_use "$p" && die "port $p is in use (another harness? pick another --port-base)"
done

mkdir -p "$RUN"/{logs,pki,kwok-logs}
touch "$RUN/$HARNESS_MARKER" "$RUN/pids"
harness_ports "$BASE" "$CLUSTERS" "$DEX" >"$RUN/ports"   # for down.sh's "all ports free" check
P=$RUN/pki
OK=0
cleanup() {
  [ "$OK" = 1 ] && return
  if [ "${HARNESS_KEEP_ON_FAILURE:-0}" = 1 ]; then
    log "bring-up failed; leaving $RUN for inspection (run down.sh --run-dir $RUN)"
  else
    log "bring-up failed; tearing down"
    "$HARNESS_DIR/down.sh" --run-dir "$RUN" || true
  fi
}
trap cleanup EXIT

fail() { # logname message: show why, then exit (the EXIT trap tears down)
  log "ERROR: $2"
  [ -f "$RUN/logs/$1.log" ] && { echo "--- tail of $RUN/logs/$1.log" >&2; tail -n 30 "$RUN/logs/$1.log" >&2; }
  exit 1
}

# Start a daemon in its own session (so a Ctrl-C or process-group kill of the caller does
# not take the cluster down) and record "pid name". Children of a non-interactive shell are
# never group leaders, so setsid does not fork and $! is the daemon itself.
start() { # name cmd...
  local name=$1; shift
  setsid "$@" </dev/null >"$RUN/logs/$name.log" 2>&1 &
  echo "$! $name" >>"$RUN/pids"
}

# wait_ready NAME TIMEOUT_S URL [curl args]: poll URL; fail at once if the process died.
wait_ready() {
  local name=$1 deadline=$((SECONDS + $2)) url=$3 pid; shift 3
  pid=$(awk -v n="$name" '$2 == n {print $1}' "$RUN/pids")
  until curl -fsS --max-time 2 "$@" "$url" >/dev/null 2>&1; do
    pid_is_ours "$pid" "$RUN" || fail "$name" "$name exited during start-up"
    ((SECONDS < deadline)) || fail "$name" "$name not ready after $2 s ($url)"
    sleep 0.2
  done
}

# --- PKI: one CA for everything (serving, admin, viewer, Dex) ------------------------------
# ECDSA P-256 (as k3s uses): RSA-2048 key generation costs ~0.5 s per key on this machine,
# a third of the whole bring-up; P-256 is ~10 ms.
log "PKI"
openssl_q() { openssl "$@" 2>>"$RUN/logs/pki.log" >/dev/null || fail pki "openssl $1 failed"; }
EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl_q req -x509 "${EC[@]}" -days 3650 -subj /CN=harness-ca -keyout "$P/ca.key" -out "$P/ca.crt" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature
sign() { # name subject ext-lines
  openssl_q req "${EC[@]}" -subj "$2" -keyout "$P/$1.key" -out "$P/$1.csr"
  printf '%b' "$3" >"$P/$1.ext"
  openssl_q x509 -req -in "$P/$1.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
    -days 3650 -out "$P/$1.crt" -extfile "$P/$1.ext"
}
CLIENT='keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'
sign serving /CN=harness-serving 'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1\n'
sign admin "/O=system:masters/CN=kubernetes-admin" "$CLIENT"
sign viewer /CN=viewer "$CLIENT"   # no group: only the `view` binding below applies
for ((i = 0; i < CLUSTERS; i++)); do   # service-account token signing keys (ES256)
  openssl_q genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/sa-c$i.key"
  openssl_q pkey -in "$P/sa-c$i.key" -pubout -out "$P/sa-c$i.pub"
done
# Static bearer tokens, for clients that cannot do client certs.
printf '%s\n' 'admin-token,admin,admin-uid,"system:masters"' 'viewer-token,viewer,viewer-uid' >"$P/tokens.csv"
CURL_ADMIN=(--cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key")

# --- kwok log files (CRI format: kwok reads them with cri-client's ReadLogs) ---------------
KL=$RUN/kwok-logs
printf '%s\n' \
  '2026-01-01T00:00:00.000000001Z stdout F harness log line 1' \
  '2026-01-01T00:00:01.000000001Z stdout F harness log line 2' \
  '2026-01-01T00:00:02.000000001Z stderr F harness log line 3 (stderr)' \
  '2026-01-01T00:00:03.000000001Z stdout F harness log line 4' \
  '2026-01-01T00:00:04.000000001Z stdout F harness log line 5' >"$KL/app.log"
printf '%s\n' \
  '2025-12-31T23:59:00.000000001Z stdout F previous log line 1' \
  '2025-12-31T23:59:01.000000001Z stdout F previous log line 2' >"$KL/app.prev.log"

# --- etcd ---------------------------------------------------------------------------------
log "etcd"
ETCD_URL=http://127.0.0.1:$(etcd_port "$BASE")
PEER_URL=http://127.0.0.1:$(etcd_peer_port "$BASE")
start etcd "$BIN/etcd" --name=harness --data-dir="$RUN/etcd" \
  --listen-client-urls="$ETCD_URL" --advertise-client-urls="$ETCD_URL" \
  --listen-peer-urls="$PEER_URL" --initial-advertise-peer-urls="$PEER_URL" \
  --initial-cluster="harness=$PEER_URL" --unsafe-no-fsync --log-level=warn

# --- Dex (before the apiservers: they fetch the OIDC discovery document) ------------------
OIDC_FLAGS=()
if [ "$DEX" = 1 ]; then
  log "dex"
  DEX_ISSUER=https://127.0.0.1:$(dex_port "$BASE")/dex
  # Dex's own example bcrypt hash of "password" (config.dev.yaml).
  # shellcheck disable=SC2016  # a literal bcrypt hash, not an expansion
  PWHASH='$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W'
  cat >"$RUN/dex.yaml" <<EOF
issuer: $DEX_ISSUER
storage: {type: memory}
web:
  https: 127.0.0.1:$(dex_port "$BASE")
  tlsCert: $P/serving.crt
  tlsKey: $P/serving.key
oauth2:
  skipApprovalScreen: true
  passwordConnector: local
enablePasswordDB: true
staticClients:
- id: mcp-test
  secret: mcp-test-secret
  name: MCP test
  redirectURIs: ["http://127.0.0.1:8085/callback"]
  # The apiservers' OIDC client: mcp-kubernetes may ask Dex for ID tokens with this audience
  # (scope audience:server:client_id:mcp-test), which downstream OAuth sends to the apiserver.
  trustedPeers: [mcp-kubernetes]
# This server as an OAuth client of Dex (--dex-client-id); the e2e tests run it on these ports.
- id: mcp-kubernetes
  secret: mcp-kubernetes-secret
  name: MCP Kubernetes
  redirectURIs: [$(for p in $(seq 16780 16789); do printf '"http://127.0.0.1:%s/oauth/callback",' "$p"; done | sed 's/,$//')]
staticPasswords:
- {email: admin@example.com, hash: "$PWHASH", username: admin, userID: 1d9a5a9e-0000-4000-8000-000000000001, groups: [mcp-admins]}
- {email: viewer@example.com, hash: "$PWHASH", username: viewer, userID: 1d9a5a9e-0000-4000-8000-000000000002, groups: [mcp-viewers]}
EOF
  start dex "$BIN/dex" serve "$RUN/dex.yaml"
  OIDC_FLAGS=(--oidc-issuer-url="$DEX_ISSUER" --oidc-client-id=mcp-test --oidc-ca-file="$P/ca.crt"
    --oidc-username-claim=email --oidc-groups-claim=groups)
fi

wait_ready etcd 20 "$ETCD_URL/health"
if [ "$DEX" = 1 ]; then
  wait_ready dex 20 "$DEX_ISSUER/.well-known/openid-configuration" --cacert "$P/ca.crt"
fi

# --- apiservers (started together, waited for together) ------------------------------------
log "kube-apiserver x$CLUSTERS"
for ((i = 0; i < CLUSTERS; i++)); do
  # c1 turns the apiserver's WebSocket port-forward translation off, so clients that offer
  # only the tunnelling protocol (SPDY/3.1+portforward.k8s.io) must fall back to SPDY there.
  GATES=()
  if [ "$i" = 1 ]; then GATES=(--feature-gates=PortForwardWebsockets=false); fi
  start "apiserver-c$i" "$BIN/kube-apiserver" \
    --etcd-servers="$ETCD_URL" --etcd-prefix="/harness/c$i" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$(apiserver_port "$BASE" "$i")" \
    --tls-cert-file="$P/serving.crt" --tls-private-key-file="$P/serving.key" \
    --client-ca-file="$P/ca.crt" --token-auth-file="$P/tokens.csv" \
    --service-account-issuer="https://c$i.harness.local" \
    --service-account-key-file="$P/sa-c$i.pub" --service-account-signing-key-file="$P/sa-c$i.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --authorization-mode=RBAC --allow-privileged=true \
    --endpoint-reconciler-type=none --enable-priority-and-fairness=false --profiling=false \
    --kubelet-preferred-address-types=InternalIP \
    "${GATES[@]}" "${OIDC_FLAGS[@]}"
  # Kubeconfigs are needed by kcm/scheduler/kwok; writing them early costs nothing.
  write_kubeconfig "$P/ca.crt" "$P/admin.crt" "$P/admin.key" admin \
    "c$i=https://127.0.0.1:$(apiserver_port "$BASE" "$i")" >"$RUN/c$i.kubeconfig"
done
SERVERS=()
for ((i = 0; i < CLUSTERS; i++)); do SERVERS+=("c$i=https://127.0.0.1:$(apiserver_port "$BASE" "$i")"); done
write_kubeconfig "$P/ca.crt" "$P/admin.crt" "$P/admin.key" admin "${SERVERS[@]}" >"$RUN/kubeconfig"
write_kubeconfig "$P/ca.crt" "$P/viewer.crt" "$P/viewer.key" viewer "${SERVERS[@]}" >"$RUN/viewer.kubeconfig"
chmod 600 "$RUN"/*kubeconfig
for ((i = 0; i < CLUSTERS; i++)); do
  wait_ready "apiserver-c$i" 90 "https://127.0.0.1:$(apiserver_port "$BASE" "$i")/readyz" "${CURL_ADMIN[@]}"
done
log "apiservers ready after $((SECONDS - T0)) s"

# --- kwok config (shared by all clusters) ---------------------------------------------------
# No KwokConfiguration document on purpose: with one, kwok skips its option defaults and
# either exits or disables the debugging (logs/exec/port-forward) endpoints.
A=$BIN/kwok-assets/stage
{
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo '---'; cat "$A/$f"
  done
  cat <<EOF
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata: {name: exec-local}
spec:
  execs:
  - local:
      workDir: /tmp
      envs: [{name: HARNESS, value: "1"}]
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: logs-local}
spec:
  logs:
  - logsFile: $KL/app.log
    previousLogsFile: $KL/app.prev.log
    follow: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata: {name: pf-local}
spec:
  forwards:
  - ports: [8080]
    target: {address: 127.0.0.1, port: $(pf_target_8080 "$BASE")}
  - target: {address: 127.0.0.1, port: $(pf_target_other "$BASE")}
EOF
} >"$RUN/kwok.yaml"

# --- kcm (every cluster), scheduler (c0), kwok (every cluster) -----------------------------
log "controllers, scheduler, kwok"
for ((i = 0; i < CLUSTERS; i++)); do
  KC=$RUN/c$i.kubeconfig
  start "kcm-c$i" "$BIN/kube-controller-manager" \
    --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
    --bind-address=127.0.0.1 --secure-port="$(kcm_port "$BASE" "$i")" --leader-elect=false \
    --service-account-private-key-file="$P/sa-c$i.key" --root-ca-file="$P/ca.crt" \
    --node-monitor-period=25s --node-monitor-grace-period=3m20s
  if [ "$i" = 0 ]; then
    start "sched-c$i" "$BIN/kube-scheduler" \
      --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
      --bind-address=127.0.0.1 --secure-port="$(sched_port "$BASE" "$i")" --leader-elect=false
  fi
  start "kwok-c$i" "$BIN/kwok" --kubeconfig="$KC" --config="$RUN/kwok.yaml" --manage-all-nodes=true \
    --node-ip=127.0.0.1 --node-name=localhost --node-port="$(kwok_port "$BASE" "$i")" \
    --server-address="127.0.0.1:$(kwok_port "$BASE" "$i")" \
    --tls-cert-file="$P/serving.crt" --tls-private-key-file="$P/serving.key" \
    --node-lease-duration-seconds=40
done

# --- per-cluster objects: fake nodes (no status.addresses: kwok fills them in), RBAC ----------
for ((i = 0; i < CLUSTERS; i++)); do
  nodes=1; [ "$i" = 0 ] && nodes=2
  {
    for ((n = 0; n < nodes; n++)); do
      cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$n
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$n, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
  annotations: {kwok.x-k8s.io/node: fake}
EOF
    done
    cat <<'EOF'
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: harness-viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: viewer}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: harness-oidc-admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: mcp-admins}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: harness-oidc-viewers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: mcp-viewers}]
EOF
  } | "$KUBECTL" --kubeconfig="$RUN/c$i.kubeconfig" apply -f - >>"$RUN/logs/setup.log" 2>&1 ||
    fail setup "creating nodes/RBAC in c$i failed"
done

for ((i = 0; i < CLUSTERS; i++)); do
  wait_ready "kwok-c$i" 60 "http://127.0.0.1:$(kwok_port "$BASE" "$i")/healthz"
  wait_ready "kcm-c$i" 60 "https://127.0.0.1:$(kcm_port "$BASE" "$i")/healthz" -k
done
wait_ready sched-c0 60 "https://127.0.0.1:$(sched_port "$BASE" 0)/healthz" -k
for ((i = 0; i < CLUSTERS; i++)); do
  K=("$KUBECTL" --kubeconfig="$RUN/c$i.kubeconfig")
  "${K[@]}" wait --for=condition=Ready node --all --timeout=30s >>"$RUN/logs/setup.log" 2>&1 ||
    fail "kwok-c$i" "nodes in c$i not Ready"
  # Pods are rejected by ServiceAccount admission until kcm has created `default`.
  wait_until 60 "${K[@]}" -n default get serviceaccount default ||
    fail "kcm-c$i" "serviceaccount default/default not created in c$i"
done

# --- env file -------------------------------------------------------------------------------
{
  v() { printf 'export %s=%q\n' "$1" "$2"; }
  v BIN "$BIN"; v RUN "$RUN"; v KUBECONFIG "$RUN/kubeconfig"; v KUBECTL "$KUBECTL"
  v HARNESS_CLUSTERS "$CLUSTERS"; v HARNESS_DEX "$DEX"; v HARNESS_PORT_BASE "$BASE"
  v CA_CERT "$P/ca.crt"; v ADMIN_CERT "$P/admin.crt"; v ADMIN_KEY "$P/admin.key"; v ADMIN_TOKEN admin-token
  v VIEWER_KUBECONFIG "$RUN/viewer.kubeconfig"; v VIEWER_CERT "$P/viewer.crt"; v VIEWER_KEY "$P/viewer.key"
  v VIEWER_TOKEN viewer-token
  v ETCD_URL "$ETCD_URL"
  for ((i = 0; i < CLUSTERS; i++)); do
    v "APISERVER_URL_C$i" "https://127.0.0.1:$(apiserver_port "$BASE" "$i")"
    v "KUBECONFIG_C$i" "$RUN/c$i.kubeconfig"
    v "KWOK_PORT_C$i" "$(kwok_port "$BASE" "$i")"
  done
  v KWOK_LOG_FILE "$KL/app.log"; v KWOK_PREV_LOG_FILE "$KL/app.prev.log"
  v PF_TARGET_8080 "$(pf_target_8080 "$BASE")"; v PF_TARGET_OTHER "$(pf_target_other "$BASE")"
  if [ "$DEX" = 1 ]; then
    v DEX_ISSUER "$DEX_ISSUER"; v DEX_CLIENT_ID mcp-test; v DEX_CLIENT_SECRET mcp-test-secret
    v DEX_MCP_CLIENT_ID mcp-kubernetes; v DEX_MCP_CLIENT_SECRET mcp-kubernetes-secret
    v DEX_CA_FILE "$P/ca.crt"
    v DEX_ADMIN_EMAIL admin@example.com; v DEX_VIEWER_EMAIL viewer@example.com; v DEX_PASSWORD password
  fi
} >"$RUN/env"

OK=1
log "up in $((SECONDS - T0)) s: $CLUSTERS cluster(s) at $RUN; use: source $RUN/env"
