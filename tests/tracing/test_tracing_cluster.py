"""On-cluster trace test (issue 10): the chart's dev values with tracing on, sending OTLP to
the collector built from the Go module proxy (`make otelcol-image`), running in the same
namespace. One agent invocation must give spans from the API pod and from the worker pod
with one trace ID; the spans are read back from the collector's output file, not from the app.

Runs in `make e2e` (a job beside the Molecule scenarios); on its own `make tracing-cluster-test`,
which builds what it needs: the test bed and the app, chart and collector images.
Environment: TRACE_APP_IMAGE_TAG (default: the tag `make app-image` gives, the last commit
that touched app/), OTELCOL_VERSION (default: versions.env), TRACE_INSTALL_TIMEOUT (10m).
The namespace enforces Pod Security "restricted"; it is deleted at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "agent-service"
RELEASE = "t"
TIMEOUT = os.environ.get("TRACE_INSTALL_TIMEOUT", "10m")
SPAN_KIND = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def versions() -> dict[str, str]:
    text = (ROOT / "versions.env").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#") and "=" in line)


def app_tag() -> str:
    tag = os.environ.get("TRACE_APP_IMAGE_TAG")
    if tag:
        return tag
    out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "app"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def otelcol_image() -> str:
    version = os.environ.get("OTELCOL_VERSION") or versions()["OTELCOL_VERSION"]
    return f"localhost/testbed/otelcol:{version.lstrip('v')}"


def kubectl(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def helm_bin() -> str:
    path = os.environ.get("HELM_BIN") or shutil.which("helm")
    if not path:
        raise RuntimeError("helm not found: run `make gotools` or set HELM_BIN")
    return path


RESTRICTED = {
    "runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_RESTRICTED = {
    "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
}


def collector_manifests(namespace: str) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": "otel-collector"}
    return [
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "otel-collector", "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 1, "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": RESTRICTED,
                        "containers": [{
                            "name": "otelcol", "image": otelcol_image(), "imagePullPolicy": "Never",
                            "ports": [{"name": "otlp-grpc", "containerPort": 4317},
                                      {"name": "otlp-http", "containerPort": 4318}],
                            "readinessProbe": {"tcpSocket": {"port": 4318}, "periodSeconds": 2},
                            "securityContext": CONTAINER_RESTRICTED,
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }],
                        "volumes": [{"name": "data", "emptyDir": {}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "otel-collector", "namespace": namespace, "labels": labels},
            "spec": {"selector": labels, "ports": [
                {"name": "otlp-grpc", "port": 4317, "targetPort": 4317},
                {"name": "otlp-http", "port": 4318, "targetPort": 4318},
            ]},
        },
        # the chart's default-deny covers only its own pods; this admits them to the collector
        {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "otel-collector-ingress", "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {}}],
                                  "ports": [{"port": 4317, "protocol": "TCP"}, {"port": 4318, "protocol": "TCP"}]}]},
        },
    ]


@pytest.fixture(scope="module")
def namespace():
    if not os.environ.get("KUBECONFIG") or not Path(os.environ["KUBECONFIG"]).is_file():
        pytest.fail("KUBECONFIG does not name a kubeconfig file: start the test bed with `make cluster`")
    kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=120s")
    ns = f"trace-test-{secrets.token_hex(3)}"
    kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": {"pod-security.kubernetes.io/enforce": "restricted",
                                            "pod-security.kubernetes.io/enforce-version": "latest"}},
    }))
    yield ns
    subprocess.run([helm_bin(), "uninstall", RELEASE, "-n", ns, "--wait", "--timeout", "3m"], capture_output=True)
    kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="module")
def installed(namespace: str) -> str:
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                   "items": collector_manifests(namespace)}))
    kubectl("-n", namespace, "rollout", "status", "deployment/otel-collector", "--timeout=180s")
    endpoint = f"http://otel-collector.{namespace}.svc:4318"
    cmd = [helm_bin(), "install", RELEASE, str(CHART), "-n", namespace, "-f", str(CHART / "values-dev.yaml"),
           "--set", f"image.tag={app_tag()}", "--set", "tracing.enabled=true",
           "--set", f"tracing.endpoint={endpoint}", "--set", "tracing.protocol=http/protobuf",
           "--set-json", "tracing.samplerRatio=1", "--wait", "--timeout", TIMEOUT]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pods = kubectl("-n", namespace, "get", "pods", "-o", "wide", check=False).stdout
        raise AssertionError(f"helm install failed:\n{proc.stderr}\n{pods}")
    return namespace


def invoke(namespace: str, request_id: str) -> dict[str, Any]:
    """POST one invocation from inside the API pod (no port-forward), waiting for its result."""
    script = (
        "import json, urllib.request\n"
        "req = urllib.request.Request('http://127.0.0.1:8000/v1/agents/assistant/invocations?wait=25',\n"
        "    data=json.dumps({'input': 'what is 2+3*4; lookup celery'}).encode(), method='POST',\n"
        f"    headers={{'Content-Type': 'application/json', 'X-Request-ID': '{request_id}'}})\n"
        "print(urllib.request.urlopen(req, timeout=30).read().decode())\n"
    )
    out = kubectl("-n", namespace, "exec", f"deploy/{RELEASE}-agent-service-api", "--", "python", "-c", script)
    return json.loads(out.stdout.strip().splitlines()[-1])


def collector_spans(namespace: str) -> list[dict[str, Any]]:
    out = kubectl("-n", namespace, "exec", "deploy/otel-collector", "--", "cat", "/data/traces.jsonl",
                  check=False).stdout
    spans = []
    for line in out[: out.rfind("\n") + 1].splitlines():
        if not line.strip():
            continue
        for rs in json.loads(line).get("resourceSpans", []):
            resource = {a["key"]: next(iter(a["value"].values()), None)
                        for a in rs.get("resource", {}).get("attributes", [])}
            for ss in rs.get("scopeSpans", []):
                for span in ss.get("spans", []):
                    spans.append({**span, "resource": resource, "service": resource.get("service.name"),
                                  "kind_name": SPAN_KIND.get(span.get("kind", 0), "unspecified")})
    return spans


def test_one_invocation_gives_one_trace_from_the_api_pod_and_the_worker_pod(installed: str) -> None:
    request_id = f"trace-cluster-{secrets.token_hex(6)}"
    data = invoke(installed, request_id)
    assert data["status"] == "succeeded", data

    deadline, spans, trace_id = time.monotonic() + 60, [], None
    while time.monotonic() < deadline:
        every = collector_spans(installed)
        root = next((s for s in every if s["service"] == "agent-service-api" and s["kind_name"] == "server"
                     and "/v1/agents/" in s["name"]), None)
        if root:
            trace_id = root["traceId"]
            spans = [s for s in every if s["traceId"] == trace_id]
            if any(s["name"] == "run/agent.run_invocation" for s in spans):
                break
        time.sleep(2)
    assert trace_id and spans, "no server span of the invocation in the collector's file"
    summary = sorted(f'{s["service"]} ({s["resource"].get("service.instance.id")}): {s["kind_name"]} {s["name"]}'
                     for s in spans)
    print(f"\ntrace {trace_id}: {len(spans)} spans\n  " + "\n  ".join(summary))
    results = Path(os.environ.get("RESULTS", ROOT / ".results")) / "tracing"
    results.mkdir(parents=True, exist_ok=True)
    (results / "cluster-trace-spans.txt").write_text(f"trace {trace_id}: {len(spans)} spans\n" + "\n".join(summary))

    services = {s["service"] for s in spans}
    assert {"agent-service-api", "agent-service-worker"} <= services, summary
    # the instance id starts with the pod's host name: two different pods
    instances = {s["service"]: s["resource"].get("service.instance.id", "") for s in spans}
    assert instances["agent-service-api"].startswith(f"{RELEASE}-agent-service-api-"), instances
    assert instances["agent-service-worker"].startswith(f"{RELEASE}-agent-service-worker-"), instances
    names = {s["name"] for s in spans}
    assert {"apply_async/agent.run_invocation", "run/agent.run_invocation", "tool calculator", "tool lookup"} <= names
    assert any(s["resource"].get("service.name") == "agent-service-worker"
               and (s.get("attributes") and any(a["key"] in ("db.system", "db.system.name") for a in s["attributes"]))
               for s in spans), "a database span from the worker"
    # the API pod's log line of that request carries the trace id
    logs = kubectl("-n", installed, "logs", f"deploy/{RELEASE}-agent-service-api", "--tail=500").stdout
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    mine = [entry for entry in lines if entry.get("request_id") == request_id]
    assert mine and all(entry.get("trace_id") == trace_id for entry in mine), mine
