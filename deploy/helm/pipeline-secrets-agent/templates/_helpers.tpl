{{- define "psa.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "psa.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "psa.labels" -}}
{{ include "psa.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: pipeline-secrets
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "psa.serviceAccount" -}}
{{- default (include "psa.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Cluster-wide objects are shared by every release: the namespace keeps names apart. */}}
{{- define "psa.clusterName" -}}
{{- printf "%s-%s" (include "psa.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "psa.tokenSecretName" -}}
{{- default (printf "%s-token" (include "psa.fullname" .)) .Values.agent.tokenSecret.name -}}
{{- end -}}

{{- define "psa.tokenSecretKey" -}}
{{- if .Values.agent.tokenSecret.name -}}
{{- .Values.agent.tokenSecret.key -}}
{{- else -}}
token
{{- end -}}
{{- end -}}

{{/*
What the agent does, in each managed namespace (a Role) or everywhere (a ClusterRole):
Secrets it writes, deletes and watches for drift; the workloads it restarts (a patch of
the pod template's annotation); the SecretSyncs it reads and whose status it writes.
*/}}
{{- define "psa.rules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "patch"]
- apiGroups: ["secrets.pipeline.io"]
  resources: ["secretsyncs"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["secrets.pipeline.io"]
  resources: ["secretsyncs/status"]
  verbs: ["get", "update", "patch"]
{{- end -}}

{{/*
Refuse to render an agent that could not start: no server, no token (or two sources of it),
a token that is not an agent token.
*/}}
{{- define "psa.validate" -}}
{{- $url := required "server.url is required: the Pipeline Secrets server the agent connects to (e.g. --set server.url=https://secrets.example.org)." .Values.server.url -}}
{{- if not (regexMatch "^https?://[^/\\s]+" $url) -}}
{{- fail (printf "server.url must be an http(s) URL of the Pipeline Secrets server, not %q." $url) -}}
{{- end -}}
{{- $token := .Values.agent.token | default "" -}}
{{- if and $token .Values.agent.tokenSecret.name -}}
{{- fail "agent.token and agent.tokenSecret.name are both set: give the token one way (an existing Secret is preferred)." -}}
{{- end -}}
{{- if not (or $token .Values.agent.tokenSecret.name) -}}
{{- fail "The agent token is required: name an existing Secret holding it (agent.tokenSecret.name, agent.tokenSecret.key) or give it as agent.token (it is shown once when the cluster is registered with mode \"agent\")." -}}
{{- end -}}
{{- if and $token (not (regexMatch "^psa_[A-Za-z0-9_-]{43}$" $token)) -}}
{{- fail "agent.token is not an agent token (psa_ followed by 43 characters): copy the one shown when the cluster was registered or its token rotated." -}}
{{- end -}}
{{- end -}}
