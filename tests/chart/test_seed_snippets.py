"""The seed's values examples work as written, with the meaning the seed gives them.

fixtures/seed/ holds the YAML blocks of the seed's section 1 ("Parameterization Highlights") and
section 6 ("Configuration Examples") verbatim. The highlights block repeats the top-level key `api`
under its comments, which YAML resolves by keeping the last one, so it is split at its comment
lines into the fragments it lists. Each fragment or example is rendered over the chart's defaults
and over the prod values, validated by kubeconform in strict mode (CRD kinds included, none
skipped), and checked for what it means.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import CHART, helm_template, kubeconform

SEED = Path(__file__).parent / "fixtures" / "seed"
# the release and namespace helm_template renders with
FULLNAME = "t-agent-service"
# what the chart's defaults leave open: the external data stores (their hosts have no default)
BASES = {
    "defaults": ["--set", "externalDatabase.host=db.internal", "--set", "externalRedis.host=redis.internal"],
    "prod": ["-f", str(CHART / "values-prod.yaml")],
}
APP_COMPONENTS = {"api", "worker", "beat", "flower", "migration"}


def highlight_fragments() -> dict[str, str]:
    """The highlights block split at its `# Title` lines: {"resource-configuration": text, ...}."""
    text = (SEED / "parameterization-highlights.yaml").read_text()
    parts = re.split(r"^# (.+)\n", text, flags=re.M)
    assert parts[0].strip() == "", "the block starts with a comment line"
    return {title.lower().replace(" ", "-"): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def snippets() -> dict[str, str]:
    found = {f"highlights/{name}": body for name, body in highlight_fragments().items()}
    for name in ("external-secrets", "custom-autoscaling", "network-policy"):
        found[name] = (SEED / f"{name}.yaml").read_text()
    return found


SNIPPETS = snippets()


def render(snippet: str, base: str, tmp_path: Path, *extra: str) -> list[dict]:
    """The snippet over a base, then `extra` (what a base must give up for the snippet to apply)."""
    values = tmp_path / "seed.yaml"
    values.write_text(SNIPPETS[snippet])
    proc = helm_template(*BASES[base], "-f", str(values), *extra)
    conform(proc.stdout)
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def conform(manifests: str) -> None:
    """kubeconform -strict: every document valid, none skipped (the CRD kinds have schemas)."""
    rc, report = kubeconform(manifests)
    bad = [r for r in report["resources"] if r["status"] != "statusValid"]
    assert rc == 0 and not bad, f"kubeconform:\n{json.dumps(bad, indent=1)}"
    assert report["summary"]["skipped"] == 0, report["summary"]


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_specs(docs: list[dict]) -> dict[str, dict]:
    """Every pod template of the release, by "<Kind>/<name>"."""
    return {
        f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet", "Job")
    }


def component_of(doc: dict) -> str:
    return doc["metadata"]["labels"]["app.kubernetes.io/component"]


def hpa_for(docs: list[dict], deployment: str) -> dict:
    hpas = by_kind(docs, "HorizontalPodAutoscaler").values()
    hpas = [h for h in hpas if h["spec"]["scaleTargetRef"]["name"] == deployment]
    assert len(hpas) == 1, f"one HPA for {deployment}: {[h['metadata']['name'] for h in hpas]}"
    return hpas[0]


def cpu_target(hpa: dict) -> int | None:
    for m in hpa["spec"]["metrics"]:
        if m["type"] == "Resource" and m["resource"]["name"] == "cpu":
            return m["resource"]["target"]["averageUtilization"]
    return None


def test_the_fixtures_are_the_seed_blocks():
    """Eight snippets: five highlight fragments and three configuration examples, none empty."""
    assert sorted(SNIPPETS) == [
        "custom-autoscaling",
        "external-secrets",
        "highlights/autoscaling",
        "highlights/ingress",
        "highlights/resource-configuration",
        "highlights/security",
        "highlights/worker-configuration",
        "network-policy",
    ]
    for name, text in SNIPPETS.items():
        assert yaml.safe_load(text), name


@pytest.fixture(params=sorted(BASES))
def base(request) -> str:
    return request.param


def test_resources(base, tmp_path):
    docs = render("highlights/resource-configuration", base, tmp_path)
    api = by_kind(docs, "Deployment")[f"{FULLNAME}-api"]
    res = api["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert (res["limits"]["cpu"], res["limits"]["memory"]) == ("1000m", "1Gi")
    assert (res["requests"]["cpu"], res["requests"]["memory"]) == ("500m", "512Mi")


def test_autoscaling_cpu_70(base, tmp_path):
    docs = render("highlights/autoscaling", base, tmp_path)
    hpa = hpa_for(docs, f"{FULLNAME}-api")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert cpu_target(hpa) == 70
    # the HPA owns the replica count
    assert "replicas" not in by_kind(docs, "Deployment")[f"{FULLNAME}-api"]["spec"]


def test_worker_concurrency_and_replicas(base, tmp_path):
    docs = render("highlights/worker-configuration", base, tmp_path)
    worker = by_kind(docs, "Deployment")[f"{FULLNAME}-worker"]
    if base == "prod":
        # prod autoscales the worker: the HPA owns the replica count and replicaCount is unused
        assert "replicas" not in worker["spec"] and hpa_for(docs, f"{FULLNAME}-worker")
    else:
        assert worker["spec"]["replicas"] == 2
    env = {e["name"]: e.get("value") for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CELERY_CONCURRENCY"] == "4"


def test_security_every_pod_runs_as_1000(base, tmp_path):
    # Flower is off by default; on, so that every application component is rendered
    docs = render("highlights/security", base, tmp_path, "--set", "flower.enabled=true")
    pods = pod_specs(docs)
    assert {component_of(d) for d in docs if f"{d['kind']}/{d['metadata']['name']}" in pods} == APP_COMPONENTS
    for name, spec in pods.items():
        assert spec["securityContext"]["runAsUser"] == 1000, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for c in spec["containers"] + spec.get("initContainers", []):
            # a container's own runAsUser would win over the pod's
            assert c.get("securityContext", {}).get("runAsUser", 1000) == 1000, f"{name}/{c['name']}"


def test_ingress_nginx_host(base, tmp_path):
    docs = render("highlights/ingress", base, tmp_path)
    ingresses = list(by_kind(docs, "Ingress").values())
    assert len(ingresses) == 1
    spec = ingresses[0]["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert [r["host"] for r in spec["rules"]] == ["api.example.com"]
    path = spec["rules"][0]["http"]["paths"][0]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"]["service"]["name"] == FULLNAME


def test_external_secrets_aws(base, tmp_path):
    # prod reads an existingSecret, which the seed's form replaces (both at once is an error: test_schema.py)
    docs = render("external-secrets", base, tmp_path, "--set", "secrets.existingSecret=")
    stores = by_kind(docs, "SecretStore")
    externals = by_kind(docs, "ExternalSecret")
    assert list(stores) == [FULLNAME] and list(externals) == [FULLNAME]
    store, external = stores[FULLNAME], externals[FULLNAME]
    assert store["apiVersion"] == external["apiVersion"] == "external-secrets.io/v1"
    assert store["spec"]["provider"] == {"aws": {"service": "SecretsManager", "region": "us-east-1"}}
    assert external["spec"]["secretStoreRef"] == {"name": FULLNAME, "kind": "SecretStore"}
    assert external["spec"]["dataFrom"] == [{"extract": {"key": "agent-service/production"}}]
    # the Secret it fills is the one the pods read, and the chart renders no Secret of its own
    target = external["spec"]["target"]["name"]
    assert not by_kind(docs, "Secret")
    api = by_kind(docs, "Deployment")[f"{FULLNAME}-api"]["spec"]["template"]["spec"]["containers"][0]
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in api["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert refs == {target}
    # the store exists before the ExternalSecret, and both before the migration hook (weight 0)
    weights = [int(d["metadata"]["annotations"]["helm.sh/hook-weight"]) for d in (store, external)]
    assert weights[0] < weights[1] < 0


def test_custom_autoscaling(base, tmp_path):
    docs = render("custom-autoscaling", base, tmp_path)
    seed = yaml.safe_load(SNIPPETS["custom-autoscaling"])
    api = hpa_for(docs, f"{FULLNAME}-api")
    assert (api["spec"]["minReplicas"], api["spec"]["maxReplicas"], cpu_target(api)) == (5, 30, 60)
    worker = hpa_for(docs, f"{FULLNAME}-worker")
    assert (worker["spec"]["minReplicas"], worker["spec"]["maxReplicas"]) == (10, 100)
    custom = seed["worker"]["autoscaling"]["customMetrics"]
    # appended after the chart's own metrics, exactly as given
    assert worker["spec"]["metrics"][-len(custom):] == custom
    assert len(worker["spec"]["metrics"]) > len(custom)


def test_network_policy_ingress(base, tmp_path):
    docs = render("network-policy", base, tmp_path)
    rules = yaml.safe_load(SNIPPETS["network-policy"])["networkPolicy"]["ingress"]
    policies = by_kind(docs, "NetworkPolicy")
    api = policies[f"{FULLNAME}-api-ingress"]
    assert api["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    assert api["spec"]["ingress"][-len(rules):] == rules
    # the rule is the API's only: no other policy carries it
    others = [
        n for n, p in policies.items() if n != api["metadata"]["name"] and rules[0] in p["spec"].get("ingress", [])
    ]
    assert others == []
    assert f"{FULLNAME}-default-deny" in policies


def test_seed_and_chart_keys_render_alike(tmp_path):
    """The seed's key and the chart's give the same objects."""
    seed = helm_template(*BASES["defaults"], "--set", "api.autoscaling.enabled=true",
                         "--set", "api.autoscaling.targetCPUUtilizationPercentage=55",
                         "--set", "api.autoscaling.targetCPU=", "--show-only", "templates/hpa.yaml")
    chart = helm_template(*BASES["defaults"], "--set", "api.autoscaling.enabled=true",
                          "--set", "api.autoscaling.targetCPU=55", "--show-only", "templates/hpa.yaml")
    assert seed.stdout == chart.stdout
    rule = [{"from": [{"podSelector": {"matchLabels": {"role": "probe"}}}], "ports": [{"port": 8000}]}]
    show = ("--show-only", "templates/networkpolicy.yaml")
    a = helm_template(*BASES["defaults"], *show, values={"networkPolicy": {"enabled": True, "ingress": rule}},
                      tmp_path=tmp_path)
    b = helm_template(*BASES["defaults"], *show, values={"networkPolicy": {"enabled": True, "extraIngress": rule}},
                      tmp_path=tmp_path)
    assert a.stdout == b.stdout and "role: probe" in a.stdout


def test_crd_kinds_rendered_conform(tmp_path):
    """The chart's own CRD objects (HTTPRoute, ServiceMonitor, the chart's ExternalSecret form) pass
    kubeconform -strict against the CRD schemas, none skipped."""
    values = {
        "httpRoute": {"enabled": True, "parentRefs": [{"name": "public", "namespace": "gateway"}],
                      "hostnames": ["api.example.com"]},
        "metrics": {"serviceMonitor": {"enabled": True}},
        "secrets": {"existingSecret": "", "externalSecret": {
            "enabled": True, "secretStoreRef": {"name": "vault"},
            "data": [{"secretKey": "POSTGRES_PASSWORD", "remoteRef": {"key": "agents", "property": "pg"}}]}},
    }
    proc = helm_template("-f", str(CHART / "values-prod.yaml"), values=values, tmp_path=tmp_path)
    conform(proc.stdout)
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    kinds = {(d["apiVersion"], d["kind"]) for d in docs}
    assert {("gateway.networking.k8s.io/v1", "HTTPRoute"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
            ("external-secrets.io/v1", "ExternalSecret")} <= kinds
    route = by_kind(docs, "HTTPRoute")[FULLNAME]["spec"]
    assert route["parentRefs"] == values["httpRoute"]["parentRefs"]
    assert route["rules"][0]["backendRefs"] == [{"name": FULLNAME, "port": 80}]
