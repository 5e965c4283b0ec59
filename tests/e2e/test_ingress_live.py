"""The chart's Ingress and HTTPRoute, live, through the test bed's Traefik (testbed/ingress).

Only the chart's ingress.yaml and httproute.yaml are rendered (helm template --show-only), in
front of a plain HTTP server behind the Service name they point to: what is under test is how
the controller serves the chart's objects, the class `nginx` with its annotations (rate limit,
CORS) and the Gateway API route. The whole chart behind the same controller, with TLS from
cert-manager, is the staging scenario (molecule/shared/tasks/verify_ingress.yml).
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3
import yaml
from live_modules import ROOT, helm_bin, run

HTTP_PORT = 30080  # testbed/ingress/traefik.yaml: the NodePort of Traefik's HTTP entry point
APP_IMAGE = os.environ.get("E2E_APP_IMAGE", "localhost/agent-service:e2e")
ORIGIN = "https://app.example.com"
RPS, BURST_MULTIPLIER = 2, 3

# the backend: a directory listing from Python's http.server, under the Service the chart's
# objects name (release agent-service: fullname agent-service, port name http)
BACKEND = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: agent-service}
spec:
  replicas: 1
  selector: {matchLabels: {app: backend}}
  template:
    metadata: {labels: {app: backend}}
    spec:
      containers:
        - name: http
          image: %s
          imagePullPolicy: Never
          command: [python, -m, http.server, "8000", --directory, /tmp]
          ports: [{name: http, containerPort: 8000}]
          readinessProbe: {tcpSocket: {port: 8000}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: agent-service}
spec:
  selector: {app: backend}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def kubectl(*argv, stdin=None):
    proc = run(["kubectl", *argv], input=stdin)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def node_address(cluster):
    node = json.loads(kubectl("get", "nodes", "-o", "json"))["items"][0]
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


@pytest.fixture()
def routed(namespace, tmp_path):
    """The backend, then the chart's Ingress and HTTPRoute for it in the namespace; their hosts."""
    kubectl("-n", namespace, "apply", "-f", "-", stdin=BACKEND % APP_IMAGE)
    hosts = {"ingress": f"{namespace}.ingress.test", "route": f"{namespace}.route.test"}
    values = {
        "ingress": {
            "enabled": True, "className": "nginx",
            "hosts": [{"host": hosts["ingress"], "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "rateLimit": {"enabled": True, "rps": RPS, "burstMultiplier": BURST_MULTIPLIER},
            "cors": {"enabled": True, "allowOrigins": [ORIGIN]},
        },
        "httpRoute": {
            "enabled": True, "hostnames": [hosts["route"]],
            "parentRefs": [{"name": "testbed", "namespace": "ingress-nginx"}],
        },
    }
    (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
    chart = ROOT / "helm/agent-service"
    proc = run([helm_bin("helm"), "template", "agent-service", str(chart), "-n", namespace, "--kube-version", "1.34.0",
                "-f", str(chart / "values-dev.yaml"), "-f", str(tmp_path / "values.yaml"),
                "--show-only", "templates/ingress.yaml",
                "--show-only", "templates/httproute.yaml"])
    assert proc.returncode == 0, proc.stderr
    kubectl("-n", namespace, "apply", "-f", "-", stdin=proc.stdout)
    kubectl("-n", namespace, "rollout", "status", "deployment/agent-service", "--timeout=90s")
    return hosts


def get(address, host, method="GET", headers=None):
    pool = urllib3.HTTPConnectionPool(address, HTTP_PORT, retries=False, timeout=10)
    return pool.request(method, "/", headers={"Host": host, **(headers or {})})


def wait_served(address, host, timeout=60):
    """The first answer from the backend through the controller (routes appear within seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        resp = get(address, host)
        if resp.status == 200 and b"Directory listing" in resp.data:
            return resp
        assert time.monotonic() < deadline, f"{host}: {resp.status} {resp.data[:200]!r}"
        time.sleep(1)


def test_ingress_class_nginx_rate_limit_and_cors(routed, node_address, namespace):
    host = routed["ingress"]
    wait_served(node_address, host)
    # the controller took the Ingress: it wrote its Service's address into the status
    status = json.loads(kubectl("-n", namespace, "get", "ingress", "agent-service", "-o", "json"))["status"]
    assert status["loadBalancer"]["ingress"], status

    allowed = get(node_address, host, "OPTIONS", {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    other = get(node_address, host, "OPTIONS", {"Origin": "https://elsewhere.example.org",
                                                 "Access-Control-Request-Method": "POST"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == ORIGIN, dict(allowed.headers)
    assert "POST" in allowed.headers.get("Access-Control-Allow-Methods", ""), dict(allowed.headers)
    assert "Access-Control-Allow-Origin" not in other.headers, dict(other.headers)

    time.sleep(BURST_MULTIPLIER / RPS + 1)  # the bucket refills after the requests above
    burst = RPS * BURST_MULTIPLIER
    with ThreadPoolExecutor(10) as pool:
        codes = Counter(pool.map(lambda _: get(node_address, host).status, range(burst * 5)))
    assert set(codes) == {200, 429}, codes
    assert codes[200] >= burst and codes[429] >= burst, codes
    time.sleep(2 / RPS + 1)
    assert get(node_address, host).status == 200, "the limit does not recover"


def test_httproute_through_the_testbed_gateway(routed, node_address, namespace):
    wait_served(node_address, routed["route"])
    route = json.loads(kubectl("-n", namespace, "get", "httproute", "agent-service", "-o", "json"))
    (parent,) = route["status"]["parents"]
    assert parent["controllerName"] == "traefik.io/gateway-controller", parent
    conditions = {c["type"]: c["status"] for c in parent["conditions"]}
    assert conditions["Accepted"] == "True" and conditions["ResolvedRefs"] == "True", parent
    # a host name that no route or Ingress names is not served
    assert get(node_address, f"{namespace}.unrouted.test").status == 404


def test_ingress_of_another_class_is_not_served(routed, node_address, namespace):
    wait_served(node_address, routed["ingress"])
    host = f"{namespace}.other-class.test"
    kubectl("-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "other-class"},
        "spec": {"ingressClassName": "other", "rules": [{"host": host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "agent-service", "port": {"name": "http"}}}}]}}]}}))
    time.sleep(3)  # longer than the controller takes to serve a new Ingress of its class
    assert get(node_address, host).status == 404
    status = json.loads(kubectl("-n", namespace, "get", "ingress", "other-class", "-o", "json")).get("status", {})
    assert not status.get("loadBalancer", {}).get("ingress"), status
