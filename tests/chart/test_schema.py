"""values.schema.json: every environment passes, and bad values are refused before anything renders,
each with a message that names the key and the reason. test_generated.py checks the file is current."""

from __future__ import annotations

import re

import pytest
from conftest import CHART, ENVIRONMENTS, helm_template

# (id, values override, substrings the error must contain)
NEGATIVE = [
    ("negative-replicas", {"api": {"replicaCount": -1}}, ["/api/replicaCount", "minimum"]),
    ("service-select-by-unknown", {"api": {"service": {"selectBy": "pods"}}}, ["/api/service/selectBy"]),
    ("traffic-group-not-dns", {"api": {"trafficGroup": "Main_Release"}}, ["/api/trafficGroup"]),
    ("beat-more-than-one", {"beat": {"replicaCount": 2}}, ["/beat/replicaCount", "maximum: got 2, want 1"]),
    (
        "beat-autoscaling",
        {"beat": {"autoscaling": {"enabled": True}}},
        ["/beat/autoscaling/enabled", "value must be false"],
    ),
    (
        "env-value-not-string",
        {"worker": {"env": {"MAX_AGENTS": 5}}},
        ["/worker/env/MAX_AGENTS", "got number, want string"],
    ),
    (
        "env-key-invalid",
        {"api": {"env": {"BAD-NAME": "x"}}},
        ["invalid propertyName 'BAD-NAME'", "does not match pattern"],
    ),
    ("environment-unknown", {"environment": "qa"}, ["/environment", "value must be one of"]),
    ("environment-wrong-type", {"environment": 3}, ["/environment", "value must be one of"]),
    ("unknown-top-level-key", {"replicas": 3}, ["additional properties 'replicas' not allowed"]),
    (
        "unknown-component-key",
        {"worker": {"concurency": 3}},
        ["/worker", "additional properties 'concurency' not allowed"],
    ),
    ("image-tag-missing", {"image": {"tag": None}}, ["/image", "missing property 'tag'"]),
    ("image-tag-latest", {"image": {"tag": "latest", "allowRollingTag": False}}, ["/image/tag", "'not' failed"]),
    (
        "component-tag-latest-despite-rolling",
        {"image": {"allowRollingTag": True}, "worker": {"image": {"tag": "latest"}}},
        ["/worker/image/tag", "'not' failed"],
    ),
    ("allow-rolling-tag-not-bool", {"image": {"allowRollingTag": "yes"}}, ["/image/allowRollingTag", "want boolean"]),
    ("image-digest-malformed", {"image": {"digest": "sha256:xyz"}}, ["/image/digest", "does not match pattern"]),
    (
        "ingress-host-invalid",
        {
            "ingress": {
                "enabled": True,
                "hosts": [{"host": "Agent_Service.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            }
        },
        ["/ingress/hosts/0/host", "does not match pattern"],
    ),
    (
        "ingress-path-type",
        {"ingress": {"hosts": [{"host": "a.example.com", "paths": [{"path": "/", "pathType": "Any"}]}]}},
        ["/ingress/hosts/0/paths/0/pathType", "value must be one of"],
    ),
    (
        "http-probe-without-path",
        {"api": {"readinessProbe": {"path": ""}}},
        ["/api/readinessProbe/path", "does not match pattern '^/'"],
    ),
    (
        "exec-probe-without-command",
        {"worker": {"livenessProbe": {"command": []}}},
        ["/worker/livenessProbe/command", "minItems"],
    ),
    (
        "probe-type-unknown",
        {"api": {"livenessProbe": {"type": "grpcGet"}}},
        ["/api/livenessProbe/type", "value must be one of"],
    ),
    (
        "privilege-escalation",
        {"api": {"containerSecurityContext": {"allowPrivilegeEscalation": True}}},
        ["/api/containerSecurityContext/allowPrivilegeEscalation", "value must be false"],
    ),
    (
        "run-as-root",
        {"worker": {"podSecurityContext": {"runAsUser": 0}}},
        ["/worker/podSecurityContext/runAsUser", "minimum"],
    ),
    (
        "capability-added",
        {"api": {"containerSecurityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}},
        ["/api/containerSecurityContext/capabilities/add/0", "value must be"],
    ),
    ("resource-quantity", {"api": {"resources": {"limits": {"memory": "lots"}}}}, ["/api/resources/limits/memory"]),
    ("queue-list-empty", {"worker": {"queues": []}}, ["/worker/queues", "minItems"]),
    (
        "worker-pool-name",
        {"workerPools": {"Agents_Pool": {"queues": ["agents"]}}},
        ["invalid propertyName 'Agents_Pool'"],
    ),
    ("fault-rate-range", {"config": {"faultErrorRate": 1.5}}, ["/config/faultErrorRate", "maximum"]),
    ("log-level", {"config": {"logLevel": "verbose"}}, ["/config/logLevel", "value must be one of"]),
    (
        "anti-affinity-preset",
        {"api": {"podAntiAffinityPreset": "sometimes"}},
        ["/api/podAntiAffinityPreset", "value must be one of"],
    ),
    # the seed's keys (templates/_compat.tpl) are as strict as the chart's own
    (
        "seed-cpu-target-range",
        {"api": {"autoscaling": {"targetCPUUtilizationPercentage": 0}}},
        ["/api/autoscaling/targetCPUUtilizationPercentage"],
    ),
    (
        "seed-custom-metric-type",
        {"worker": {"autoscaling": {"customMetrics": [{"type": "Queue"}]}}},
        ["/worker/autoscaling/customMetrics/0/type", "value must be one of"],
    ),
    (
        "seed-external-secrets-backend",
        {"externalSecrets": {"enabled": True, "backend": "keepass", "backendConfig": {"secretName": "x"}}},
        ["/externalSecrets/backend", "value must be one of"],
    ),
    (
        "seed-external-secrets-no-backend",
        {"externalSecrets": {"enabled": True, "backendConfig": {"secretName": "x"}}},
        ["/externalSecrets/backend", "'not' failed"],
    ),
    (
        "seed-external-secrets-aws-no-region",
        {"externalSecrets": {"enabled": True, "backend": "aws-secrets-manager", "backendConfig": {"secretName": "x"}}},
        ["/externalSecrets/backendConfig", "missing property 'region'"],
    ),
    (
        "seed-external-secrets-vault-no-path",
        {
            "externalSecrets": {
                "enabled": True,
                "backend": "vault",
                "backendConfig": {"secretName": "x", "server": "https://vault:8200"},
            }
        },
        ["/externalSecrets/backendConfig", "missing property 'path'"],
    ),
    (
        "seed-external-secrets-unknown-key",
        {"externalSecrets": {"enabled": True, "backend": "aws-secrets-manager",
                             "backendConfig": {"secretName": "x", "region": "us-east-1", "regoin": "eu"}}},
        ["additional properties 'regoin' not allowed"],
    ),
    (
        "seed-pod-security-root",
        {"podSecurityContext": {"runAsUser": 0}},
        ["/podSecurityContext/runAsUser", "minimum"],
    ),
    (
        "seed-network-policy-ingress-type",
        {"networkPolicy": {"ingress": {"from": []}}},
        ["/networkPolicy/ingress", "want array"],
    ),
    (
        "dns-ports-empty",
        {"networkPolicy": {"dns": {"ports": []}}},
        ["/networkPolicy/dns/ports", "minItems"],
    ),
    (
        "dns-port-name",
        {"networkPolicy": {"dns": {"ports": [{"port": "DNS_UDP", "protocol": "UDP"}]}}},
        ["/networkPolicy/dns/ports/0/port"],
    ),
    (
        "servicemonitor-interval",
        {"metrics": {"serviceMonitor": {"interval": "30 seconds"}}},
        ["/metrics/serviceMonitor/interval", "does not match pattern"],
    ),
]

# valid per schema, refused by validateValues in the templates (combinations)
INVALID_COMBOS = [
    (
        "grace-not-above-time-limit",
        {"worker": {"terminationGracePeriodSeconds": 300, "taskTimeLimit": 300}},
        "terminationGracePeriodSeconds (300) must be greater than taskTimeLimit (300)",
    ),
    (
        "pool-grace-not-above-time-limit",
        {"workerPools": {"agents": {"queues": ["agents"], "taskTimeLimit": 4000}}},
        'worker pool "agents": terminationGracePeriodSeconds (360) must be greater than taskTimeLimit (4000)',
    ),
    (
        "soft-limit-above-hard",
        {"worker": {"taskSoftTimeLimit": 1900}},
        "taskSoftTimeLimit (1900) must be lower than taskTimeLimit",
    ),
    (
        "hpa-min-above-max",
        {"api": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}},
        "api.autoscaling: minReplicas (5) must not exceed maxReplicas (2)",
    ),
    (
        "pdb-both",
        {"api": {"pdb": {"create": True, "minAvailable": 1, "maxUnavailable": 1}}},
        "set minAvailable or maxUnavailable, not both",
    ),
    (
        "no-database",
        {"postgresql": {"enabled": False}, "externalDatabase": {"host": ""}},
        "externalDatabase.host is required",
    ),
    ("no-redis", {"redis": {"enabled": False}, "externalRedis": {"host": ""}}, "externalRedis.host is required"),
    (
        "secret-both-ways",
        {"secrets": {"existingSecret": "s", "externalSecret": {"enabled": True, "secretStoreRef": {"name": "v"}}}},
        "use either existingSecret or externalSecret.enabled",
    ),
    (
        "seed-external-secrets-beside-chart-form",
        {
            "secrets": {"externalSecret": {"enabled": True, "secretStoreRef": {"name": "v"}}},
            "externalSecrets": {"enabled": True, "backend": "aws-secrets-manager",
                                "backendConfig": {"secretName": "x", "region": "us-east-1"}},
        },
        "externalSecrets.enabled (the seed's form) cannot be combined with",
    ),
    (
        "external-secret-without-store",
        {"secrets": {"externalSecret": {"enabled": True}}},
        "secretStoreRef.name is required",
    ),
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_values_pass(env):
    helm_template("-f", str(CHART / f"values-{env}.yaml"))


def test_dev_takes_the_seeds_rolling_tag():
    """The seed's Quick Start installs dev with --set image.tag=latest: values-dev allows it."""
    out = helm_template("-f", str(CHART / "values-dev.yaml"), "--set", "image.tag=latest").stdout
    images = set(re.findall(r"image: (\S+agent-service\S*)", out))
    assert images == {"localhost/agent-service:latest"}, images


def test_negative_case_count():
    assert len(NEGATIVE) >= 10


@pytest.mark.parametrize("values,expected", [c[1:] for c in NEGATIVE], ids=[c[0] for c in NEGATIVE])
def test_schema_rejects(values, expected, tmp_path):
    proc = helm_template("-f", str(CHART / "values-dev.yaml"), values=values, tmp_path=tmp_path, check=False)
    assert proc.returncode != 0, f"accepted: {values}"
    assert "values don't meet the specifications of the schema" in proc.stderr, proc.stderr
    for fragment in expected:
        assert fragment in proc.stderr, f"{fragment!r} not in:\n{proc.stderr}"


@pytest.mark.parametrize("values,expected", [c[1:] for c in INVALID_COMBOS], ids=[c[0] for c in INVALID_COMBOS])
def test_validate_values_rejects(values, expected, tmp_path):
    proc = helm_template("-f", str(CHART / "values-dev.yaml"), values=values, tmp_path=tmp_path, check=False)
    assert proc.returncode != 0, f"accepted: {values}"
    assert "VALUES VALIDATION" in proc.stderr, proc.stderr
    assert expected in proc.stderr, proc.stderr
