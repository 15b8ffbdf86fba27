{{- define "promote.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "promote.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "promote.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "promote.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}{{ default (include "promote.fullname" .) .Values.serviceAccount.name }}
{{- else }}{{ default "default" .Values.serviceAccount.name }}{{ end }}
{{- end }}

{{- define "promote.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* The pod must outlive the worker's own shutdown grace, or Kubernetes kills activities mid-push. */}}
{{- define "promote.terminationGrace" -}}
{{- $grace := int .Values.worker.shutdownGraceSeconds -}}
{{- $t := int .Values.worker.terminationGracePeriodSeconds -}}
{{- if eq $t 0 }}{{ add $grace 30 }}
{{- else if le $t $grace }}{{ fail (printf "worker.terminationGracePeriodSeconds (%d) must be longer than worker.shutdownGraceSeconds (%d)" $t $grace) }}
{{- else }}{{ $t }}{{ end }}
{{- end }}

{{/* A list of {env, secret, key} as NAME_FILE variables pointing at mounted files. */}}
{{- define "promote.secretFileEnv" -}}
{{- range . }}
- name: {{ .env }}_FILE
  value: /etc/promote/secrets/{{ .env }}/{{ .key }}
{{- end }}
{{- end }}

{{- define "promote.secretFileMounts" -}}
{{- range . }}
- { name: secret-{{ .env | lower | replace "_" "-" }}, mountPath: /etc/promote/secrets/{{ .env }}, readOnly: true }
{{- end }}
{{- end }}

{{- define "promote.secretFileVolumes" -}}
{{- range . }}
- name: secret-{{ .env | lower | replace "_" "-" }}
  secret: { secretName: {{ .secret }}, items: [{ key: {{ .key }}, path: {{ .key }} }], defaultMode: 0440 }
{{- end }}
{{- end }}

{{/* The worker's secret files: the generic list plus the git token and GitHub credentials. */}}
{{- define "promote.workerSecretFiles" -}}
{{- $files := list -}}
{{- with .Values.git.tokenSecret }}{{ if .name }}{{ $files = append $files (dict "env" "PROMOTE_GIT_TOKEN" "secret" .name "key" .key) }}{{ end }}{{ end -}}
{{- with .Values.github.tokenSecret }}{{ if .name }}{{ $files = append $files (dict "env" "GITHUB_TOKEN" "secret" .name "key" .key) }}{{ end }}{{ end -}}
{{- with .Values.github.app.privateKeySecret }}{{ if .name }}{{ $files = append $files (dict "env" "PROMOTE_GITHUB_APP_PRIVATE_KEY" "secret" .name "key" .key) }}{{ end }}{{ end -}}
{{- toYaml (concat $files .Values.secretFiles) -}}
{{- end }}

{{/* Connection and identity settings both deployments share. */}}
{{- define "promote.env" -}}
- name: PROMOTE_POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
{{- with .Values.temporal.apiKeySecret }}{{ if .name }}
- name: TEMPORAL_API_KEY
  valueFrom: { secretKeyRef: { name: {{ .name }}, key: {{ .key }} } }
{{- end }}{{ end }}
{{- if .Values.temporal.tlsSecret }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /etc/promote/tls/tls.crt
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /etc/promote/tls/tls.key
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
