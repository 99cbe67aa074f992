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
