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
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
metadata.annotations of an object: its own (a dict, may be empty) over commonAnnotations; nothing when
both are empty. Emits its own indentation (metadata level): {{- include "captioner.annotations" (list . $own) }}
*/}}
{{- define "captioner.annotations" -}}
{{- $root := index . 0 -}}
{{- $all := merge (deepCopy (default dict (index . 1))) (deepCopy (default dict $root.Values.commonAnnotations)) -}}
{{- with $all }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end -}}

{{/* "repository:tag" or "repository@digest": include "captioner.imageRef" (list . .Values.image) */}}
{{/* global.imageRegistry, when set, goes in front of the repository. */}}
{{- define "captioner.imageRef" -}}
{{- $root := index . 0 -}}
{{- $img := index . 1 -}}
{{- $repo := $img.repository -}}
{{- with (($root.Values.global | default dict).imageRegistry) -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" .) $repo -}}
{{- end -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Pod-level extension points of a component (api, worker, redis): runtimeClassName, priorityClassName.
include "captioner.podExtras" $c  (at pod spec level, nindent 6)
*/}}
{{- define "captioner.podExtras" -}}
{{- with .runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/*
topologySpreadConstraints entries of a component's values; one without labelSelector gets the
component's selector labels. include "captioner.spreadConstraints" (list $ "api" $c.topologySpreadConstraints)
*/}}
{{- define "captioner.spreadConstraints" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- range (index . 2) }}
{{- $tsc := deepCopy . }}
{{- if not (hasKey $tsc "labelSelector") }}
{{- $_ := set $tsc "labelSelector" (dict "matchLabels" (include "captioner.selectorLabels" (list $root $component) | fromYaml)) }}
{{- end }}
- {{ toYaml $tsc | nindent 2 | trim }}
{{- end }}
{{- end -}}

{{/*
The queue Redis' address for KEDA: worker.keda.redis.address, or the in-chart Service's fully qualified
name (the operator runs in its own namespace, where the short name resolves to nothing).
*/}}
{{- define "captioner.kedaRedisAddress" -}}
{{- if .Values.redis.inChart.enabled -}}
{{- printf "%s.%s.svc.%s:6379" (include "captioner.redisQueueHost" .) .Release.Namespace (trimSuffix "." .Values.clusterDomain) -}}
{{- else -}}
{{- .Values.worker.keda.redis.address -}}
{{- end -}}
{{- end -}}

{{/* A Deployment strategy; Recreate drops the rollingUpdate the default values carry. */}}
{{- define "captioner.strategy" -}}
{{- $s := deepCopy . -}}
{{- if eq (toString $s.type) "Recreate" }}{{ $_ := unset $s "rollingUpdate" }}{{ end -}}
{{- toYaml $s -}}
{{- end -}}

{{/* BATCH_MAX_SIZE as an integer (at least 1). */}}
{{- define "captioner.batchMaxSize" -}}
{{- max 1 (include "captioner.settingValue" (default "8" (get .Values.config "BATCH_MAX_SIZE")) | int) -}}
{{- end -}}

{{/*
HPA behavior: the scale-down stabilization window under the given behavior (keys given there win).
include "captioner.hpaBehavior" (list STABILIZATION_SECONDS BEHAVIOR)
*/}}
{{- define "captioner.hpaBehavior" -}}
{{- $window := index . 0 -}}
{{- $given := deepCopy (default dict (index . 1)) -}}
{{- $base := dict -}}
{{- if ge (int $window) 0 -}}
{{- $base = dict "scaleDown" (dict "stabilizationWindowSeconds" (int $window)) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $base $given) -}}
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

{{/* "true" when the model bundle is pulled from model.uri (s3/https) into a cache volume. */}}
{{- define "captioner.modelPulled" -}}
{{- if has .Values.model.source (list "s3" "https") }}true{{ end -}}
{{- end -}}

{{/* "true" when the model volume is the claim of model.volume.pvc. */}}
{{- define "captioner.modelOnPvc" -}}
{{- $m := .Values.model -}}
{{- if or (has $m.source (list "pvc" "exporter")) (and (include "captioner.modelPulled" .) (eq $m.cache.type "pvc")) }}true{{ end -}}
{{- end -}}

{{- define "captioner.modelClaimName" -}}
{{- default (printf "%s-model" (include "captioner.fullname" .)) .Values.model.volume.pvc.existingClaim -}}
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
