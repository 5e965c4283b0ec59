#!/usr/bin/env python3
"""Generate helm/agent-service/values.schema.json.

The five component blocks (api, worker, beat, flower, migration) share one definition, so the
schema is written as code and the JSON is generated from it; tests/chart/test_schema.py checks that
the committed file is up to date. Run: python tests/chart/gen_values_schema.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "helm" / "agent-service" / "values.schema.json"

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
PERCENT_OR_INT = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^([0-9]+%?)?$"}]}


def obj(props: dict, required: list | None = None, extra: bool = False, **kw) -> dict:
    d = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        d["required"] = required
    d.update(kw)
    return d


def image(top: bool) -> dict:
    tag = {
        "type": "string",
        "description": "image tag; a rolling tag like latest is refused",
        "anyOf": [{"const": ""}, {"pattern": TAG, "not": {"const": "latest"}}],
    }
    props = {
        "registry": STR,
        "repository": {"type": "string", "minLength": 0 if not top else 1},
        "tag": tag,
        "digest": {"type": "string", "pattern": DIGEST},
        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"] + ([] if top else [""])},
    }
    return obj(props, required=["repository", "tag"] if top else None)


PROBE = obj(
    {
        "enabled": BOOL,
        "type": {"enum": ["httpGet", "exec", "tcpSocket"]},
        "path": STR,
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
        "enabled": BOOL,
        "runAsNonRoot": BOOL,
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
        "enabled": BOOL,
        "runAsNonRoot": BOOL,
        "runAsUser": POS,
        "runAsGroup": POS,
        "privileged": {"const": False},
        "readOnlyRootFilesystem": BOOL,
        "allowPrivilegeEscalation": {"const": False, "description": "PSS restricted forbids privilege escalation"},
        "capabilities": obj(
            {"drop": {"type": "array", "items": STR}, "add": {"type": "array", "items": {"enum": ["NET_BIND_SERVICE"]}}}
        ),
        "seccompProfile": SECCOMP,
    },
    extra=True,
)

AUTOSCALING = obj(
    {
        "enabled": BOOL,
        "minReplicas": POS,
        "maxReplicas": POS,
        "targetCPU": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000}, {"const": ""}, {"type": "null"}]},
        "targetMemory": {
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000}, {"const": ""}, {"type": "null"}]
        },
        "queueLength": obj(
            {"enabled": BOOL, "averageValue": {"type": ["string", "integer"], "pattern": r"^[0-9]+(\.[0-9]+)?m?$"}}
        ),
        "behavior": OBJ,
    }
)
PDB = obj({"create": BOOL, "minAvailable": PERCENT_OR_INT, "maxUnavailable": PERCENT_OR_INT})


def component(extra_props: dict | None = None, overrides: dict | None = None) -> dict:
    props = {
        "enabled": BOOL,
        "image": image(top=False),
        "command": {"type": "array", "items": STR},
        "args": {"type": "array", "items": STR},
        "replicaCount": NONNEG,
        "updateStrategy": obj({"type": {"enum": ["RollingUpdate", "Recreate"]}, "rollingUpdate": OBJ}),
        "resources": RESOURCES,
        "startupProbe": PROBE,
        "livenessProbe": PROBE,
        "readinessProbe": PROBE,
        "customStartupProbe": OBJ,
        "customLivenessProbe": OBJ,
        "customReadinessProbe": OBJ,
        "podSecurityContext": POD_SC,
        "containerSecurityContext": CONTAINER_SC,
        "env": {
            "type": "object",
            "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": {"type": "string", "description": "env values are strings; quote numbers"},
        },
        "extraEnv": {"type": "array", "items": obj({"name": STR}, required=["name"], extra=True)},
        "envFrom": {"type": "array", "items": OBJ},
        "mountPersistence": BOOL,
        "tmpSizeLimit": {"anyOf": [QUANTITY, {"const": ""}]},
        "extraVolumes": {"type": "array", "items": obj({"name": STR}, required=["name"], extra=True)},
        "extraVolumeMounts": {
            "type": "array",
            "items": obj({"name": STR, "mountPath": STR}, required=["name", "mountPath"], extra=True),
        },
        "nodeSelector": STRMAP,
        "tolerations": {"type": "array", "items": OBJ},
        "affinity": OBJ,
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
        "priorityClassName": STR,
        "terminationGracePeriodSeconds": NONNEG,
        "lifecycle": OBJ,
        "podAnnotations": STRMAP,
        "podLabels": STRMAP,
        "automountServiceAccountToken": BOOL,
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
            "enabled": BOOL,
            "image": image(top=False),
            "resources": RESOURCES,
            "persistence": obj({"enabled": BOOL, "size": QUANTITY, "storageClass": STR}),
            "podSecurityContext": POD_SC,
            "containerSecurityContext": CONTAINER_SC,
            "db": NONNEG,
            "database": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
            "username": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
        }
    )


def peer() -> dict:
    return obj({"namespaceSelector": STRMAP, "podSelector": STRMAP})


def schema() -> dict:
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
            "global": obj({"imageRegistry": STR, "imagePullSecrets": {"type": "array", "items": STR}}, extra=True),
            "nameOverride": {"type": "string", "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$", "maxLength": 40},
            "fullnameOverride": {"type": "string", "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$", "maxLength": 50},
            "commonLabels": STRMAP,
            "commonAnnotations": STRMAP,
            "environment": {"enum": ["development", "staging", "production"]},
            "image": image(top=True),
            "config": obj(
                {
                    "logLevel": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]},
                    "agentProvider": {"enum": ["offline", "openai"]},
                    "openaiBaseUrl": {"type": "string", "pattern": r"^(https?://.+)?$"},
                    "openaiModel": STR,
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
                    "existingSecret": STR,
                    "postgresPassword": STR,
                    "redisPassword": STR,
                    "openaiApiKey": STR,
                    "externalSecret": obj(
                        {
                            "enabled": BOOL,
                            "apiVersion": {"type": "string", "pattern": r"^external-secrets\.io/v1(beta1)?$"},
                            "refreshInterval": STR,
                            "secretStoreRef": obj(
                                {"name": STR, "kind": {"enum": ["SecretStore", "ClusterSecretStore"]}}
                            ),
                            "data": {
                                "type": "array",
                                "items": obj({"secretKey": STR, "remoteRef": OBJ}, required=["secretKey", "remoteRef"]),
                            },
                        }
                    ),
                }
            ),
            "serviceAccount": obj(
                {"create": BOOL, "name": STR, "annotations": STRMAP, "automountServiceAccountToken": BOOL}
            ),
            "rbac": obj({"create": BOOL, "rules": {"type": "array", "items": OBJ}}),
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
            "workerPools": {
                "type": "object",
                "propertyNames": {"pattern": DNS_LABEL, "maxLength": 20},
                "additionalProperties": {"anyOf": [{"type": "null"}, component(WORKER_EXTRA)]},
            },
            "ingress": obj(
                {
                    "enabled": BOOL,
                    "className": STR,
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
                }
            ),
            "persistence": obj(
                {
                    "enabled": BOOL,
                    "existingClaim": STR,
                    "storageClass": STR,
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
                            "enabled": BOOL,
                            "labels": STRMAP,
                            "interval": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"},
                            "podTargetLabels": {"type": "array", "items": STR},
                        }
                    )
                }
            ),
            # tracing (issue 10): OTLP to a collector; an endpoint is required when enabled
            "tracing": obj(
                {
                    "enabled": BOOL,
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
                    "enabled": BOOL,
                    "ingressController": peer(),
                    "prometheus": peer(),
                    "dns": peer(),
                    "externalDatabaseCIDRs": {
                        "type": "array",
                        "items": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/[0-9]{1,3}$"},
                    },
                    "externalRedisCIDRs": {
                        "type": "array",
                        "items": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/[0-9]{1,3}$"},
                    },
                    "allowHTTPSEgress": BOOL,
                    "extraIngress": {"type": "array", "items": OBJ},
                    "extraEgress": {"type": "array", "items": OBJ},
                }
            ),
            "externalDatabase": obj(
                {
                    "host": STR,
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "database": STR,
                    "username": STR,
                }
            ),
            "externalRedis": obj(
                {"host": STR, "port": {"type": "integer", "minimum": 1, "maximum": 65535}, "db": NONNEG}
            ),
            "redis": dependency(),
            "postgresql": dependency(),
        },
    }


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if SCHEMA_PATH.read_text() != text:
            print(f"{SCHEMA_PATH} is stale: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text)
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
