#!/usr/bin/env python3
"""Build values.schema.json from values.yaml and the constraints in this file.

values.yaml gives the keys and, through each default, their types. Every map with keys in
values.yaml becomes a closed object (additionalProperties: false), so a key added there is
accepted and typed with no edit here. The constraints below add what a default cannot say:
ranges, patterns, enums, the probe rules, keys values.yaml leaves out (image.digest,
capabilities.add, ...), and one definition for the five component blocks.

helm-schema (github.com/dadav/helm-schema), which reads `# @schema` annotations from values.yaml,
would do this job, but the Go module proxy serves no version of it (its release tags have no
`v` prefix, so they are no module versions, and the proxy refuses its commits), so the project
cannot build it. Called by generate.py, which writes or checks the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

STR = {"type": "string"}
BOOL = {"type": "boolean"}
OBJ = {"type": "object"}
ARR = {"type": "array"}
NONNEG = {"type": "integer", "minimum": 0}
POS = {"type": "integer", "minimum": 1}
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
QUANTITY = {
    "anyOf": [
        {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"},
        {"type": "number", "minimum": 0},
    ]
}
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# a traffic group label value (api.trafficGroup, api.service.trafficGroup): empty or a DNS label
TRAFFIC_GROUP = {"type": "string", "maxLength": 63, "pattern": r"^$|" + DNS_LABEL}
HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
DIGEST = r"^(sha256:[a-f0-9]{64})?$"
# a CORS origin: scheme://host[:port] without a path, or * for any
CORS_ORIGIN = r"^(\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$"
HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PERCENT_OR_INT = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^([0-9]+%?)?$"}]}


def obj(props: dict, required: list | None = None, extra: bool = False, **kw) -> dict:
    d = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        d["required"] = required
    d.update(kw)
    return d


def image(top: bool) -> dict:
    """An image's values. The chart's image accepts "latest" when allowRollingTag is true; a
    component's image, which has no such switch, never does."""
    tag = {
        "type": "string",
        "description": "image tag; a rolling tag like latest is refused" + (" unless allowRollingTag" if top else ""),
        "anyOf": [{"const": ""}, {"pattern": TAG}],
    }
    not_latest = {"properties": {"tag": {"not": {"const": "latest"}}}}
    props = {
        "repository": {"type": "string", "minLength": 0 if not top else 1},
        "tag": tag,
        "digest": {"type": "string", "pattern": DIGEST},
        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never", ""]},
    }
    if not top:
        return obj(props, allOf=[not_latest])
    props["allowRollingTag"] = {"type": "boolean"}
    rolling = {"properties": {"allowRollingTag": {"const": True}}, "required": ["allowRollingTag"]}
    return obj(props, required=["repository", "tag"], **{"if": {"not": rolling}, "then": not_latest})


PROBE = obj(
    {
        "type": {"enum": ["httpGet", "exec", "tcpSocket"]},
        "port": {"type": ["string", "integer"]},
        "command": {"type": "array", "items": STR},
        "initialDelaySeconds": NONNEG,
        "periodSeconds": POS,
        "timeoutSeconds": POS,
        "failureThreshold": POS,
        "successThreshold": POS,
    },
    allOf=[
        {
            "if": {
                "properties": {"enabled": {"const": True}, "type": {"const": "httpGet"}},
                "required": ["enabled", "type"],
            },
            "then": {
                "required": ["path", "port"],
                "properties": {
                    "path": {"type": "string", "pattern": "^/", "description": "an httpGet probe needs a path"},
                    "port": {"minLength": 1},
                },
            },
        },
        {
            "if": {
                "properties": {"enabled": {"const": True}, "type": {"const": "exec"}},
                "required": ["enabled", "type"],
            },
            "then": {"required": ["command"], "properties": {"command": {"minItems": 1}}},
        },
        {
            "if": {
                "properties": {"enabled": {"const": True}, "type": {"const": "tcpSocket"}},
                "required": ["enabled", "type"],
            },
            "then": {"required": ["port"], "properties": {"port": {"minLength": 1}}},
        },
    ],
)

RESOURCES = obj(
    {
        "requests": {"type": "object", "additionalProperties": QUANTITY},
        "limits": {"type": "object", "additionalProperties": QUANTITY},
    }
)

SECCOMP = obj({"type": {"enum": ["RuntimeDefault", "Localhost"]}, "localhostProfile": STR})
POD_SC = obj(
    {
        "runAsUser": POS,
        "runAsGroup": POS,
        "fsGroup": POS,
        "fsGroupChangePolicy": {"enum": ["OnRootMismatch", "Always"]},
        "seccompProfile": SECCOMP,
        "supplementalGroups": {"type": "array", "items": POS},
    },
    extra=True,
)
CONTAINER_SC = obj(
    {
        "runAsUser": POS,
        "runAsGroup": POS,
        "privileged": {"const": False},
        "allowPrivilegeEscalation": {"const": False, "description": "PSS restricted forbids privilege escalation"},
        "capabilities": obj(
            {"drop": {"type": "array", "items": STR}, "add": {"type": "array", "items": {"enum": ["NET_BIND_SERVICE"]}}}
        ),
        "seccompProfile": SECCOMP,
    },
    extra=True,
)

UTILISATION = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000}, {"const": ""}, {"type": "null"}]}
AUTOSCALING = obj(
    {
        "minReplicas": POS,
        "maxReplicas": POS,
        "targetCPU": UTILISATION,
        # the seed's name for targetCPU (templates/_compat.tpl)
        "targetCPUUtilizationPercentage": UTILISATION,
        "customMetrics": {
            "type": "array",
            "items": obj(
                {"type": {"enum": ["Resource", "Pods", "Object", "External", "ContainerResource"]}},
                required=["type"],
                extra=True,
            ),
        },
        "targetMemory": UTILISATION,
        "queueLength": obj({"averageValue": {"type": ["string", "integer"], "pattern": r"^[0-9]+(\.[0-9]+)?m?$"}}),
        # the HPA's own behavior block: free-form, though values.yaml shows an example
        "behavior": OBJ,
    }
)
PDB = obj({"minAvailable": PERCENT_OR_INT, "maxUnavailable": PERCENT_OR_INT})


def component(extra_props: dict | None = None, overrides: dict | None = None) -> dict:
    props = {
        "image": image(top=False),
        "command": {"type": "array", "items": STR},
        "args": {"type": "array", "items": STR},
        "replicaCount": NONNEG,
        "updateStrategy": obj({"type": {"enum": ["RollingUpdate", "Recreate"]}, "rollingUpdate": OBJ}),
        "resources": RESOURCES,
        "startupProbe": PROBE,
        "livenessProbe": PROBE,
        "readinessProbe": PROBE,
        "podSecurityContext": POD_SC,
        "containerSecurityContext": CONTAINER_SC,
        "env": {
            "type": "object",
            "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": {"type": "string", "description": "env values are strings; quote numbers"},
        },
        "extraEnv": {"type": "array", "items": obj({"name": STR}, required=["name"], extra=True)},
        "envFrom": {"type": "array", "items": OBJ},
        "tmpSizeLimit": {"anyOf": [QUANTITY, {"const": ""}]},
        "extraVolumes": {"type": "array", "items": obj({"name": STR}, required=["name"], extra=True)},
        "extraVolumeMounts": {
            "type": "array",
            "items": obj({"name": STR, "mountPath": STR}, required=["name", "mountPath"], extra=True),
        },
        "nodeSelector": STRMAP,
        "tolerations": {"type": "array", "items": OBJ},
        "podAntiAffinityPreset": {"enum": ["", "soft", "hard"]},
        "topologySpreadConstraints": {
            "type": "array",
            "items": obj(
                {
                    "maxSkew": POS,
                    "topologyKey": {"type": "string", "minLength": 1},
                    "whenUnsatisfiable": {"enum": ["DoNotSchedule", "ScheduleAnyway"]},
                },
                required=["maxSkew", "topologyKey", "whenUnsatisfiable"],
                extra=True,
            ),
        },
        "terminationGracePeriodSeconds": NONNEG,
        "podAnnotations": STRMAP,
        "podLabels": STRMAP,
        "pdb": PDB,
        "autoscaling": AUTOSCALING,
    }
    props.update(extra_props or {})
    for k, v in (overrides or {}).items():
        props[k] = v
    return obj(props)


SERVICE = obj(
    {
        "type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "annotations": STRMAP,
    }
)
WORKER_EXTRA = {
    "queues": {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]+$"}, "minItems": 1},
    "concurrency": POS,
    "taskTimeLimit": POS,
    "taskSoftTimeLimit": NONNEG,
    "metricsPort": {"type": "integer", "minimum": 1024, "maximum": 65535},
}


def dependency() -> dict:
    return obj(
        {
            "image": image(top=False),
            "resources": RESOURCES,
            "persistence": obj({"size": QUANTITY}),
            "podSecurityContext": POD_SC,
            "containerSecurityContext": CONTAINER_SC,
            "db": NONNEG,
            "database": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
            "username": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
        }
    )


def peer() -> dict:
    return obj({"namespaceSelector": STRMAP, "podSelector": STRMAP})


# the seed's externalSecrets block: each backend and the backendConfig keys it needs
SECRET_BACKENDS = {
    "aws-secrets-manager": ["secretName", "region"],
    "aws-parameter-store": ["secretName", "region"],
    "gcp-secret-manager": ["secretName", "projectID"],
    "azure-key-vault": ["secretName", "vaultUrl"],
    "vault": ["secretName", "server", "path"],
}
EXTERNAL_SECRETS = obj(
    {
        "backend": {"enum": ["", *SECRET_BACKENDS]},
        "backendConfig": obj(
            {
                "secretName": {"type": "string", "minLength": 1},
                "region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"},
                "role": STR,
                "projectID": {"type": "string", "minLength": 1},
                "vaultUrl": {"type": "string", "pattern": "^https://"},
                "tenantId": STR,
                "server": {"type": "string", "pattern": "^https?://"},
                "path": {"type": "string", "minLength": 1},
                "version": {"enum": ["v1", "v2"]},
                "auth": OBJ,
            }
        ),
    },
    allOf=[
        {
            "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
            "then": {
                "required": ["backend"],
                "properties": {
                    "backend": {"not": {"const": ""}, "description": "externalSecrets.enabled needs a backend"}
                },
            },
        },
        *(
            {
                "if": {
                    "properties": {"enabled": {"const": True}, "backend": {"const": backend}},
                    "required": ["enabled", "backend"],
                },
                "then": {"required": ["backendConfig"], "properties": {"backendConfig": {"required": keys}}},
            }
            for backend, keys in SECRET_BACKENDS.items()
        ),
    ],
)


def constraints() -> dict:
    beat = component(
        overrides={
            "replicaCount": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1,
                "description": "Celery beat runs exactly one replica; more would duplicate schedules",
            },
            "autoscaling": obj(
                {**AUTOSCALING["properties"], "enabled": {"const": False, "description": "beat cannot autoscale"}}
            ),
        }
    )
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "agent-service chart values",
        "type": "object",
        "additionalProperties": False,
        "required": ["image", "api", "worker", "beat", "flower", "migration", "secrets", "config", "environment"],
        "properties": {
            "global": obj({"imagePullSecrets": {"type": "array", "items": STR}}, extra=True),
            "nameOverride": {"type": "string", "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$", "maxLength": 40},
            "fullnameOverride": {"type": "string", "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$", "maxLength": 50},
            "commonLabels": STRMAP,
            "commonAnnotations": STRMAP,
            "environment": {"enum": ["development", "staging", "production"]},
            # the seed's pod security context for every application pod (templates/_compat.tpl)
            "podSecurityContext": obj({**POD_SC["properties"], "runAsNonRoot": BOOL}, extra=True),
            "externalSecrets": EXTERNAL_SECRETS,
            "image": image(top=True),
            "config": obj(
                {
                    "logLevel": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]},
                    "agentProvider": {"enum": ["offline", "openai"]},
                    "openaiBaseUrl": {"type": "string", "pattern": r"^(https?://.+)?$"},
                    "rateLimitPerMinute": NONNEG,
                    "httpToolAllowlist": {"type": "array", "items": {"type": "string", "pattern": HOSTNAME}},
                    "faultErrorRate": {"type": "number", "minimum": 0, "maximum": 1},
                    "faultLatencyMs": NONNEG,
                    "extra": {
                        "type": "object",
                        "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                        "additionalProperties": {"type": ["string", "number", "boolean"]},
                    },
                }
            ),
            "secrets": obj(
                {
                    "externalSecret": obj(
                        {
                            "apiVersion": {"type": "string", "pattern": r"^external-secrets\.io/v1(beta1)?$"},
                            "secretStoreRef": obj({"kind": {"enum": ["SecretStore", "ClusterSecretStore"]}}),
                            "data": {
                                "type": "array",
                                "items": obj({"secretKey": STR, "remoteRef": OBJ}, required=["secretKey", "remoteRef"]),
                            },
                        }
                    ),
                }
            ),
            "serviceAccount": obj({"annotations": STRMAP}),
            "rbac": obj({"rules": {"type": "array", "items": OBJ}}),
            # the API Service selects by traffic group, so a canary can join it (roles/release canary)
            "api": component(
                {
                    "service": obj({**SERVICE["properties"], "selectBy": {"enum": ["traffic", "release"]},
                                    "trafficGroup": TRAFFIC_GROUP}),
                    "trafficGroup": TRAFFIC_GROUP,
                }
            ),
            "worker": component(WORKER_EXTRA),
            "beat": beat,
            "flower": component({"service": SERVICE}),
            "migration": component(
                {"backoffLimit": NONNEG, "activeDeadlineSeconds": POS, "ttlSecondsAfterFinished": NONNEG}
            ),
            # additionalProperties: null or the worker block, set by build()
            "workerPools": {"type": "object", "propertyNames": {"pattern": DNS_LABEL, "maxLength": 20}},
            "ingress": obj(
                {
                    "annotations": STRMAP,
                    "hosts": {
                        "type": "array",
                        "items": obj(
                            {
                                "host": {"type": "string", "pattern": HOSTNAME, "description": "an RFC 1123 host name"},
                                "paths": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": obj(
                                        {
                                            "path": {"type": "string", "pattern": "^/"},
                                            "pathType": {"enum": ["Prefix", "Exact", "ImplementationSpecific"]},
                                        },
                                        required=["path", "pathType"],
                                    ),
                                },
                            },
                            required=["host", "paths"],
                        ),
                    },
                    "tls": {
                        "type": "array",
                        "items": obj(
                            {
                                "secretName": {"type": "string", "minLength": 1},
                                "hosts": {"type": "array", "items": {"type": "string", "pattern": HOSTNAME}},
                            },
                            required=["secretName"],
                        ),
                    },
                    "rateLimit": obj(
                        {"rps": NONNEG, "rpm": NONNEG, "burstMultiplier": POS, "connections": NONNEG},
                        **{
                            "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
                            "then": {
                                "description": "ingress.rateLimit.enabled needs rps, rpm or connections above 0",
                                "anyOf": [
                                    {"properties": {"rps": {"minimum": 1}}},
                                    {"properties": {"rpm": {"minimum": 1}}},
                                    {"properties": {"connections": {"minimum": 1}}},
                                ],
                            },
                        },
                    ),
                    "cors": obj(
                        {
                            "allowOrigins": {"type": "array", "items": {"type": "string", "pattern": CORS_ORIGIN}},
                            "allowMethods": {"type": "array", "minItems": 1, "items": {"enum": HTTP_METHODS}},
                            "allowHeaders": {"type": "array", "items": {"type": "string", "pattern": HEADER_NAME}},
                            "exposeHeaders": {"type": "array", "items": {"type": "string", "pattern": HEADER_NAME}},
                            "maxAge": NONNEG,
                        },
                        **{
                            "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
                            "then": {
                                "properties": {
                                    "allowOrigins": {
                                        "minItems": 1,
                                        "description": "ingress.cors.enabled needs at least one origin in allowOrigins",
                                    }
                                }
                            },
                        },
                    ),
                }
            ),
            "httpRoute": obj(
                {
                    "apiVersion": {"enum": ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]},
                    "annotations": STRMAP,
                    "parentRefs": {
                        "type": "array",
                        "items": obj(
                            {
                                "name": {"type": "string", "minLength": 1},
                                "namespace": {"type": "string", "pattern": DNS_LABEL},
                                "sectionName": STR,
                                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                "group": STR,
                                "kind": STR,
                            },
                            required=["name"],
                        ),
                    },
                    "hostnames": {"type": "array", "items": {"type": "string", "pattern": HOSTNAME}},
                    "matches": {"type": "array", "minItems": 1, "items": OBJ},
                    "filters": {"type": "array", "items": OBJ},
                    "timeouts": obj({"request": STR, "backendRequest": STR}),
                },
                **{
                    "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
                    "then": {
                        "properties": {
                            "parentRefs": {
                                "minItems": 1,
                                "description": "httpRoute.enabled needs a Gateway in parentRefs",
                            }
                        }
                    },
                },
            ),
            "persistence": obj(
                {
                    "accessModes": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"enum": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]},
                    },
                    "size": QUANTITY,
                    "mountPath": {"type": "string", "pattern": "^/"},
                    "annotations": STRMAP,
                }
            ),
            "metrics": obj(
                {
                    "serviceMonitor": obj(
                        {
                            "labels": STRMAP,
                            "interval": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"},
                            "podTargetLabels": {"type": "array", "items": STR},
                        }
                    )
                }
            ),
            # tracing: OTLP to a collector; an endpoint is required when enabled
            "tracing": obj(
                {
                    "endpoint": {"type": "string", "pattern": r"^(https?://[^\s/:]+(:[0-9]{1,5})?(/\S*)?)?$"},
                    "protocol": {"type": "string", "enum": ["http/protobuf", "grpc"]},
                    "samplerRatio": {"type": "number", "minimum": 0, "maximum": 1},
                },
                **{
                    "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
                    "then": {"properties": {"endpoint": {"minLength": 1}}},
                },
            ),
            "networkPolicy": obj(
                {
                    "ingressController": peer(),
                    "prometheus": peer(),
                    "dns": obj(
                        {
                            "namespaceSelector": STRMAP,
                            "podSelector": STRMAP,
                            # NetworkPolicyPort: a number or the pod's port name (an IANA_SVC_NAME)
                            "ports": {
                                "type": "array",
                                "minItems": 1,
                                "items": obj(
                                    {
                                        "port": {
                                            "anyOf": [
                                                {"type": "integer", "minimum": 1, "maximum": 65535},
                                                {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$"},
                                            ]
                                        },
                                        "protocol": {"enum": ["UDP", "TCP", "SCTP"]},
                                    },
                                    required=["port"],
                                ),
                            },
                        }
                    ),
                    "externalDatabaseCIDRs": {
                        "type": "array",
                        "items": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/[0-9]{1,3}$"},
                    },
                    "externalRedisCIDRs": {
                        "type": "array",
                        "items": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/[0-9]{1,3}$"},
                    },
                    "extraIngress": {"type": "array", "items": OBJ},
                    "extraEgress": {"type": "array", "items": OBJ},
                    "ingress": {"type": "array", "items": OBJ},
                }
            ),
            "externalDatabase": obj(
                {
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                }
            ),
            "externalRedis": obj({"port": {"type": "integer", "minimum": 1, "maximum": 65535}, "db": NONNEG}),
            "redis": dependency(),
            "postgresql": dependency(),
        },
    }


def infer(value) -> dict:
    """The schema a default implies: its type; a map with keys is closed and typed key by key.

    An empty map or list is left open: the user fills it with keys or items values.yaml cannot know.
    """
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array"}
    if isinstance(value, dict):
        return obj({k: infer(v) for k, v in value.items()}) if value else {"type": "object"}
    return {}


def merge(explicit: dict | None, inferred: dict) -> dict:
    """The explicit constraint wins; an explicit object with properties also gets the keys that only
    values.yaml has, so a key added to values.yaml is never refused. Keys follow values.yaml, then
    the keys only the constraints name."""
    if explicit is None:
        return inferred
    if "properties" in explicit and "properties" in inferred:
        given = explicit["properties"]
        props = {key: merge(given.get(key), sub) for key, sub in inferred["properties"].items()}
        props.update((key, sub) for key, sub in given.items() if key not in props)
        return {**explicit, "properties": props}
    return explicit


def build(values: dict) -> dict:
    schema = merge(constraints(), infer(values))
    props = schema["properties"]
    # a worker pool is a partial worker block merged over `worker`: the same keys, none required
    props["workerPools"]["additionalProperties"] = {"anyOf": [{"type": "null"}, props["worker"]]}
    return schema


def render(values_file: Path) -> str:
    values = yaml.safe_load(values_file.read_text())
    return json.dumps(build(values), indent=2, sort_keys=False) + "\n"
