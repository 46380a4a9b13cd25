{{/* Names and labels */}}
{{- define "mcp-kubernetes.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcp-kubernetes.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mcp-kubernetes.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcp-kubernetes.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-kubernetes.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mcp-kubernetes.labels" -}}
helm.sh/chart: {{ include "mcp-kubernetes.chart" . }}
{{ include "mcp-kubernetes.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mcp-kubernetes.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcp-kubernetes.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The RBAC profile actually bound: downstream OAuth runs every call as the user, so the
service account gets no rules. */}}
{{- define "mcp-kubernetes.rbacProfile" -}}
{{- $p := .Values.rbac.profile }}
{{- if not (has $p (list "minimal" "readonly" "standard" "admin")) }}
{{- fail (printf "rbac.profile %q: use minimal, readonly, standard or admin" $p) }}
{{- end }}
{{- if and (eq $p "admin") (not .Values.rbac.adminConfirmation) }}
{{- fail "rbac.profile admin lets the server rewrite the cluster's RBAC, CRDs and webhooks and exec into any pod: set rbac.adminConfirmation=true to confirm" }}
{{- end }}
{{- if .Values.mcpKubernetes.oauth.enableDownstreamOAuth }}minimal{{ else }}{{ $p }}{{ end }}
{{- end }}

{{/* --non-destructive as the profile implies it, unless set. */}}
{{- define "mcp-kubernetes.nonDestructive" -}}
{{- $v := .Values.mcpKubernetes.nonDestructive }}
{{- if kindIs "bool" $v }}{{ $v }}{{ else }}{{ ne .Values.rbac.profile "admin" }}{{ end }}
{{- end }}

{{/* --allowed-operations as the profile implies it, unless set (comma-separated, may be empty). */}}
{{- define "mcp-kubernetes.allowedOperations" -}}
{{- $v := .Values.mcpKubernetes.allowedOperations }}
{{- if kindIs "slice" $v }}{{ join "," $v }}
{{- else if eq .Values.rbac.profile "standard" }}create,apply,patch,delete,scale
{{- end }}
{{- end }}

{{/* OAuth secret keys mounted as files (see values.yaml). */}}
{{- define "mcp-kubernetes.oauthSecretKeys" -}}
{{- $o := .Values.mcpKubernetes.oauth }}
{{- $keys := $o.existingSecretKeys }}
{{- if not $keys }}
{{- $keys = list (ternary "google-client-secret" "dex-client-secret" (eq $o.provider "google")) }}
{{- if not $o.allowPublicRegistration }}{{ $keys = append $keys "registration-token" }}{{ end }}
{{- if eq $o.storage.type "valkey" }}{{ $keys = concat $keys (list "oauth-encryption-key" "valkey-password") }}{{ end }}
{{- end }}
{{- join "," $keys }}
{{- end }}

{{- define "mcp-kubernetes.scheme" -}}
{{- if .Values.mcpKubernetes.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Cluster-scoped objects carry the namespace too: two releases of one name in two namespaces
must not share (or overwrite) a ClusterRole. */}}
{{- define "mcp-kubernetes.clusterScopedName" -}}
{{- printf "%s-%s" .Release.Namespace (include "mcp-kubernetes.fullname" .) }}
{{- end }}
