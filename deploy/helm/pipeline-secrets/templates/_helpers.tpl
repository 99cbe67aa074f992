{{- define "ps.fullname" -}}
{{- printf "%s" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ps.labels" -}}
app.kubernetes.io/name: pipeline-secrets
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ps.selector" -}}
app.kubernetes.io/name: pipeline-secrets
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ps.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ps.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ps.secretName" -}}
{{- default (printf "%s-env" (include "ps.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* Non-root, read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "ps.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ps.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "ps.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "ps.fullname" . }}-config
  - secretRef:
      name: {{ include "ps.secretName" . }}
env:
  - name: DATA_DIR
    value: /tmp/data
  - name: PROMETHEUS_MULTIPROC_DIR
    value: /tmp/metrics
{{- end -}}

{{- define "ps.volumes" -}}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "ps.mounts" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* The web pods only (not the periodic or migration pods): Service, PDB, Deployment. */}}
{{- define "ps.webSelector" -}}
{{ include "ps.selector" . }}
app.kubernetes.io/component: web
{{- end -}}

{{/* Values that mean "not set yet": the chart refuses them for a secret key or password. */}}
{{- define "ps.placeholder" -}}
{{- if regexMatch "(?i)(change.?(me|it))|placeholder|^(secret|password|passw0rd|example|default|insecure|test|admin|pipeline|x+|\\*+)$" . -}}
true
{{- end -}}
{{- end -}}

{{/*
Refuse to render what would run unsafely or not at all: an empty or placeholder secret key
or database password, no host names, no pod/service networks to keep tenants out of.
*/}}
{{- define "ps.validate" -}}
{{- if not .Values.existingSecret -}}
{{- $key := .Values.secret.DJANGO_SECRET_KEY | default "" -}}
{{- if not $key -}}
{{- fail "secret.DJANGO_SECRET_KEY is empty: set it to at least 32 random characters (e.g. `openssl rand -base64 48`), or name an existingSecret that holds it." -}}
{{- end -}}
{{- if include "ps.placeholder" $key -}}
{{- fail "secret.DJANGO_SECRET_KEY is a placeholder: set it to at least 32 random characters (e.g. `openssl rand -base64 48`)." -}}
{{- end -}}
{{- if lt (len $key) 32 -}}
{{- fail "secret.DJANGO_SECRET_KEY is too short: use at least 32 random characters (e.g. `openssl rand -base64 48`)." -}}
{{- end -}}
{{- $url := .Values.secret.DATABASE_URL | default "" -}}
{{- if not $url -}}
{{- fail "secret.DATABASE_URL is empty: set it to postgres://USER:PASSWORD@HOST:5432/DB, or name an existingSecret that holds it." -}}
{{- end -}}
{{- $parsed := urlParse $url -}}
{{- if not (hasPrefix "postgres" $parsed.scheme) -}}
{{- fail "secret.DATABASE_URL must be a PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DB): every pod shares the database." -}}
{{- end -}}
{{- $password := "" -}}
{{- if contains ":" $parsed.userinfo -}}
{{- $password = splitList ":" $parsed.userinfo | rest | join ":" -}}
{{- end -}}
{{- if not $password -}}
{{- fail "secret.DATABASE_URL has no database password: put one in the URL (postgres://USER:PASSWORD@HOST:5432/DB)." -}}
{{- end -}}
{{- if include "ps.placeholder" $password -}}
{{- fail "secret.DATABASE_URL's database password is a placeholder: set the real one." -}}
{{- end -}}
{{- $metrics := .Values.secret.METRICS_TOKEN | default "" -}}
{{- if and $metrics (or (include "ps.placeholder" $metrics) (lt (len $metrics) 16)) -}}
{{- fail "secret.METRICS_TOKEN is a placeholder or shorter than 16 characters: set a random one, or leave it empty for no /metrics." -}}
{{- end -}}
{{- end -}}
{{- if not .Values.config.ALLOWED_HOSTS -}}
{{- fail "config.ALLOWED_HOSTS is empty: set the host names the app is reached by (comma-separated)." -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) -}}
{{- fail "ingress.host is empty: set the host the Ingress serves (one of config.ALLOWED_HOSTS)." -}}
{{- end -}}
{{- if or (not .Values.network.podCIDRs) (not .Values.network.serviceCIDRs) -}}
{{- fail "network.podCIDRs and network.serviceCIDRs are required: the app must never call this cluster's pods and services for a tenant (e.g. --set network.podCIDRs={10.42.0.0/16} --set network.serviceCIDRs={10.43.0.0/16})." -}}
{{- end -}}
{{- end -}}

{{/* What tenants' outbound calls never reach: link-local, loopback, this cluster's networks. */}}
{{- define "ps.denyNetworks" -}}
{{- $fixed := list "169.254.0.0/16" "fe80::/10" "127.0.0.0/8" "::1/128" "0.0.0.0/8" "::/128" -}}
{{- $n := .Values.network -}}
{{- concat $fixed $n.podCIDRs $n.serviceCIDRs ($n.extraDenyNetworks | default list) | uniq | join "," -}}
{{- end -}}

{{/* The ConfigMap's data, shared by the release's ConfigMap and the migration hook's. */}}
{{- define "ps.configData" -}}
{{- range $key, $value := .Values.config }}
{{- if ne $key "OUTBOUND_DENY_NETWORKS" }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end }}
OUTBOUND_DENY_NETWORKS: {{ include "ps.denyNetworks" . | quote }}
{{- if not (hasKey .Values.config "TRUSTED_PROXY_COUNT") }}
{{- /* Behind the Ingress controller, the client is the address it appends. */}}
TRUSTED_PROXY_COUNT: {{ ternary "1" "0" (.Values.ingress.enabled | default false) | quote }}
{{- end }}
{{- end -}}

{{/* The Secret's data, shared likewise. */}}
{{- define "ps.secretData" -}}
{{- range $key, $value := .Values.secret }}
{{- if $value }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end -}}
