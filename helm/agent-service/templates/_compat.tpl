{{/*
The seed's names for values the chart also has under its own names. Both work; the chart's are
canonical (README: "The seed's keys"), and NOTES.txt lists the seed keys a release uses.

  seed key                                           chart key
  <component>.autoscaling.targetCPUUtilizationPercentage  <component>.autoscaling.targetCPU
  podSecurityContext (every application pod)         <component>.podSecurityContext
  externalSecrets.{enabled,backend,backendConfig}    secrets.externalSecret (a store of your own)
  networkPolicy.ingress                              networkPolicy.extraIngress
*/}}

{{/* the HPA's CPU target: the seed's key wins when set */}}
{{- define "agent-service.autoscaling.targetCPU" -}}
{{- with (coalesce .targetCPUUtilizationPercentage .targetCPU) }}{{ . }}{{ end -}}
{{- end -}}

{{/*
The pod and container securityContexts of an application pod (dict "context" $ "values" <component>),
as YAML {pod, container}. A top-level podSecurityContext is merged over the component's (it wins,
and switches it on), and its runAsUser, runAsGroup and runAsNonRoot also go to the container, whose
own settings would otherwise take precedence over the pod's.
*/}}
{{- define "agent-service.securityContexts" -}}
{{- $c := .values -}}
{{- $pod := deepCopy ($c.podSecurityContext | default dict) -}}
{{- $container := deepCopy ($c.containerSecurityContext | default dict) -}}
{{- with .context.Values.podSecurityContext -}}
{{- $pod = mergeOverwrite (mergeOverwrite $pod (dict "enabled" true)) (deepCopy .) -}}
{{- range $k := list "runAsUser" "runAsGroup" "runAsNonRoot" -}}
{{- if and (hasKey $.context.Values.podSecurityContext $k) $container.enabled -}}
{{- $_ := set $container $k (index $.context.Values.podSecurityContext $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}
pod:
  {{- include "agent-service.securityContext" $pod | nindent 2 }}
container:
  {{- include "agent-service.securityContext" $container | nindent 2 }}
{{- end -}}

{{/*
The ExternalSecret to render, as YAML: {enabled, apiVersion, refreshInterval, secretStoreRef, data,
dataFrom, provider}. The chart's form (secrets.externalSecret) names a store that exists; the seed's
form (externalSecrets) names a backend, so the chart also renders a SecretStore of the release's
name with that provider, and the ExternalSecret extracts every key of backendConfig.secretName.
*/}}
{{- define "agent-service.externalSecret" -}}
{{- $es := .Values.secrets.externalSecret -}}
{{- $seed := .Values.externalSecrets -}}
{{- $out := dict "enabled" false "apiVersion" $es.apiVersion "refreshInterval" $es.refreshInterval -}}
{{- if $es.enabled -}}
{{- $_ := set $out "enabled" true -}}
{{- $_ := set $out "secretStoreRef" $es.secretStoreRef -}}
{{- $_ := set $out "data" $es.data -}}
{{- else if $seed.enabled -}}
{{- $cfg := $seed.backendConfig -}}
{{- $provider := dict -}}
{{- if eq $seed.backend "aws-secrets-manager" "aws-parameter-store" -}}
{{- $aws := dict "service" (ternary "SecretsManager" "ParameterStore" (eq $seed.backend "aws-secrets-manager")) "region" $cfg.region -}}
{{- with $cfg.role }}{{ $_ := set $aws "role" . }}{{ end -}}
{{- with $cfg.auth }}{{ $_ := set $aws "auth" . }}{{ end -}}
{{- $_ := set $provider "aws" $aws -}}
{{- else if eq $seed.backend "gcp-secret-manager" -}}
{{- $gcp := dict "projectID" $cfg.projectID -}}
{{- with $cfg.auth }}{{ $_ := set $gcp "auth" . }}{{ end -}}
{{- $_ := set $provider "gcpsm" $gcp -}}
{{- else if eq $seed.backend "azure-key-vault" -}}
{{- $az := dict "vaultUrl" $cfg.vaultUrl -}}
{{- with $cfg.tenantId }}{{ $_ := set $az "tenantId" . }}{{ end -}}
{{- with $cfg.auth }}{{ $_ := set $az "auth" . }}{{ end -}}
{{- $_ := set $provider "azurekv" $az -}}
{{- else if eq $seed.backend "vault" -}}
{{- $vault := dict "server" $cfg.server "path" $cfg.path "version" (default "v2" $cfg.version) -}}
{{- with $cfg.auth }}{{ $_ := set $vault "auth" . }}{{ end -}}
{{- $_ := set $provider "vault" $vault -}}
{{- end -}}
{{- $_ := set $out "enabled" true -}}
{{- $_ := set $out "provider" $provider -}}
{{- $_ := set $out "secretStoreRef" (dict "name" (include "agent-service.fullname" .) "kind" "SecretStore") -}}
{{- $_ := set $out "dataFrom" (list (dict "extract" (dict "key" $cfg.secretName))) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* the seed keys this release sets, one "seed key: use chart key" line each */}}
{{- define "agent-service.seedKeys" -}}
{{- $used := list -}}
{{- range $c := list "api" "worker" "beat" "flower" "migration" -}}
{{- $a := (index $.Values $c).autoscaling -}}
{{- if and $a (not (kindIs "invalid" $a.targetCPUUtilizationPercentage)) (ne (toString $a.targetCPUUtilizationPercentage) "") -}}
{{- $used = append $used (printf "%s.autoscaling.targetCPUUtilizationPercentage: the chart's key is %s.autoscaling.targetCPU" $c $c) -}}
{{- end -}}
{{- end -}}
{{- range $pool, $over := .Values.workerPools -}}
{{- if and $over $over.autoscaling (hasKey $over.autoscaling "targetCPUUtilizationPercentage") -}}
{{- $used = append $used (printf "workerPools.%s.autoscaling.targetCPUUtilizationPercentage: the chart's key is workerPools.%s.autoscaling.targetCPU" $pool $pool) -}}
{{- end -}}
{{- end -}}
{{- if .Values.podSecurityContext -}}
{{- $used = append $used "podSecurityContext: the chart's key is <component>.podSecurityContext (api, worker, beat, flower, migration)" -}}
{{- end -}}
{{- if .Values.externalSecrets.enabled -}}
{{- $used = append $used "externalSecrets: the chart's key is secrets.externalSecret, which names a SecretStore you manage" -}}
{{- end -}}
{{- if .Values.networkPolicy.ingress -}}
{{- $used = append $used "networkPolicy.ingress: the chart's key is networkPolicy.extraIngress" -}}
{{- end -}}
{{- join "\n" $used -}}
{{- end -}}
