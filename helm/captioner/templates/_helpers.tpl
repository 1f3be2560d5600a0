{{/* Names, labels, images, secret references and settings shared by the templates. */}}

{{- define "captioner.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "captioner.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "captioner.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component: include "captioner.selectorLabels" (list . "api") */}}
{{- define "captioner.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "captioner.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "captioner.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "captioner.chart" $root }}
{{ include "captioner.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: captioner
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
{{- end -}}

{{/* "repository:tag" or "repository@digest": include "captioner.imageRef" (list . .Values.image) */}}
{{- define "captioner.imageRef" -}}
{{- $root := index . 0 -}}
{{- $img := index . 1 -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default $root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{- define "captioner.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "captioner.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding JWT keys (and the external Redis URLs). */}}
{{- define "captioner.secretName" -}}
{{- default (include "captioner.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The Secret holding REDIS_URL / CACHE_REDIS_URL: the in-chart Redis' own, else the main one. */}}
{{- define "captioner.redisSecretName" -}}
{{- if .Values.redis.inChart.enabled -}}
{{- printf "%s-redis" (include "captioner.fullname" .) -}}
{{- else -}}
{{- include "captioner.secretName" . -}}
{{- end -}}
{{- end -}}

{{- define "captioner.redisQueueHost" -}}
{{- printf "%s-redis-queue" (include "captioner.fullname" .) -}}
{{- end -}}

{{- define "captioner.redisCacheHost" -}}
{{- printf "%s-redis-cache" (include "captioner.fullname" .) -}}
{{- end -}}

{{- define "captioner.modelPath" -}}
{{- printf "%s/%s" (trimSuffix "/" .Values.model.mountPath) .Values.model.bundle -}}
{{- end -}}

{{- define "captioner.executionProvider" -}}
{{- if .Values.worker.executionProvider -}}
{{- .Values.worker.executionProvider -}}
{{- else if .Values.worker.gpu.enabled -}}
cuda
{{- else -}}
cpu
{{- end -}}
{{- end -}}

{{- define "captioner.queueName" -}}
{{- default "captions" (get .Values.config "QUEUE_NAME" | toString) -}}
{{- end -}}

{{/* A setting's value as the string the app reads (YAML numbers must not come out as 1e+07). */}}
{{- define "captioner.settingValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* env entries from a name -> value map (api.env / worker.env). */}}
{{- define "captioner.envFromMap" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ include "captioner.settingValue" $value | quote }}
{{- end }}
{{- end -}}

{{/* One env entry read from a Secret: include "captioner.secretEnv" (list NAME SECRET KEY OPTIONAL) */}}
{{- define "captioner.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 }}
      key: {{ index . 2 }}
      {{- if index . 3 }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The Standard Webhooks signing secret, both processes (the API checks webhooks are on, the worker signs). */}}
{{- define "captioner.webhookEnv" -}}
{{ include "captioner.secretEnv" (list "WEBHOOK_SECRET" (include "captioner.secretName" .) .Values.secrets.keys.webhookSecret true) }}
{{- end -}}

{{/* Redis URLs, both processes. REDIS_URL is required (queue mode); CACHE_REDIS_URL may be absent. */}}
{{- define "captioner.redisEnv" -}}
{{- $secret := include "captioner.redisSecretName" . -}}
{{- $keys := .Values.secrets.keys -}}
{{- if .Values.redis.inChart.enabled }}
{{ include "captioner.secretEnv" (list "REDIS_URL" $secret "REDIS_URL" false) }}
{{ include "captioner.secretEnv" (list "CACHE_REDIS_URL" $secret "CACHE_REDIS_URL" false) }}
{{- else }}
{{ include "captioner.secretEnv" (list "REDIS_URL" $secret $keys.redisUrl false) }}
{{ include "captioner.secretEnv" (list "CACHE_REDIS_URL" $secret $keys.cacheRedisUrl true) }}
{{- end }}
{{- end -}}

{{- define "captioner.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "captioner.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{/* checksum of the settings ConfigMap, so that changing a setting rolls the pods. */}}
{{- define "captioner.configChecksum" -}}
{{- include (print .Template.BasePath "/configmap.yaml") . | sha256sum -}}
{{- end -}}

{{/* The exporter's args, each single-quoted for sh (the schema forbids quotes in them). */}}
{{- define "captioner.exporterArgs" -}}
{{- range .Values.model.exporter.args }} {{ squote . }}{{- end -}}
{{- end -}}

{{/* NetworkPolicy egress both processes need: DNS and Redis (+ networkPolicy.extraEgress). */}}
{{- define "captioner.egressCommon" -}}
{{- $np := .Values.networkPolicy -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- if .Values.redis.inChart.enabled }}
- to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/instance: {{ .Release.Name }}
          captioner.io/redis: "true"
  ports:
    - port: 6379
      protocol: TCP
{{- else }}
- to:
    {{- range $np.redis.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    {{- range $np.redis.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}
