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

{{/* "true" when the config keeps its state in Redis (a top-level `redis:` block), else "". */}}
{{- define "gw.sharedState" -}}
{{- if regexMatch "(?m)^redis:" .Values.config }}true{{ end -}}
{{- end -}}

{{/* The rules every deployment target applies, so a values file cannot deploy a store that forgets
     or splits: several gateways need redis; the chart's Redis only serves a config that uses redis. */}}
{{- define "gw.validate" -}}
{{- $shared := include "gw.sharedState" . -}}
{{- if and (gt (int .Values.replicas) 1) (not $shared) -}}
{{- fail (printf "replicas: %d without redis: each pod would keep its own keys, revocations and budgets. Add a `redis:` block with `url-env %s` to config, and set redis.enabled=true (or put %s in the Secret), or run one replica" (int .Values.replicas) .Values.redis.urlEnv .Values.redis.urlEnv) -}}
{{- end -}}
{{- if and .Values.redis.enabled (not $shared) -}}
{{- fail (printf "redis.enabled=true but config has no `redis:` block: add `redis:` with `url-env %s`" .Values.redis.urlEnv) -}}
{{- end -}}
{{- end -}}

{{- define "gw.redisName" -}}
{{- printf "%s-redis" (include "gw.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
