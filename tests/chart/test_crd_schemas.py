"""kubeconform -strict with the generated schemas (make chart-schemas) validates the CRD kinds the
chart may render: external-secrets.io SecretStore and ExternalSecret, gateway.networking.k8s.io
HTTPRoute and Gateway, monitoring.coreos.com ServiceMonitor. Hand-written manifests: the correct
ones are valid (none skipped), and a copy of each with a misspelt field is invalid, naming it."""
from __future__ import annotations

import copy
import functools

import pytest
import yaml
from conftest import kubeconform as run_kubeconform

NS = {"namespace": "agents", "labels": {"app.kubernetes.io/name": "agent-service"}}

VALID = {
    "aws-secrets-manager": {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": "aws-secrets-manager", **NS},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}}},
    },
    # the same store at the older served version
    "aws-secrets-manager-v1beta1": {
        "apiVersion": "external-secrets.io/v1beta1",
        "kind": "SecretStore",
        "metadata": {"name": "aws-secrets-manager-v1beta1", **NS},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}}},
    },
    "agent-service-env": {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "agent-service-env", **NS},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "SecretStore", "name": "aws-secrets-manager"},
            "target": {"name": "agent-service-env", "creationPolicy": "Owner"},
            "dataFrom": [{"extract": {"key": "agent-service/production"}}],
        },
    },
    "public": {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "public", **NS},
        "spec": {
            "gatewayClassName": "example",
            # Hostname and IPAddress addresses: the CRD's oneOf on type/value, with no strictness in it
            "addresses": [
                {"type": "Hostname", "value": "gw.example.com"},
                {"type": "IPAddress", "value": "192.0.2.10"},
            ],
            "listeners": [{"name": "http", "protocol": "HTTP", "port": 80, "hostname": "agents.example.com"}],
        },
    },
    "agent-service": {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "agent-service", **NS},
        "spec": {
            "parentRefs": [{"name": "public", "sectionName": "http"}],
            "hostnames": ["agents.example.com"],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                "backendRefs": [{"name": "agent-service", "port": 80}],
            }],
        },
    },
    "agent-service-metrics": {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "agent-service-metrics", **NS},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "agent-service"}},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "targetPort": 8080}],
        },
    },
}


def misspell(doc: dict, path: str, wrong: str) -> dict:
    """A copy of doc whose key at path (dots; digits index lists) is renamed to wrong."""
    doc = copy.deepcopy(doc)
    *parents, key = path.split(".")
    node = doc
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[wrong] = node.pop(key)
    return doc


# name of the copy: (name of the valid manifest, key path, misspelt key, JSON pointer of the object holding it)
MISSPELT = {
    "regoin": ("aws-secrets-manager", "spec.provider.aws.region", "regoin", "/spec/provider/aws"),
    "extarct": ("agent-service-env", "spec.dataFrom.0.extract", "extarct", "/spec/dataFrom/0"),
    "lables": ("agent-service-env", "metadata.labels", "lables", "/metadata"),
    "parentref": ("agent-service", "spec.parentRefs", "parentRef", "/spec"),
    "backendref-prot": ("agent-service", "spec.rules.0.backendRefs.0.port", "prot", "/spec/rules/0/backendRefs/0"),
    "intervall": ("agent-service-metrics", "spec.endpoints.0.interval", "intervall", "/spec/endpoints/0"),
}


def invalid_manifests() -> dict[str, dict]:
    out = {}
    for name, (base, path, wrong, _) in MISSPELT.items():
        doc = misspell(VALID[base], path, wrong)
        doc["metadata"]["name"] = name
        out[name] = doc
    return out


@functools.cache
def kubeconform() -> tuple[dict[str, dict], dict, list[str]]:
    """kubeconform's per-resource results (by name) and summary for every manifest above."""
    docs = [*VALID.values(), *invalid_manifests().values()]
    _rc, out = run_kubeconform(yaml.safe_dump_all(docs, sort_keys=False))
    by_name: dict[str, dict] = {}
    for r in out["resources"]:
        assert r["name"] not in by_name, f"{r['name']} reported twice"
        by_name[r["name"]] = r
    return by_name, out["summary"], [d["metadata"]["name"] for d in docs]


def test_every_manifest_is_reported_none_skipped():
    results, summary, names = kubeconform()
    assert sorted(results) == sorted(names)
    assert summary["skipped"] == summary["errors"] == 0, summary
    assert summary["valid"] == len(VALID) and summary["invalid"] == len(MISSPELT), summary


@pytest.mark.parametrize("name", list(VALID))
def test_valid(name):
    r = kubeconform()[0][name]
    doc = VALID[name]
    assert (r["kind"], r["version"]) == (doc["kind"], doc["apiVersion"])
    assert r["status"] == "statusValid", r


@pytest.mark.parametrize("name", list(MISSPELT))
def test_misspelt_field_is_invalid(name):
    base, _, wrong, pointer = MISSPELT[name]
    r = kubeconform()[0][name]
    assert (r["kind"], r["version"]) == (VALID[base]["kind"], VALID[base]["apiVersion"])
    assert r["status"] == "statusInvalid", r
    # the message names the field and where it is; validationErrors has only the path when the
    # error is below a $ref (metadata: ObjectMeta)
    assert f"at '{pointer}': additional properties '{wrong}' not allowed" in r["msg"], r["msg"]
    assert pointer in {e["path"] for e in r["validationErrors"]}, r["validationErrors"]
