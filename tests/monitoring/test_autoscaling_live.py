"""The external metrics adapter and the chart's HPAs on the test bed (part of `make monitoring-live-test`).

roles/monitoring_stack (operator mode) serves external.metrics.k8s.io from Prometheus with our adapter
(monitoring/images/external-metrics-adapter). This module deploys the Agent Service chart in its own
namespace with the worker HPA on the External metric celery_queue_length (short HPA behavior windows,
small requests: two shared CPUs) and the API HPA on CPU, then checks:

* the adapter's answer equals Prometheus' answer to the same expression;
* a backlog of slow invocations (the diagnostics agent's `sleep` tool) scales the worker up, and the
  drained queue scales it back down (timings in $RESULTS/monitoring/autoscaling-report.json);
* the API HPA reads CPU from metrics-server;
* an HPA on an external metric the adapter does not define reports ScalingActive=False with the
  reason, and the adapter answers NotFound (a selector on a label it does not allow: BadRequest).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

import pytest
import yaml
from conftest import http_json, install_app, kget, kubectl, results_dir, wait_for

pytestmark = pytest.mark.live

NS = os.environ.get("MONITORING_AUTOSCALING_NAMESPACE", "mon-autoscale")
RELEASE = "agent-service"
WORKER = f"{RELEASE}-worker"
API = f"{RELEASE}-api"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
QUERY = 'max by (queue) (celery_queue_length{{namespace="{ns}",queue="{queue}"}})'
WORKER_MIN, WORKER_MAX = 1, 3
TARGET_PER_REPLICA = 4     # averageValue of celery_queue_length per worker replica
INVOCATIONS, SLEEP = 30, 20  # 30 x 20 s on 2 slots (concurrency 2) per worker: ~5 min for one worker
REPORT: dict = {}

# Only the queue length drives the worker (no CPU/memory metrics); short windows so that the test
# sees both directions within minutes; the chart's defaults are production-like (60 s / 300 s).
VALUES = {
    "api": {"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 2, "targetCPU": 90, "targetMemory": ""}},
    "worker": {
        "concurrency": 2,
        "resources": {"requests": {"cpu": "20m", "memory": "192Mi", "ephemeral-storage": "50Mi"},
                      "limits": {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "1Gi"}},
        "autoscaling": {
            "enabled": True, "minReplicas": WORKER_MIN, "maxReplicas": WORKER_MAX, "targetCPU": "", "targetMemory": "",
            "queueLength": {"enabled": True, "averageValue": str(TARGET_PER_REPLICA)},
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 15}]},
                "scaleDown": {"stabilizationWindowSeconds": 30, "selectPolicy": "Max",
                              "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
            },
        },
    },
    "flower": {"enabled": False},
}


def quantity(text: str) -> Decimal:
    """A Kubernetes quantity as the adapter writes it (DecimalSI: "12", "500m", "1500k", "1e18")."""
    suffixes = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": Decimal(1000),
                "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"),
                "E": Decimal("1e18")}
    if text and text[-1] in suffixes:
        return Decimal(text[:-1]) * suffixes[text[-1]]
    return Decimal(text)


def raw(path: str) -> subprocess.CompletedProcess:
    return kubectl("get", "--raw", path, check=False)


def external(metric: str, selector: str, ns: str = NS) -> dict:
    proc = raw(f"{EXTERNAL}/namespaces/{ns}/{metric}?" + urllib.parse.urlencode({"labelSelector": selector}))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def prom_value(stack, expr: str) -> list:
    body = http_json(f"{stack['prometheus']}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert body["status"] == "success", body
    return body["data"]["result"]


def hpa(name: str) -> dict:
    return kget("hpa", "-n", NS, name)


def condition(obj: dict, kind: str) -> dict:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), {})


def worker_state() -> dict:
    """The worker HPA, its Deployment, its pods (terminating ones too: they finish their tasks on the way
    out) and the agents queue length as the HPA reads it (from the adapter)."""
    h, d = hpa(WORKER), kget("deployment", "-n", NS, WORKER)
    selector = ",".join(f"{k}={v}" for k, v in d["spec"]["selector"]["matchLabels"].items())
    pods = kget("pods", "-n", NS, "-l", selector)["items"]
    items = external("celery_queue_length", "queue=agents")["items"]
    return {"queue": str(quantity(items[0]["value"])) if items else None,
            "desired": h["status"].get("desiredReplicas"), "current": h["status"].get("currentReplicas"),
            "spec": d["spec"].get("replicas"), "ready": d["status"].get("readyReplicas", 0),
            "pods": len(pods), "terminating": sum(1 for p in pods if p["metadata"].get("deletionTimestamp"))}


@pytest.fixture(scope="module")
def adapter(stack):
    """The APIService the role registered is Available (served by the adapter)."""
    svc = wait_for("v1beta1.external.metrics.k8s.io Available", lambda: condition(
        kget("apiservice", "v1beta1.external.metrics.k8s.io"), "Available").get("status") == "True", 180)
    assert svc
    spec = kget("apiservice", "v1beta1.external.metrics.k8s.io")["spec"]
    assert spec["service"]["name"] == "external-metrics-adapter", spec
    return stack


@pytest.fixture(scope="module")
def app(adapter):
    values = results_dir() / "autoscaling-values.yaml"
    values.write_text(yaml.safe_dump(VALUES, sort_keys=False))
    kubectl("create", "namespace", NS, check=False)
    api, REPORT["app_install_seconds"] = install_app(RELEASE, NS, values)
    wait_for("the API to answer /ready",
             lambda: urllib.request.urlopen(f"{api}/ready", timeout=5).status == 200, 120, 2)
    yield {"api": api}
    if os.environ.get("MONITORING_LIVE_KEEP") != "1":
        # wait: the next module's app needs the CPU back
        kubectl("delete", "namespace", NS, "--wait=true", "--timeout=300s", check=False)


@pytest.fixture(scope="module")
def queue_metric_scraped(adapter, app):
    """Prometheus has the worker's celery_queue_length for this namespace."""
    wait_for("celery_queue_length of this namespace in Prometheus",
             lambda: prom_value(adapter, QUERY.format(ns=NS, queue="default")), 240)


def test_adapter_answers_what_prometheus_has(adapter, queue_metric_scraped):
    body = external("celery_queue_length", "queue=default")
    assert body["kind"] == "ExternalMetricValueList", body
    assert [i["metricLabels"] for i in body["items"]] == [{"queue": "default"}], body
    direct = prom_value(adapter, QUERY.format(ns=NS, queue="default"))
    assert quantity(body["items"][0]["value"]) == Decimal(direct[0]["value"][1]), (body, direct)
    # another namespace's HPA sees only its own namespace's series
    assert external("celery_queue_length", "queue=default", ns="kube-system")["items"] == []
    REPORT["adapter_default_queue"] = body["items"][0]["value"]


def test_unknown_metric_is_not_found_and_a_foreign_label_is_refused(adapter):
    unknown = raw(f"{EXTERNAL}/namespaces/{NS}/no_such_metric?labelSelector=queue%3Ddefault")
    assert unknown.returncode != 0 and "NotFound" in unknown.stderr and "no_such_metric" in unknown.stderr, \
        unknown.stderr
    foreign = raw(f"{EXTERNAL}/namespaces/{NS}/celery_queue_length?labelSelector=job%3Dworker")
    assert foreign.returncode != 0 and "BadRequest" in foreign.stderr, foreign.stderr
    assert '"job" may not be selected' in foreign.stderr, foreign.stderr
    REPORT["unknown_metric_answer"] = unknown.stderr.strip()[:300]
    REPORT["foreign_label_answer"] = foreign.stderr.strip()[:300]


def test_hpa_on_an_undefined_metric_reports_why(adapter, app):
    container = {"name": "pause", "image": "localhost/testbed/pause:1.0", "imagePullPolicy": "Never",
                 "resources": {"requests": {"cpu": "1m", "memory": "8Mi"}, "limits": {"memory": "16Mi"}},
                 "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
    pod_security = {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}}
    probe = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hpa-probe", "namespace": NS},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "hpa-probe"}}, "template": {
            "metadata": {"labels": {"app": "hpa-probe"}},
            "spec": {"automountServiceAccountToken": False, "securityContext": pod_security,
                     "containers": [container]}}},
    }
    hpa_obj = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "hpa-probe", "namespace": NS},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hpa-probe"},
                 "minReplicas": 1, "maxReplicas": 2,
                 "metrics": [{"type": "External", "external": {
                     "metric": {"name": "no_such_metric", "selector": {"matchLabels": {"queue": "default"}}},
                     "target": {"type": "AverageValue", "averageValue": "1"}}}]},
    }
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [probe, hpa_obj]}))
    try:
        start = time.monotonic()
        active = wait_for("ScalingActive=False on the probe HPA", lambda: (
            c if (c := condition(hpa("hpa-probe"), "ScalingActive")).get("status") == "False" else None), 180)
        assert active["reason"] == "FailedGetExternalMetric", active
        assert "no_such_metric" in active["message"] and "could not find" in active["message"], active
        REPORT["undefined_metric_condition"] = {**active, "seconds": round(time.monotonic() - start, 1)}
    finally:
        kubectl("-n", NS, "delete", "hpa,deployment", "hpa-probe", "--wait=false", check=False)


def test_api_hpa_reads_cpu_from_metrics_server(app):
    def cpu():
        for m in hpa(API).get("status", {}).get("currentMetrics") or []:
            if m.get("type") == "Resource" and m["resource"]["name"] == "cpu":
                current = m["resource"]["current"]
                if current.get("averageUtilization") is not None:
                    return current
        return None
    current = wait_for("a CPU value in the API HPA's status", cpu, 240)
    REPORT["api_hpa_cpu"] = current
    assert condition(hpa(API), "ScalingActive").get("status") == "True", hpa(API)["status"]


def submit(api: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        body = http_json(f"{api}/v1/agents/diagnostics/invocations",
                         {"input": f"sleep {SLEEP}", "metadata": {"test": "autoscaling", "n": str(i)}})
        ids.append(body["id"])
    return ids


def unfinished(api: str, ids: list[str]) -> list[str]:
    left = []
    for i in ids:
        try:
            status = http_json(f"{api}/v1/invocations/{i}")["status"]
        except urllib.error.HTTPError:
            status = "unknown"
        if status not in ("succeeded", "failed", "timeout"):
            left.append(i)
    return left


def test_queue_backlog_scales_the_worker_up_and_down(adapter, app, queue_metric_scraped):
    # the HPA reads the metric before the load: the worker sits at its minimum
    wait_for("the worker HPA to read celery_queue_length", lambda: condition(hpa(WORKER), "ScalingActive").get(
        "status") == "True", 120)
    start_state = wait_for("the worker at its minimum", lambda: (s if (s := worker_state())["spec"] == WORKER_MIN
                                                                  and s["pods"] == WORKER_MIN else None), 300)
    REPORT["worker_before"] = start_state
    t0 = time.monotonic()
    ids = submit(app["api"], INVOCATIONS)
    REPORT["submitted"] = {"invocations": len(ids), "sleep_seconds": SLEEP,
                           "submit_seconds": round(time.monotonic() - t0, 1)}
    timeline: list[dict] = []

    def sample():
        s = worker_state() | {"t": round(time.monotonic() - t0, 1)}
        timeline.append(s)
        return s

    # the adapter and Prometheus agree on the backlog (values move with the scrapes: retry until a pair agrees)
    def agree():
        body = external("celery_queue_length", "queue=agents")
        direct = prom_value(adapter, QUERY.format(ns=NS, queue="agents"))
        if body["items"] and direct and quantity(body["items"][0]["value"]) == Decimal(direct[0]["value"][1]) > 0:
            return body["items"][0]["value"]
        return None
    REPORT["backlog_seen_by_adapter_and_prometheus"] = wait_for("a non-zero agents queue, equal in both", agree, 120, 2)

    desired_up = wait_for("the HPA to ask for more workers", lambda: (s if (s := sample())["desired"] > WORKER_MIN
                                                                     else None), 240, 3)
    ready_up = wait_for("more ready workers", lambda: (s if (s := sample())["ready"] > WORKER_MIN else None), 300, 3)
    REPORT["scale_up"] = {"desired_seconds": desired_up["t"], "ready_seconds": ready_up["t"],
                          "desired_replicas": desired_up["desired"], "ready_replicas": ready_up["ready"]}
    peak = max(s["desired"] or 0 for s in timeline)

    # a short queue already scales down (replicas = ceil(queue / target)): the leaving pods finish their
    # tasks (warm shutdown, terminationGracePeriodSeconds above the task time limit)
    peak_end = wait_for("the HPA back at the minimum", lambda: (
        s if (s := sample())["desired"] == WORKER_MIN else None), 900, 3)
    last_peak = max(x["t"] for x in timeline if x["desired"] == peak)
    wait_for("the agents queue to empty", lambda: sample()["queue"] == "0", 900, 3)
    empty_t = min(x["t"] for x in timeline if x["queue"] == "0" and x["t"] > desired_up["t"])
    gone = wait_for("only the minimum of worker pods left (none terminating)", lambda: (
        s if (s := sample())["spec"] == WORKER_MIN and s["pods"] == WORKER_MIN and s["ready"] == WORKER_MIN else None),
        600, 3)
    wait_for("every invocation to finish", lambda: (sample() and not unfinished(app["api"], ids)), 900, 5)
    REPORT["invocations_finished_seconds"] = round(time.monotonic() - t0, 1)
    REPORT["scale_down"] = {"queue_empty_seconds": empty_t, "desired_min_seconds": peak_end["t"],
                            "pods_at_min_seconds": gone["t"],
                            "desired_peak_to_min_seconds": round(peak_end["t"] - last_peak, 1)}
    REPORT["worker_peak_desired"] = peak
    REPORT["timeline"] = timeline
    failed = [i for i in ids if http_json(f"{app['api']}/v1/invocations/{i}")["status"] != "succeeded"]
    assert not failed, f"{len(failed)} invocations did not succeed: {failed[:5]}"
    assert peak > WORKER_MIN


@pytest.fixture(scope="module", autouse=True)
def write_report():
    yield
    (results_dir() / "autoscaling-report.json").write_text(json.dumps(REPORT, indent=2, default=str))
