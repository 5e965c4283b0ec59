{{/*
Helpers, grouped: names, labels, images, connection facts and env, the shared pod
template every component renders through, dependency pods, and validateValues last.
Components are api, worker (and worker pools), beat, flower, migration; each has the
identical values block, and nothing below is copied per component.
*/}}

{{/* ---------------------------------------------------------------- names */}}

{{- define "agent-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agent-service.fullname" -}}
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

{{/* <fullname>-<suffix>; dict "context" $ "name" "worker-agents" */}}
{{- define "agent-service.component.fullname" -}}
{{- printf "%s-%s" (include "agent-service.fullname" .context | trunc 50 | trimSuffix "-") .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agent-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agent-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "agent-service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* the Secret the pods read; the chart's own unless existingSecret is given */}}
{{- define "agent-service.secretName" -}}
{{- default (include "agent-service.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* the Secret the migration hook reads: at pre-install the release Secret does not exist yet,
so the chart renders a hook copy with a lower weight (see secret.yaml) */}}
{{- define "agent-service.migration.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if (include "agent-service.externalSecret" . | fromYaml).enabled -}}
{{- include "agent-service.fullname" . -}}
{{- else -}}
{{- include "agent-service.component.fullname" (dict "context" . "name" "migration") -}}
{{- end -}}
{{- end -}}

{{/* hook events of the migration Job. With the bundled PostgreSQL (dev) the database is a
normal release resource that does not exist during pre-install, so the first run is post-install. */}}
{{- define "agent-service.migration.hookEvents" -}}
{{- if .Values.postgresql.enabled -}}post-install,pre-upgrade{{- else -}}pre-install,pre-upgrade{{- end -}}
{{- end -}}

{{/* annotations of the external-secrets hooks (dict "context" $ "weight" "-20") */}}
{{- define "agent-service.externalSecret.hookAnnotations" -}}
helm.sh/hook: {{ include "agent-service.migration.hookEvents" .context }}
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation
{{- with .context.Values.commonAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- labels */}}

{{- define "agent-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agent-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* standard labels on every object */}}
{{- define "agent-service.labels" -}}
helm.sh/chart: {{ include "agent-service.chart" . }}
{{ include "agent-service.selectorLabels" . }}
app.kubernetes.io/version: {{ include "agent-service.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agent-service
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* selector of one component: dict "context" $ "component" "worker" ["pool" "agents"] */}}
{{- define "agent-service.component.selectorLabels" -}}
{{ include "agent-service.selectorLabels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- if .pool }}
agent-service.io/worker-pool: {{ .pool }}
{{- end }}
{{- end -}}

{{/* labels of one component's objects and pods */}}
{{- define "agent-service.component.labels" -}}
{{ include "agent-service.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- if .pool }}
agent-service.io/worker-pool: {{ .pool }}
{{- end }}
{{- end -}}

{{/* the API pods' traffic group: api.trafficGroup, else this release's fullname */}}
{{- define "agent-service.api.trafficGroup" -}}
{{- default (include "agent-service.fullname" .) .Values.api.trafficGroup | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* selector of the API Service: by traffic group (default) or by this release only. The group
is api.service.trafficGroup when set (blue/green: the live colour's group), else the pods' own */}}
{{- define "agent-service.api.serviceSelector" -}}
{{- if eq .Values.api.service.selectBy "release" -}}
{{ include "agent-service.component.selectorLabels" (dict "context" . "component" "api") }}
{{- else -}}
app.kubernetes.io/name: {{ include "agent-service.name" . }}
app.kubernetes.io/component: api
agent-service.io/traffic: {{ .Values.api.service.trafficGroup | default (include "agent-service.api.trafficGroup" .) | trunc 63 | trimSuffix "-" }}
{{- end -}}
{{- end -}}

{{/* pod labels of a bundled dependency (redis, postgresql): dict "context" $ "component" <name>
"image" <its image dict>. No app version and no chart version, so that an upgrade or a
rollback of the app does not restart the broker and the database. */}}
{{- define "agent-service.dependency.podLabels" -}}
{{ include "agent-service.component.selectorLabels" . }}
app.kubernetes.io/version: {{ .image.tag | default "unknown" | toString | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
app.kubernetes.io/part-of: agent-service
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "agent-service.annotations" -}}
{{- with .Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The Ingress annotations: the rate limit and CORS of ingress.rateLimit / ingress.cors as
ingress-nginx annotations, under ingress.annotations (which win, so any one can be tuned by hand),
under commonAnnotations. A YAML map, empty when there are none. */}}
{{- define "agent-service.ingress.annotations" -}}
{{- $ing := .Values.ingress -}}
{{- $gen := dict -}}
{{- $prefix := "nginx.ingress.kubernetes.io/" -}}
{{- with $ing.rateLimit -}}
{{- if .enabled -}}
{{- if .rps }}{{ $_ := set $gen (print $prefix "limit-rps") (toString .rps) }}{{ end -}}
{{- if .rpm }}{{ $_ := set $gen (print $prefix "limit-rpm") (toString .rpm) }}{{ end -}}
{{- if .burstMultiplier }}{{ $_ := set $gen (print $prefix "limit-burst-multiplier") (toString .burstMultiplier) }}{{ end -}}
{{- if .connections }}{{ $_ := set $gen (print $prefix "limit-connections") (toString .connections) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- with $ing.cors -}}
{{- if .enabled -}}
{{- $_ := set $gen (print $prefix "enable-cors") "true" -}}
{{- $_ := set $gen (print $prefix "cors-allow-origin") (join ", " .allowOrigins) -}}
{{- $_ := set $gen (print $prefix "cors-allow-methods") (join ", " .allowMethods) -}}
{{- $_ := set $gen (print $prefix "cors-allow-headers") (join ", " .allowHeaders) -}}
{{- with .exposeHeaders }}{{ $_ := set $gen (print $prefix "cors-expose-headers") (join ", " .) }}{{ end -}}
{{- $_ := set $gen (print $prefix "cors-allow-credentials") (toString .allowCredentials) -}}
{{- $_ := set $gen (print $prefix "cors-max-age") (toString .maxAge) -}}
{{- end -}}
{{- end -}}
{{- $all := merge (deepCopy ($ing.annotations | default dict)) $gen (deepCopy (.Values.commonAnnotations | default dict)) -}}
{{- if $all }}{{ toYaml $all }}{{ end -}}
{{- end -}}

{{/* the release version: the app image tag, else appVersion (the label analysis selects on) */}}
{{- define "agent-service.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ---------------------------------------------------------------- images */}}

{{/* dict "context" $ "image" <image dict> ["default" <image dict the fields fall back to>] */}}
{{- define "agent-service.image" -}}
{{- $img := .image | default dict -}}
{{- $def := .default | default dict -}}
{{- $registry := coalesce .context.Values.global.imageRegistry $img.registry $def.registry | default "" -}}
{{- $repository := coalesce $img.repository $def.repository -}}
{{- $digest := coalesce $img.digest $def.digest | default "" -}}
{{- $tag := coalesce $img.tag $def.tag .context.Chart.AppVersion | toString -}}
{{- $ref := ternary (printf "%s/%s" $registry $repository) $repository (ne $registry "") -}}
{{- if $digest -}}
{{- printf "%s@%s" $ref $digest -}}
{{- else -}}
{{- printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- end -}}

{{/*
The pull policy: the component's, else the chart's (image.pullPolicy), else by the reference. A
digest or a full version tag (1.2.3, v1.2.3, v2.0.0-rc.1) names one build, so IfNotPresent; any
other tag can move to a newer build (latest, v1, v1.2, main-abc12345), so Always.
*/}}
{{- define "agent-service.imagePullPolicy" -}}
{{- $img := .image | default dict -}}
{{- $def := .default | default dict -}}
{{- $tag := coalesce $img.tag $def.tag .context.Chart.AppVersion | toString -}}
{{- if coalesce $img.pullPolicy $def.pullPolicy -}}
{{- coalesce $img.pullPolicy $def.pullPolicy -}}
{{- else if or (coalesce $img.digest $def.digest) (regexMatch "^v?[0-9]+[.][0-9]+[.][0-9]+(-[0-9A-Za-z.-]+)?$" $tag) -}}
IfNotPresent
{{- else -}}
Always
{{- end -}}
{{- end -}}

{{- define "agent-service.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- connection facts and env */}}

{{- define "agent-service.postgresql.host" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "agent-service.component.fullname" (dict "context" . "name" "postgresql") -}}
{{- else -}}
{{- .Values.externalDatabase.host -}}
{{- end -}}
{{- end -}}

{{- define "agent-service.redis.host" -}}
{{- if .Values.redis.enabled -}}
{{- include "agent-service.component.fullname" (dict "context" . "name" "redis") -}}
{{- else -}}
{{- .Values.externalRedis.host -}}
{{- end -}}
{{- end -}}

{{/* ConfigMap data: shared by configmap.yaml and (inlined) the migration hook */}}
{{- define "agent-service.config.data" -}}
APP_ENV: {{ .Values.environment | quote }}
APP_VERSION: {{ include "agent-service.version" . | quote }}
LOG_LEVEL: {{ .Values.config.logLevel | quote }}
POSTGRES_HOST: {{ include "agent-service.postgresql.host" . | quote }}
POSTGRES_PORT: {{ ternary 5432 .Values.externalDatabase.port .Values.postgresql.enabled | quote }}
POSTGRES_DB: {{ ternary .Values.postgresql.database .Values.externalDatabase.database .Values.postgresql.enabled | quote }}
POSTGRES_USER: {{ ternary .Values.postgresql.username .Values.externalDatabase.username .Values.postgresql.enabled | quote }}
REDIS_HOST: {{ include "agent-service.redis.host" . | quote }}
REDIS_PORT: {{ ternary 6379 .Values.externalRedis.port .Values.redis.enabled | quote }}
REDIS_DB: {{ ternary .Values.redis.db .Values.externalRedis.db .Values.redis.enabled | quote }}
AGENT_PROVIDER: {{ .Values.config.agentProvider | quote }}
OPENAI_BASE_URL: {{ .Values.config.openaiBaseUrl | quote }}
OPENAI_MODEL: {{ .Values.config.openaiModel | quote }}
RATE_LIMIT_PER_MINUTE: {{ .Values.config.rateLimitPerMinute | quote }}
HTTP_TOOL_ALLOWLIST: {{ join "," .Values.config.httpToolAllowlist | quote }}
FAULT_ERROR_RATE: {{ .Values.config.faultErrorRate | quote }}
FAULT_LATENCY_MS: {{ .Values.config.faultLatencyMs | quote }}
CELERY_TASK_TIME_LIMIT: {{ .Values.worker.taskTimeLimit | quote }}
CELERY_TASK_SOFT_TIME_LIMIT: {{ .Values.worker.taskSoftTimeLimit | quote }}
{{- if .Values.tracing.enabled }}
TRACING_ENABLED: "true"
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .Values.tracing.endpoint | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ .Values.tracing.protocol | quote }}
TRACING_SAMPLER_RATIO: {{ .Values.tracing.samplerRatio | quote }}
{{- end }}
{{- range $k, $v := .Values.config.extra }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* One generated secret value, memoised in .Values so that every template of this render
(release Secret, hook Secret, checksums) sees the same value. Order: given value, the value in
the release Secret already in the cluster (upgrades keep it), a new random one.
dict "context" $ "key" "POSTGRES_PASSWORD" "value" "postgresPassword" */}}
{{- define "agent-service.secretValue" -}}
{{- $ := .context -}}
{{- $memo := index $.Values.secrets "_generated" | default dict -}}
{{- if not (hasKey $memo .key) -}}
{{- $value := index $.Values.secrets .value -}}
{{- if not $value -}}
{{- $existing := lookup "v1" "Secret" $.Release.Namespace (include "agent-service.fullname" $) -}}
{{- if and $existing (hasKey ($existing.data | default dict) .key) -}}
{{- $value = index $existing.data .key | b64dec -}}
{{- else -}}
{{- $value = randAlphaNum 32 -}}
{{- end -}}
{{- end -}}
{{- $_ := set $memo .key $value -}}
{{- $_ := set $.Values.secrets "_generated" $memo -}}
{{- end -}}
{{- index $memo .key -}}
{{- end -}}

{{/* stringData of the chart's Secret */}}
{{- define "agent-service.secret.data" -}}
POSTGRES_PASSWORD: {{ include "agent-service.secretValue" (dict "context" . "key" "POSTGRES_PASSWORD" "value" "postgresPassword") | quote }}
{{- if or .Values.redis.enabled .Values.secrets.redisPassword }}
REDIS_PASSWORD: {{ include "agent-service.secretValue" (dict "context" . "key" "REDIS_PASSWORD" "value" "redisPassword") | quote }}
{{- end }}
{{- with .Values.secrets.openaiApiKey }}
OPENAI_API_KEY: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* secret env of every app container */}}
{{- define "agent-service.env.secrets" -}}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: POSTGRES_PASSWORD
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: REDIS_PASSWORD
      optional: true
- name: OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: OPENAI_API_KEY
      optional: true
{{- end -}}

{{/* ---------------------------------------------------------------- pod pieces */}}

{{/* a securityContext block without the `enabled` switch; empty when disabled */}}
{{- define "agent-service.securityContext" -}}
{{- if and . .enabled -}}
{{- toYaml (omit . "enabled") -}}
{{- end -}}
{{- end -}}

{{/* one probe: dict "probe" <values> "custom" <custom probe> "context" $ */}}
{{- define "agent-service.probe" -}}
{{- if .custom -}}
{{- tpl (toYaml .custom) .context -}}
{{- else if .probe.enabled -}}
{{- $p := .probe -}}
{{- if eq $p.type "httpGet" }}
httpGet:
  path: {{ $p.path }}
  port: {{ $p.port }}
{{- else if eq $p.type "tcpSocket" }}
tcpSocket:
  port: {{ $p.port }}
{{- else }}
exec:
  command:
    {{- toYaml $p.command | nindent 4 }}
{{- end }}
initialDelaySeconds: {{ $p.initialDelaySeconds }}
periodSeconds: {{ $p.periodSeconds }}
timeoutSeconds: {{ $p.timeoutSeconds }}
failureThreshold: {{ $p.failureThreshold }}
successThreshold: {{ $p.successThreshold }}
{{- end -}}
{{- end -}}

{{/* affinity: the full object if given, else the anti-affinity preset on the hostname */}}
{{- define "agent-service.affinity" -}}
{{- $c := .values -}}
{{- if $c.affinity -}}
{{- toYaml $c.affinity -}}
{{- else if eq $c.podAntiAffinityPreset "soft" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "agent-service.component.selectorLabels" . | nindent 12 }}
{{- else if eq $c.podAntiAffinityPreset "hard" -}}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "agent-service.component.selectorLabels" . | nindent 10 }}
{{- end -}}
{{- end -}}

{{/* topologySpreadConstraints; a constraint without labelSelector gets the component's selector */}}
{{- define "agent-service.topologySpread" -}}
{{- $sel := include "agent-service.component.selectorLabels" . | fromYaml -}}
{{- range .values.topologySpreadConstraints }}
- {{- toYaml (merge (deepCopy .) (dict "labelSelector" (dict "matchLabels" $sel))) | nindent 2 }}
{{- end -}}
{{- end -}}

{{- define "agent-service.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end -}}

{{/*
The pod template every app component renders (api, worker + pools, beat, flower, migration).
dict
  "context"   $
  "component" api|worker|beat|flower|migration
  "pool"      worker pool name (workers only)
  "values"    the component's values block
  "ports"     list of container ports
  "env"       extra component env (list)
  "job"       true for the migration Job (inline config, hook Secret, restartPolicy Never, no probes)
*/}}
{{- define "agent-service.podTemplate" -}}
{{- $ := .context -}}
{{- $c := .values -}}
{{- $sel := dict "context" $ "component" .component "pool" .pool "values" $c -}}
metadata:
  labels:
    {{- include "agent-service.component.labels" $sel | nindent 4 }}
    {{- if eq .component "api" }}
    agent-service.io/traffic: {{ include "agent-service.api.trafficGroup" $ }}
    {{- end }}
    {{- with $c.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- include "agent-service.checksums" $ | nindent 4 }}
    {{- with $c.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- /* the migration hook can run before the release's ServiceAccount exists: it uses the
  namespace's default one (it needs no API access) */}}
  serviceAccountName: {{ ternary "default" (include "agent-service.serviceAccountName" $) (and (default false .job) $.Values.serviceAccount.create) }}
  automountServiceAccountToken: {{ $c.automountServiceAccountToken }}
  {{- with (include "agent-service.imagePullSecrets" $) }}{{ . | nindent 2 }}{{ end }}
  {{- with $c.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- $sc := include "agent-service.securityContexts" (dict "context" $ "values" $c) | fromYaml }}
  {{- with $sc.pod }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
  {{- if .job }}
  restartPolicy: Never
  {{- end }}
  {{- with $c.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with (include "agent-service.affinity" $sel) }}
  affinity:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with (include "agent-service.topologySpread" $sel) }}
  topologySpreadConstraints:
    {{- . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "agent-service.image" (dict "context" $ "image" $c.image "default" $.Values.image) }}
      imagePullPolicy: {{ include "agent-service.imagePullPolicy" (dict "context" $ "image" $c.image "default" $.Values.image) }}
      {{- with $c.command }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.args }}
      args:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .ports }}
      ports:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if not .job }}
      envFrom:
        - configMapRef:
            name: {{ include "agent-service.fullname" $ }}
        {{- with $c.envFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- else if $c.envFrom }}
      envFrom:
        {{- toYaml $c.envFrom | nindent 8 }}
      {{- end }}
      env:
        {{- if .job }}
        {{- range $k, $v := (include "agent-service.config.data" $ | fromYaml) }}
        - name: {{ $k }}
          value: {{ $v | quote }}
        {{- end }}
        {{- end }}
        {{- include "agent-service.env.secrets" (dict "secretName" (ternary (include "agent-service.migration.secretName" $) (include "agent-service.secretName" $) (default false .job))) | nindent 8 }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- range $k, $v := $c.env }}
        - name: {{ $k }}
          value: {{ $v | quote }}
        {{- end }}
        {{- with $c.extraEnv }}
        {{- tpl (toYaml .) $ | nindent 8 }}
        {{- end }}
      {{- if not .job }}
      {{- with (include "agent-service.probe" (dict "probe" $c.startupProbe "custom" $c.customStartupProbe "context" $) | trim) }}
      startupProbe:
        {{- . | nindent 8 }}
      {{- end }}
      {{- with (include "agent-service.probe" (dict "probe" $c.livenessProbe "custom" $c.customLivenessProbe "context" $) | trim) }}
      livenessProbe:
        {{- . | nindent 8 }}
      {{- end }}
      {{- with (include "agent-service.probe" (dict "probe" $c.readinessProbe "custom" $c.customReadinessProbe "context" $) | trim) }}
      readinessProbe:
        {{- . | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- with $c.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $sc.container }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.lifecycle }}
      lifecycle:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if and $c.mountPersistence $.Values.persistence.enabled }}
        - name: data
          mountPath: {{ $.Values.persistence.mountPath }}
        {{- end }}
        {{- with $c.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        {{- with $c.tmpSizeLimit }}
        sizeLimit: {{ . }}
        {{- else }} {}
        {{- end }}
    {{- if and $c.mountPersistence $.Values.persistence.enabled }}
    - name: data
      persistentVolumeClaim:
        claimName: {{ default (include "agent-service.component.fullname" (dict "context" $ "name" "data")) $.Values.persistence.existingClaim }}
    {{- end }}
    {{- with $c.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/*
The Deployment of an app component (api, worker + pools, beat, flower): header, selector,
replicas and strategy, then agent-service.podTemplate with the same dict, which also takes
"ports" and "env" (see above).
dict
  "context"    $
  "component"  api|worker|beat|flower
  "pool"       worker pool name (workers only)
  "values"     the component's values block
  "autoscaled" true where an HPA owns the replica count when values.autoscaling.enabled (api, workers)
  "singleton"  true for Celery beat: one replica and Recreate, whatever the values say
*/}}
{{- define "agent-service.deployment" -}}
{{- $ := .context -}}
{{- $c := .values -}}
{{- $sel := dict "context" $ "component" .component "pool" .pool -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- if eq .component "worker" }}
  name: {{ include "agent-service.worker.fullname" $sel }}
  {{- else }}
  name: {{ include "agent-service.component.fullname" (dict "context" $ "name" .component) }}
  {{- end }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "agent-service.component.labels" $sel | nindent 4 }}
  {{- with (include "agent-service.annotations" $) }}{{ . | nindent 2 }}{{ end }}
spec:
  {{- if .singleton }}
  # Celery beat must never run twice (duplicate schedules): one replica, and Recreate so a
  # rollout stops the old scheduler before the new one starts. Values cannot change this.
  replicas: 1
  {{- else if not (and .autoscaled $c.autoscaling.enabled) }}
  replicas: {{ $c.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    {{- if .singleton }}
    type: Recreate
    {{- else }}
    {{- toYaml $c.updateStrategy | nindent 4 }}
    {{- end }}
  selector:
    matchLabels:
      {{- include "agent-service.component.selectorLabels" $sel | nindent 6 }}
  template:
    {{- include "agent-service.podTemplate" . | nindent 4 }}
{{- end -}}

{{/* the worker blocks to render: name (""=main pool) -> merged values */}}
{{- define "agent-service.workerPools" -}}
{{- $pools := dict -}}
{{- if .Values.worker.enabled -}}
{{- $_ := set $pools "default" .Values.worker -}}
{{- end -}}
{{- range $name, $over := .Values.workerPools -}}
{{- $merged := mergeOverwrite (deepCopy $.Values.worker) (deepCopy ($over | default dict)) -}}
{{- if $merged.enabled -}}
{{- $_ := set $pools $name $merged -}}
{{- end -}}
{{- end -}}
{{- toYaml $pools -}}
{{- end -}}

{{/* object name of a worker pool */}}
{{- define "agent-service.worker.fullname" -}}
{{- if eq .pool "default" -}}
{{- include "agent-service.component.fullname" (dict "context" .context "name" "worker") -}}
{{- else -}}
{{- include "agent-service.component.fullname" (dict "context" .context "name" (printf "worker-%s" .pool)) -}}
{{- end -}}
{{- end -}}

{{/* worker-only env: queues, concurrency, time limits (the ConfigMap carries the main worker's limits
for every process; a pool's own limits override them in its pods), metrics port */}}
{{- define "agent-service.worker.env" -}}
- name: CELERY_QUEUES
  value: {{ join "," .queues | quote }}
- name: CELERY_CONCURRENCY
  value: {{ .concurrency | quote }}
- name: CELERY_TASK_TIME_LIMIT
  value: {{ .taskTimeLimit | quote }}
- name: CELERY_TASK_SOFT_TIME_LIMIT
  value: {{ .taskSoftTimeLimit | quote }}
- name: METRICS_PORT
  value: {{ .metricsPort | quote }}
{{- end -}}

{{/*
The two Services of a bundled dependency (dict "context" $ "component" redis|postgresql "port" <n>):
<name>, the ClusterIP Service clients use, and <name>-headless, the StatefulSet's governing Service
(stable pod DNS names; it publishes not-ready pods so that a starting pod resolves).
*/}}
{{- define "agent-service.dependency.services" -}}
{{- $name := include "agent-service.component.fullname" (dict "context" .context "name" .component) -}}
{{- $sel := dict "context" .context "component" .component -}}
{{- range $headless := list false true }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}{{ if $headless }}-headless{{ end }}
  namespace: {{ $.context.Release.Namespace }}
  labels:
    {{- include "agent-service.component.labels" $sel | nindent 4 }}
spec:
  {{- if $headless }}
  clusterIP: None
  publishNotReadyAddresses: true
  {{- else }}
  type: ClusterIP
  {{- end }}
  selector:
    {{- include "agent-service.component.selectorLabels" $sel | nindent 4 }}
  ports:
    - name: {{ $.component }}
      port: {{ $.port }}
      targetPort: {{ $.component }}
      protocol: TCP
{{- end }}
{{- end -}}

{{/*
The StatefulSet's serviceName (same dict): <name>-headless. A StatefulSet's serviceName cannot
change, so one created by an older chart, which named the ClusterIP Service, keeps that name.
*/}}
{{- define "agent-service.dependency.serviceName" -}}
{{- $name := include "agent-service.component.fullname" (dict "context" .context "name" .component) -}}
{{- $live := lookup "apps/v1" "StatefulSet" .context.Release.Namespace $name -}}
{{- if and $live $live.spec -}}
{{- $live.spec.serviceName -}}
{{- else -}}
{{- printf "%s-headless" $name -}}
{{- end -}}
{{- end -}}

{{/* a pod securityContext + container securityContext for the dev dependencies */}}
{{- define "agent-service.dependency.podSpecCommon" -}}
automountServiceAccountToken: false
{{- with (include "agent-service.imagePullSecrets" .context) }}{{ . | nindent 0 }}{{ end }}
{{- with (include "agent-service.securityContext" .values.podSecurityContext) }}
securityContext:
  {{- . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* the TCP port of tracing.endpoint (explicit, else 443 for https, 80 for http) */}}
{{- define "agent-service.tracing.port" -}}
{{- $url := urlParse .Values.tracing.endpoint -}}
{{- $hostPort := splitList ":" $url.host -}}
{{- if gt (len $hostPort) 1 -}}
{{- last $hostPort -}}
{{- else -}}
{{- ternary 443 80 (eq $url.scheme "https") -}}
{{- end -}}
{{- end -}}

{{/* a NetworkPolicy peer from {namespaceSelector, podSelector} */}}
{{- define "agent-service.netpol.peer" -}}
- namespaceSelector:
    matchLabels:
      {{- toYaml .namespaceSelector | nindent 6 }}
  {{- with .podSelector }}
  podSelector:
    matchLabels:
      {{- toYaml . | nindent 6 }}
  {{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- validation */}}

{{- define "agent-service.validateValues" -}}
{{- $errors := list -}}
{{- $tag := toString (default .Chart.AppVersion .Values.image.tag) -}}
{{- if and (eq $tag "latest") (not .Values.image.digest) (not .Values.image.allowRollingTag) -}}
{{- $errors = append $errors "image.tag: \"latest\" is a rolling tag; pin a version, set image.digest, or set image.allowRollingTag" -}}
{{- end -}}
{{- range $name, $w := (include "agent-service.workerPools" . | fromYaml) -}}
{{- if le (int $w.terminationGracePeriodSeconds) (int $w.taskTimeLimit) -}}
{{- $errors = append $errors (printf "worker pool %q: terminationGracePeriodSeconds (%v) must be greater than taskTimeLimit (%v), or running tasks are killed on shutdown" $name $w.terminationGracePeriodSeconds $w.taskTimeLimit) -}}
{{- end -}}
{{- if and $w.taskSoftTimeLimit (ge (int $w.taskSoftTimeLimit) (int $w.taskTimeLimit)) -}}
{{- $errors = append $errors (printf "worker pool %q: taskSoftTimeLimit (%v) must be lower than taskTimeLimit (%v)" $name $w.taskSoftTimeLimit $w.taskTimeLimit) -}}
{{- end -}}
{{- if empty $w.queues -}}
{{- $errors = append $errors (printf "worker pool %q: queues must not be empty" $name) -}}
{{- end -}}
{{- end -}}
{{- range $c := list "api" "worker" -}}
{{- $v := index $.Values $c -}}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) -}}
{{- $errors = append $errors (printf "%s.autoscaling: minReplicas (%v) must not exceed maxReplicas (%v)" $c $v.autoscaling.minReplicas $v.autoscaling.maxReplicas) -}}
{{- end -}}
{{- if and $v.pdb.create $v.pdb.minAvailable $v.pdb.maxUnavailable -}}
{{- $errors = append $errors (printf "%s.pdb: set minAvailable or maxUnavailable, not both" $c) -}}
{{- end -}}
{{- end -}}
{{- if .Values.beat.autoscaling.enabled -}}
{{- $errors = append $errors "beat.autoscaling.enabled: beat must run exactly one replica" -}}
{{- end -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.externalDatabase.host) -}}
{{- $errors = append $errors "externalDatabase.host is required when postgresql.enabled is false" -}}
{{- end -}}
{{- if and (not .Values.redis.enabled) (not .Values.externalRedis.host) -}}
{{- $errors = append $errors "externalRedis.host is required when redis.enabled is false" -}}
{{- end -}}
{{- if and .Values.secrets.existingSecret .Values.secrets.externalSecret.enabled -}}
{{- $errors = append $errors "secrets: use either existingSecret or externalSecret.enabled, not both" -}}
{{- end -}}
{{- if and .Values.externalSecrets.enabled (or .Values.secrets.existingSecret .Values.secrets.externalSecret.enabled) -}}
{{- $errors = append $errors "externalSecrets.enabled (the seed's form) cannot be combined with secrets.existingSecret or secrets.externalSecret.enabled: choose one source of the release Secret" -}}
{{- end -}}
{{- if and .Values.secrets.externalSecret.enabled (not .Values.secrets.externalSecret.secretStoreRef.name) -}}
{{- $errors = append $errors "secrets.externalSecret.secretStoreRef.name is required when externalSecret.enabled" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.api.enabled) -}}
{{- $errors = append $errors "ingress.enabled needs api.enabled" -}}
{{- end -}}
{{- if and .Values.persistence.enabled (not .Values.persistence.existingClaim) (gt (len .Values.persistence.accessModes) 0) (eq (index .Values.persistence.accessModes 0) "ReadWriteOnce") -}}
{{- range $c := list "api" "worker" -}}
{{- $v := index $.Values $c -}}
{{- if and $v.mountPersistence (or $v.autoscaling.enabled (gt (int $v.replicaCount) 1)) (eq $v.podAntiAffinityPreset "hard") -}}
{{- $errors = append $errors (printf "%s: a ReadWriteOnce volume cannot be mounted by replicas forced onto different nodes (podAntiAffinityPreset hard); use ReadWriteMany" $c) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nVALUES VALIDATION:\n  - %s\n" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
