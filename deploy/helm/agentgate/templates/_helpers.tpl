{{- define "agentgate.labels" -}}
app.kubernetes.io/name: agentgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "agentgate.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "agentgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}{{ default (printf "%s-agentgate" .Release.Name) .Values.serviceAccount.name }}{{ else }}{{ default "default" .Values.serviceAccount.name }}{{ end }}
{{- end }}

{{- define "agentgate.checkpointSecret" -}}
{{- default (printf "%s-checkpoint-key" .Release.Name) .Values.checkpointKey.existingSecret }}
{{- end }}

{{- /* The inbox prefix of a service's NATS user: replies to its requests arrive under it. */ -}}
{{- define "agentgate.inboxPrefix" -}}
{{- printf "_INBOX_%s" (replace "-" "_" .) }}
{{- end }}

{{- /* agentgate.yaml of one service: values.config plus what the chart decides (NATS user, TLS, sink, checkpoint key). */ -}}
{{- define "agentgate.serviceConfig" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $cfg := deepCopy $v.config -}}
{{- $bus := get $cfg "bus" | default dict -}}
{{- $nats := dict -}}
{{- if $v.nats.auth.enabled }}
{{- $_ := set $nats "user" .name -}}
{{- $_ := set $nats "passwordEnv" "AGENTGATE_NATS_PASSWORD" -}}
{{- $_ := set $nats "inboxPrefix" (include "agentgate.inboxPrefix" .name) -}}
{{- end }}
{{- if $v.nats.tls.secretName }}
{{- $tls := dict "caFile" "/etc/agentgate/nats-tls/ca.crt" -}}
{{- if $v.nats.tls.clientCert }}{{ $_ := set $tls "certFile" "/etc/agentgate/nats-tls/tls.crt" }}{{ $_ := set $tls "keyFile" "/etc/agentgate/nats-tls/tls.key" }}{{ end }}
{{- $_ := set $nats "tls" $tls -}}
{{- end }}
{{- if $nats }}{{ $_ := set $bus "nats" $nats }}{{ end }}
{{- $_ := set $cfg "bus" $bus -}}
{{- $audit := get $cfg "audit" | default dict -}}
{{- $sink := dict "type" $v.index.kind "url" $v.index.url -}}
{{- if and (eq $v.index.kind "opensearch") $v.index.username }}{{ $_ := set $sink "username" $v.index.username }}{{ $_ := set $sink "passwordEnv" "AGENTGATE_INDEX_PASSWORD" }}{{ end }}
{{- if and (eq $v.index.kind "elasticsearch") $v.index.apiKeySecret }}{{ $_ := set $sink "apiKeyEnv" "AGENTGATE_INDEX_API_KEY" }}{{ end }}
{{- $_ := set $audit "sinks" (list $sink) -}}
{{- $cp := get $audit "checkpoint" | default dict -}}
{{- $_ := set $cp "keyPath" "/etc/agentgate/checkpoint-key/checkpoint-key.json" -}}
{{- $_ := set $audit "checkpoint" $cp -}}
{{- $_ := set $cfg "audit" $audit -}}
{{- if $v.metrics.enabled }}
{{- $telemetry := get $cfg "telemetry" | default dict -}}
{{- $_ := set $telemetry "metrics" (dict "listen" (dict "host" "0.0.0.0" "port" (int $v.metrics.port))) -}}
{{- $_ := set $cfg "telemetry" $telemetry -}}
{{- end }}
{{- toYaml $cfg }}
{{- end }}
