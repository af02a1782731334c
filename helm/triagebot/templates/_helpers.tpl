{{/* Names and labels. */}}
{{- define "triagebot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "triagebot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "triagebot.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "triagebot.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "triagebot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "triagebot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "triagebot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "triagebot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "triagebot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding tokens, the database URL and the SSH files. */}}
{{- define "triagebot.secretName" -}}
{{- default (include "triagebot.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "triagebot.sqliteUrl" -}}
{{- printf "sqlite+aiosqlite:///%s/triagebot.db" (trimSuffix "/" .Values.database.sqlite.mountPath) }}
{{- end }}

{{- define "triagebot.pvcName" -}}
{{- default (printf "%s-data" (include "triagebot.fullname" .)) .Values.database.sqlite.persistence.existingClaim }}
{{- end }}

{{/* Fails rendering, with the reason, on any combination of values that cannot work. */}}
{{- define "triagebot.validate" -}}
{{- $v := .Values }}
{{- if not (has $v.mode (list "socket" "http")) }}
{{- fail (printf "mode must be \"socket\" or \"http\", not %q" (toString $v.mode)) }}
{{- end }}
{{- if lt (int $v.replicaCount) 1 }}
{{- fail "replicaCount must be at least 1" }}
{{- end }}
{{- if and (eq $v.mode "socket") (gt (int $v.replicaCount) 10) }}
{{- fail "Socket Mode allows at most 10 connections per Slack app: set replicaCount <= 10 or use mode=http" }}
{{- end }}
{{- if and $v.ingress.enabled (ne $v.mode "http") }}
{{- fail "ingress.enabled needs mode=http (Socket Mode takes no inbound traffic from Slack)" }}
{{- end }}
{{- if $v.database.sqlite.enabled }}
{{- if ne (int $v.replicaCount) 1 }}
{{- fail (printf "database.sqlite.enabled allows exactly 1 replica (replicaCount is %d): SQLite is one file on a ReadWriteOnce volume; use PostgreSQL (database.url) for several replicas" (int $v.replicaCount)) }}
{{- end }}
{{- if $v.database.url }}
{{- fail "set either database.url (PostgreSQL) or database.sqlite.enabled, not both" }}
{{- end }}
{{- else }}
{{- if hasPrefix "sqlite" $v.database.url }}
{{- fail "a SQLite database.url needs database.sqlite.enabled=true (a single replica with a PersistentVolumeClaim); otherwise use PostgreSQL" }}
{{- end }}
{{- if and (not $v.existingSecret) (not $v.database.url) }}
{{- fail "database.url is required (postgresql+asyncpg://...), or set existingSecret, or database.sqlite.enabled=true" }}
{{- end }}
{{- end }}
{{- if $v.existingSecret }}
{{- if or $v.slack.botToken $v.slack.appToken $v.slack.signingSecret $v.database.url $v.ssh.privateKey $v.ssh.knownHosts }}
{{- fail "existingSecret is set: leave slack.*, database.url, ssh.privateKey and ssh.knownHosts empty (they would be ignored)" }}
{{- end }}
{{- else }}
{{- $_ := required "slack.botToken is required (or set existingSecret)" $v.slack.botToken }}
{{- if eq $v.mode "socket" }}
{{- $_ := required "slack.appToken is required in Socket Mode (or set existingSecret)" $v.slack.appToken }}
{{- if $v.slack.signingSecret }}{{ fail "slack.signingSecret is for mode=http; leave it empty in Socket Mode" }}{{ end }}
{{- else }}
{{- $_ := required "slack.signingSecret is required in HTTP mode (or set existingSecret)" $v.slack.signingSecret }}
{{- if $v.slack.appToken }}{{ fail "slack.appToken would switch the bot to Socket Mode; leave it empty with mode=http" }}{{ end }}
{{- end }}
{{- if $v.ssh.enabled }}
{{- $_ := required "ssh.privateKey is required when ssh.enabled (or set existingSecret)" $v.ssh.privateKey }}
{{- $_ := required "ssh.knownHosts is required when ssh.enabled: host keys are always pinned" $v.ssh.knownHosts }}
{{- end }}
{{- end }}
{{- $reserved := list "TRIAGEBOT_DATABASE_URL" "TRIAGEBOT_PORT" "TRIAGEBOT_POLICY_FILE" "TRIAGEBOT_SSH_KEY_FILE" "TRIAGEBOT_SSH_KNOWN_HOSTS_FILE" }}
{{- range $key, $_ := $v.settings }}
{{- if not (regexMatch "^TRIAGEBOT_[A-Z0-9_]+$" $key) }}
{{- fail (printf "settings.%s: only TRIAGEBOT_* settings belong here; Slack tokens go in the Secret" $key) }}
{{- end }}
{{- if has $key $reserved }}
{{- fail (printf "settings.%s is set by the chart; use the dedicated value instead" $key) }}
{{- end }}
{{- end }}
{{- if and $v.podDisruptionBudget.enabled (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set maxUnavailable or minAvailable, not both (null the other)" }}
{{- end }}
{{- end }}

{{/* TRIAGEBOT_DATABASE_URL; call with (dict "root" $ "secretName" NAME). */}}
{{- define "triagebot.databaseEnv" -}}
- name: TRIAGEBOT_DATABASE_URL
{{- if .root.Values.database.sqlite.enabled }}
  value: {{ include "triagebot.sqliteUrl" .root | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .root.Values.secretKeys.databaseUrl }}
{{- end }}
{{- end }}

{{/* Pod-level fields shared by the Deployment and the migration Job. */}}
{{- define "triagebot.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "triagebot.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}
