{{/* Names and labels; they match what the controller renders for a RouterConfig of the same name. */}}
{{- define "gw.name" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gw.selectorLabels" -}}
app.kubernetes.io/name: link-assistant-router
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gw.labels" -}}
{{ include "gw.selectorLabels" . }}
app.kubernetes.io/component: gateway
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}
