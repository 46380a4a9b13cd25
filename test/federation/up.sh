#!/usr/bin/env bash
# Federation test ground (issue 14) on top of a running `test/cluster/up.sh --dex` harness:
#   the upstream Cluster API `Cluster` CRD on c0 (the management cluster); three workload
#   kube-apiservers wc1..wc3 on the harness etcd (own --etcd-prefix, own CA, audit log, wc2 trusts
#   Dex); on c0 namespaces org-acme (wc1, wc2) and org-beta (wc3) with v1beta2 Cluster objects
#   (status set through the status subresource), `<wc>-kubeconfig` Secrets and `<wc>-ca-public`
#   ConfigMaps; RBAC on each WC that treats the Dex groups differently, and on c0 for the Cluster
#   objects themselves (viewers see wc1 and wc3, not wc2). See README.md.
# Usage: up.sh [--run-dir DIR] [--stop WC | --start WC | --freeze WC | --thaw WC]
#   --stop kills WC's apiserver (connection refused), --start brings it back, --freeze/--thaw
#   SIGSTOP/SIGCONT it (a hang). A plain run is idempotent: it starts what is missing, thaws
#   what is frozen, and leaves a complete ground alone. test/cluster/down.sh stops everything.
# Env: HARNESS_RUN (run dir), HARNESS_CACHE (CRD cache, see crds.sh).
set -euo pipefail
FED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster/lib.sh
. "$FED_DIR/../cluster/lib.sh"

RUN=$HARNESS_RUN ACTION=up TARGET=""
while [ $# -gt 0 ]; do
  case $1 in
    --run-dir) RUN=$2; shift 2 ;;
    --stop | --start | --freeze | --thaw) ACTION=${1#--}; TARGET=${2:-}; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done
RUN=$(realpath -m "$RUN")
if [ ! -f "$RUN/env" ] || [ ! -f "$RUN/$HARNESS_MARKER" ]; then
  die "no harness at $RUN: start test/cluster/up.sh --dex --run-dir $RUN first"
fi
# shellcheck disable=SC1091  # the harness env: BIN KUBECTL CA_CERT ETCD_URL HARNESS_PORT_BASE DEX_*
. "$RUN/env"
[ "${HARNESS_DEX:-0}" = 1 ] || die "the harness at $RUN runs without Dex (wc2 trusts Dex): restart it with --dex"

WCS=(wc1 wc2 wc3)
if [ "$ACTION" != up ]; then
  [[ " ${WCS[*]} " == *" $TARGET "* ]] || die "--$ACTION needs one of: ${WCS[*]}"
fi
FED=$RUN/federation
mkdir -p "$FED"
# One writer at a time (e2e files and the bench may call this back to back).
exec 8>"$FED/.lock"
flock -w 180 8 || die "another federation up.sh holds $FED/.lock for over 180 s"
T0=$SECONDS
K0=("$KUBECTL" --kubeconfig="$RUN/c0.kubeconfig" --request-timeout=30s)

# Ports P+91..P+93: inside the harness's [P, P+100) block, above everything up.sh uses.
wc_port() { echo $((HARNESS_PORT_BASE + 90 + ${1#wc})); }
wc_url() { echo "https://127.0.0.1:$(wc_port "$1")"; }
wc_pid() { awk -v n="fed-$1" '$2 == n {p = $1} END {print p}' "$RUN/pids"; }
wc_alive() { local p; p=$(wc_pid "$1"); [ -n "$p" ] && pid_is_ours "$p" "$RUN"; }
wc_ready() { # one /readyz with that WC's own CA and admin certificate
  local d=$FED/$1/pki
  curl -fsS --max-time 2 --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" \
    "$(wc_url "$1")/readyz" >/dev/null 2>&1
}
fail_wc() { # wc message
  log "ERROR: $2"
  [ -f "$RUN/logs/fed-$1.log" ] && { echo "--- tail of $RUN/logs/fed-$1.log" >&2; tail -n 30 "$RUN/logs/fed-$1.log" >&2; }
  exit 1
}
wait_wc() { # wc timeout_s: fails at once if the process died
  local deadline=$((SECONDS + $2))
  until wc_ready "$1"; do
    wc_alive "$1" || fail_wc "$1" "$1 exited during start-up"
    ((SECONDS < deadline)) || fail_wc "$1" "$1 not ready after $2 s"
    sleep 0.2
  done
}
drop_pid_line() { # wc: forget its pid (down.sh and the harness's "running" check read this file)
  local tmp=$RUN/pids.fed-tmp
  awk -v n="fed-$1" '$2 != n' "$RUN/pids" >"$tmp" && mv "$tmp" "$RUN/pids"
}

# --- PKI: each WC has its own CA (as real clusters do), so a client that used the wrong CA
# (the management cluster's, another WC's) fails the TLS handshake instead of passing.
openssl_q() { openssl "$@" 2>>"$RUN/logs/fed-pki.log" >/dev/null || die "openssl $1 failed (see $RUN/logs/fed-pki.log)"; }
EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
wc_pki() { # wc: create the WC's keys and certificates once
  local d=$FED/$1/pki
  [ -f "$d/.complete" ] && return 0
  rm -rf "$d"; mkdir -p "$d"
  openssl_q req -x509 "${EC[@]}" -days 3650 -subj "/CN=$1-ca" -keyout "$d/ca.key" -out "$d/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature
  sign_wc() { # name subject ext
    openssl_q req "${EC[@]}" -subj "$2" -keyout "$d/$1.key" -out "$d/$1.csr"
    printf '%b' "$3" >"$d/$1.ext"
    openssl_q x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
      -days 3650 -out "$d/$1.crt" -extfile "$d/$1.ext"
  }
  sign_wc serving "/CN=$1-apiserver" \
    'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
  # What a CAPI `<cluster>-kubeconfig` Secret holds: a system:masters client certificate.
  sign_wc admin "/O=system:masters/CN=$1-admin" 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'
  openssl_q genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/sa.key"
  openssl_q pkey -in "$d/sa.key" -pubout -out "$d/sa.pub"
  touch "$d/.complete"
}

# Metadata for every request (user, impersonated user with its extras, verb, object), none for
# health probes and the apiserver's own requests. Size-capped: --audit-log-maxsize below.
AUDIT_POLICY=$FED/audit-policy.yaml
cat >"$AUDIT_POLICY" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  nonResourceURLs: [/readyz, /readyz/*, /healthz, /healthz/*, /livez, /livez/*]
- level: None
  users: [system:apiserver]   # its own loopback requests (/openapi/v3 every few seconds)
- level: Metadata
EOF

start_wc() { # wc
  local wc=$1 d=$FED/$1 port oidc=()
  port=$(wc_port "$wc")
  port_in_use "$port" && die "port $port ($wc) is in use by something that is not this ground"
  # wc2 trusts Dex like the harness apiservers do: SSO passthrough sends the user's ID token.
  [ "$wc" = wc2 ] && oidc=(--oidc-issuer-url="$DEX_ISSUER" --oidc-client-id="$DEX_CLIENT_ID"
    --oidc-ca-file="$CA_CERT" --oidc-username-claim=email --oidc-groups-claim=groups)
  setsid "$BIN/kube-apiserver" \
    --etcd-servers="$ETCD_URL" --etcd-prefix="/harness/fed-$wc" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" \
    --tls-cert-file="$d/pki/serving.crt" --tls-private-key-file="$d/pki/serving.key" \
    --client-ca-file="$d/pki/ca.crt" \
    --service-account-issuer="https://$wc.federation.local" \
    --service-account-key-file="$d/pki/sa.pub" --service-account-signing-key-file="$d/pki/sa.key" \
    --service-cluster-ip-range=10.97.0.0/16 \
    --authorization-mode=RBAC --endpoint-reconciler-type=none \
    --enable-priority-and-fairness=false --profiling=false \
    --audit-policy-file="$AUDIT_POLICY" --audit-log-path="$d/audit.log" --audit-log-format=json \
    --audit-log-maxsize=100 --audit-log-maxbackup=1 \
    "${oidc[@]}" </dev/null >"$RUN/logs/fed-$wc.log" 2>&1 8>&- &   # 8: the lock, not theirs
  echo "$! fed-$wc" >>"$RUN/pids"
  grep -qx "$port" "$RUN/ports" || echo "$port" >>"$RUN/ports"   # down.sh checks it is freed
}

stop_wc() { # wc: TERM, then KILL after 15 s (a frozen process is thawed first so TERM lands)
  local p deadline=$((SECONDS + 15))
  wc_alive "$1" || { drop_pid_line "$1"; return 0; }
  p=$(wc_pid "$1")
  kill -CONT "$p" 2>/dev/null || true
  kill -TERM "$p" 2>/dev/null || true
  while pid_is_ours "$p" "$RUN"; do
    if ((SECONDS >= deadline)); then kill -KILL "$p" 2>/dev/null || true; sleep 0.5; break; fi
    sleep 0.2
  done
  pid_is_ours "$p" "$RUN" && die "$1 ($p) survived KILL"
  drop_pid_line "$1"
}

write_kubeconfigs() { # wc: admin kubeconfig for kubectl cross-checks (the Secret's content too)
  local d=$FED/$1
  write_kubeconfig "$d/pki/ca.crt" "$d/pki/admin.crt" "$d/pki/admin.key" "$1-admin" "$1=$(wc_url "$1")" \
    >"$d/admin.kubeconfig"
  chmod 600 "$d/admin.kubeconfig"
}

write_env() {
  local wc U tmp=$FED/env.tmp
  {
    v() { printf 'export %s=%q\n' "$1" "$2"; }
    v FED_RUN "$FED"; v FED_WCS "${WCS[*]}"; v FED_UP "$FED_DIR/up.sh"
    v FED_CRD_FILE "$CRD_FILE"; v FED_AUDIT_POLICY "$AUDIT_POLICY"
    for wc in "${WCS[@]}"; do
      U=${wc^^}
      v "${U}_URL" "$(wc_url "$wc")"; v "${U}_PORT" "$(wc_port "$wc")"
      v "${U}_NAMESPACE" "$(wc_namespace "$wc")"
      v "${U}_KUBECONFIG" "$FED/$wc/admin.kubeconfig"; v "${U}_CA_CERT" "$FED/$wc/pki/ca.crt"
      v "${U}_AUDIT_LOG" "$FED/$wc/audit.log"; v "${U}_PID" "$(wc_pid "$wc")"
    done
  } >"$tmp"
  mv "$tmp" "$FED/env"
}

wc_namespace() { case $1 in wc3) echo org-beta ;; *) echo org-acme ;; esac; }

CRD_DIR=$("$FED_DIR/crds.sh")
CRD_FILE=$CRD_DIR/cluster.x-k8s.io_clusters.yaml

# --- single-WC actions -----------------------------------------------------------------------
case $ACTION in
  stop) stop_wc "$TARGET"; write_env; log "$TARGET stopped"; exit 0 ;;
  freeze)
    wc_alive "$TARGET" || die "$TARGET is not running"
    kill -STOP "$(wc_pid "$TARGET")"; log "$TARGET frozen (SIGSTOP)"; exit 0 ;;
  thaw)
    wc_alive "$TARGET" || die "$TARGET is not running"
    kill -CONT "$(wc_pid "$TARGET")"; log "$TARGET thawed"; exit 0 ;;
  start)
    [ -f "$FED/.complete" ] || die "the ground is not up: run $0 --run-dir $RUN first"
    wc_alive "$TARGET" && kill -CONT "$(wc_pid "$TARGET")" 2>/dev/null
    wc_alive "$TARGET" || { drop_pid_line "$TARGET"; start_wc "$TARGET"; }
    wait_wc "$TARGET" 90; write_env; log "$TARGET started"; exit 0 ;;
esac

# --- up: workload apiservers (started together, waited for together) -------------------------
for wc in "${WCS[@]}"; do
  wc_pki "$wc"
  write_kubeconfigs "$wc"
  if wc_alive "$wc"; then
    kill -CONT "$(wc_pid "$wc")" 2>/dev/null || true   # a test may have left it frozen
  else
    drop_pid_line "$wc"
    log "starting $wc on $(wc_url "$wc")"
    start_wc "$wc"
  fi
done
for wc in "${WCS[@]}"; do wait_wc "$wc" 90; done

# --- who may see which Cluster objects on the management cluster (c0) ----------------------
# The server asks c0's RBAC (SubjectAccessReview) before it shows or uses a Cluster for a user.
# mcp-admins are cluster-admin on c0 (test/cluster/up.sh): they see all three. mcp-viewers may
# list the clusters of org-beta (wc3) and get org-acme/wc1 by name only: wc2 is hidden from them.
# Applied on every run (it is cheap), so a ground made before this existed gets it too.
mc_rbac() {
  printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' org-acme org-beta
  cat <<'EOF'
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: fed-cluster-reader, namespace: org-beta}
rules: [{apiGroups: [cluster.x-k8s.io], resources: [clusters], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: fed-viewers-clusters, namespace: org-beta}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: fed-cluster-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: mcp-viewers}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: fed-wc1-getter, namespace: org-acme}
rules: [{apiGroups: [cluster.x-k8s.io], resources: [clusters], resourceNames: [wc1], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: fed-viewers-wc1, namespace: org-acme}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: fed-wc1-getter}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: mcp-viewers}]
EOF
}
mc_rbac | "${K0[@]}" apply --server-side --force-conflicts --field-manager=federation-ground -f - \
  >>"$RUN/logs/fed-setup.log" 2>&1 || die "the management cluster's RBAC failed (see $RUN/logs/fed-setup.log)"

if [ -f "$FED/.complete" ]; then
  write_env
  log "already up at $FED ($((SECONDS - T0)) s; source $FED/env)"
  exit 0
fi

# --- the management cluster: CRD, namespaces, Secrets, ConfigMaps, Cluster objects ----------
log "Cluster CRD ($(cat "$CRD_DIR/SOURCE"))"
# Server-side: the CRD (240 KB) is too big for client-side apply's last-applied annotation.
"${K0[@]}" apply --server-side --force-conflicts --field-manager=federation-ground -f "$CRD_FILE" \
  >>"$RUN/logs/fed-setup.log" 2>&1 || die "installing the Cluster CRD failed (see $RUN/logs/fed-setup.log)"
# Polled, not `kubectl wait`: that fails at once while the new CRD has no conditions yet.
crd_established() {
  [ "$("${K0[@]}" get crd clusters.cluster.x-k8s.io \
    -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ]
}
wait_until 60 crd_established || die "the Cluster CRD was not established within 60 s"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
b64() { base64 -w0 "$1"; }
# name infra-kind release organization-label(or -) tier k8s-version cp-ready workers-ready description
cluster_spec() {
  local wc=$1 ns kind=$2 release=$3 org=$4 tier=$5 version=$6 cp=$7 workers=$8 desc=$9
  ns=$(wc_namespace "$wc")
  cat <<EOF
---
apiVersion: v1
kind: Secret
metadata:
  name: $wc-kubeconfig
  namespace: $ns
  labels: {cluster.x-k8s.io/cluster-name: $wc}
type: cluster.x-k8s.io/secret
data:
  value: $(b64 "$FED/$wc/admin.kubeconfig")
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: $wc-ca-public
  namespace: $ns
  labels: {cluster.x-k8s.io/cluster-name: $wc}
data:
  ca.crt: |
$(sed 's/^/    /' "$FED/$wc/pki/ca.crt")
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: $wc
  namespace: $ns
  labels:
    cluster.x-k8s.io/cluster-name: $wc
    release.giantswarm.io/version: "$release"
    mcp-test/tier: $tier
    mcp-test/ground: federation
$([ "$org" = - ] || echo "    giantswarm.io/organization: $org")
$([ -z "$desc" ] || printf '  annotations:\n    cluster.giantswarm.io/description: "%s"\n' "$desc")
spec:
  controlPlaneEndpoint: {host: 127.0.0.1, port: $(wc_port "$wc")}
  controlPlaneRef: {apiGroup: controlplane.cluster.x-k8s.io, kind: KubeadmControlPlane, name: $wc-control-plane}
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: $kind, name: $wc}
  topology:
    classRef: {name: $tier-class}
    version: $version
EOF
  # The status document (applied to the status subresource below).
  cat >>"$FED/status.yaml" <<EOF
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: $wc, namespace: $ns}
status:
  phase: Provisioned
  initialization: {infrastructureProvisioned: true, controlPlaneInitialized: true}
  controlPlane: {desiredReplicas: $cp, replicas: $cp, readyReplicas: $cp, availableReplicas: $cp, upToDateReplicas: $cp}
  workers: {desiredReplicas: $workers, replicas: $workers, readyReplicas: $workers, availableReplicas: $workers, upToDateReplicas: $workers}
  conditions:
  - {type: Available, status: "True", reason: Available, message: "", lastTransitionTime: "$NOW"}
  - {type: ControlPlaneAvailable, status: "True", reason: Available, message: "", lastTransitionTime: "$NOW"}
  - {type: InfrastructureReady, status: "True", reason: Ready, message: "", lastTransitionTime: "$NOW"}
  - {type: WorkersAvailable, status: "True", reason: Available, message: "", lastTransitionTime: "$NOW"}
EOF
}

log "org-acme (wc1, wc2), org-beta (wc3): Cluster objects, kubeconfig Secrets, CA ConfigMaps"
: >"$FED/status.yaml"
{
  printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' org-acme org-beta
  cluster_spec wc1 AWSCluster 31.1.0 acme prod v1.36.3 3 2 "acme production (admins: all, viewers: view)"
  cluster_spec wc2 AzureCluster 30.0.0 - staging v1.35.2 1 3 ""
  cluster_spec wc3 ProxmoxCluster 29.4.0 beta prod v1.34.4 1 1 "beta on Proxmox (viewers: view, admins: nothing)"
} >"$FED/management.yaml"
"${K0[@]}" apply --server-side --force-conflicts --field-manager=federation-ground -f "$FED/management.yaml" \
  >>"$RUN/logs/fed-setup.log" 2>&1 || die "creating the management objects failed (see $RUN/logs/fed-setup.log)"
"${K0[@]}" apply --server-side --force-conflicts --field-manager=federation-ground --subresource=status \
  -f "$FED/status.yaml" >>"$RUN/logs/fed-setup.log" 2>&1 ||
  die "setting the Cluster status failed (see $RUN/logs/fed-setup.log)"
rm -f "$FED/management.yaml"   # it holds the admin keys; the Secrets are the copy that counts

# --- each workload cluster: RBAC by Dex group, a namespace and an identity ConfigMap ---------
wc_objects() { # wc admins-role viewers-role ("-" = no binding)
  echo "---"
  printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: fedtest}\n'
  cat <<EOF
---
apiVersion: v1
kind: ConfigMap
metadata: {name: wc-identity, namespace: fedtest}
data: {cluster: $1}
EOF
  printf -- '---\n{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "fed-view"}, "rules": %s}\n' "$VIEW_RULES"
  # Both groups may list namespaces everywhere, so one fleet-wide call can succeed on every
  # WC for one user (the stopped-cluster test needs that); everything else differs per WC.
  cat <<'EOF'
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: fed-namespace-reader}
rules: [{apiGroups: [""], resources: [namespaces], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: fed-namespace-readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: fed-namespace-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: mcp-admins}
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: mcp-viewers}
EOF
  local group role
  for group in mcp-admins mcp-viewers; do
    if [ "$group" = mcp-admins ]; then role=$2; else role=$3; fi
    [ "$role" = - ] && continue
    cat <<EOF
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: fed-$group}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: $role}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: $group}]
EOF
  done
}
# `view` is an aggregated ClusterRole that kube-controller-manager fills in; the WCs run none,
# so they get `fed-view` with the rules c0's controller-manager aggregated into `view`.
VIEW_RULES=$("${K0[@]}" get clusterrole view -o json | jq -c '.rules // []')
[ "$VIEW_RULES" != "[]" ] || die "clusterrole view on c0 has no rules yet (kube-controller-manager not done?)"
log "workload RBAC: wc1 admins/viewers, wc2 admins only, wc3 viewers only"
pids=()
for spec in "wc1 cluster-admin fed-view" "wc2 cluster-admin -" "wc3 - fed-view"; do
  read -r wc a v <<<"$spec"
  wc_objects "$wc" "$a" "$v" | "$KUBECTL" --kubeconfig="$FED/$wc/admin.kubeconfig" --request-timeout=30s \
    apply --server-side --field-manager=federation-ground -f - >>"$RUN/logs/fed-setup.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "creating the workload objects failed (see $RUN/logs/fed-setup.log)"; done

write_env
touch "$FED/.complete"
log "up in $((SECONDS - T0)) s: ${WCS[*]} at $FED; use: source $FED/env"
