"""The test bed itself: every capability the project's end-to-end tests rely on, checked on
the running cluster (make cluster) with real workloads."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
import uuid

from conftest import KUBECONFIG, ROOT, Kube, restricted_container


def deployment(name: str, image: str, args: list[str], labels: dict | None = None, **pod_extra) -> dict:
    labels = {"app": name, **(labels or {})}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [restricted_container(name, image, args, **pod_extra)]}}},
    }


def service(name: str, port: int = 80, target: int = 8080) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": target}]}}


def pod(name: str, image: str, args: list[str], labels: dict | None = None, **spec_extra) -> dict:
    spec = {"restartPolicy": "Never", "containers": [restricted_container(name, image, args)]}
    spec.update(spec_extra)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def apply(kube: Kube, ns: str, *objs: dict) -> None:
    kube.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}), ns)


def rollout(kube: Kube, ns: str, name: str, timeout: int = 120) -> None:
    kube.run("-n", ns, "rollout", "status", f"deployment/{name}", f"--timeout={timeout}s", timeout=timeout + 10)


def fetch_from_pod(kube: Kube, ns: str, image: str, url: str, labels: dict | None = None,
                   timeout_s: int = 3, attempts: int = 1) -> tuple[str, str]:
    """Run a client pod that GETs url (attempts, one second apart); return (phase, logs)."""
    name = f"client-{uuid.uuid4().hex[:6]}"
    apply(kube, ns, pod(name, image, ["get", url, str(timeout_s), str(attempts)], labels))
    phase, logs = kube.pod_logs_when_done(ns, name, timeout=60 + attempts * (timeout_s + 1))
    kube.run("-n", ns, "delete", "pod", name, "--wait=false")
    return phase, logs


# --------------------------------------------------------------------------- node and system pods

def test_node_and_system_pods_ready(kube: Kube):
    nodes = kube.json("get", "nodes")["items"]
    assert len(nodes) == 1
    ready = {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}
    assert ready["Ready"] == "True", nodes[0]["status"]["conditions"]
    assert nodes[0]["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.34.")
    pods = kube.json("get", "pods", "-n", "kube-system")["items"] + \
        kube.json("get", "pods", "-n", "local-path-storage")["items"]
    names = {p["metadata"]["name"].rsplit("-", 2)[0] for p in pods}
    assert {"coredns", "metrics-server", "local-path-provisioner"} <= names, names
    # The add-ons' own pods (those a ReplicaSet or DaemonSet runs) must be Ready. Short-lived pods beside
    # them are not add-ons: local-path-provisioner starts an unowned helper-pod-* for each PVC it creates
    # or deletes, and the e2e lane running beside this test deletes PVCs.
    controlled = [p for p in pods if not p["metadata"].get("deletionTimestamp")
                  and any(o.get("controller") for o in p["metadata"].get("ownerReferences", []))]
    assert len(controlled) >= 3, [p["metadata"]["name"] for p in pods]
    for p in controlled:
        conds = {c["type"]: c["status"] for c in p["status"].get("conditions", [])}
        assert conds.get("Ready") == "True", (p["metadata"]["name"], p["status"])
    for ns in ("kube-system", "local-path-storage"):
        for d in kube.json("get", "deployments", "-n", ns)["items"]:
            want = d["spec"].get("replicas", 1)
            assert d["status"].get("availableReplicas", 0) == want, (ns, d["metadata"]["name"], d["status"])
    storage_classes = kube.json("get", "storageclass")["items"]
    default = [s["metadata"]["name"] for s in storage_classes
               if s["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"]
    assert default == ["local-path"]


# --------------------------------------------------------------------------- service, DNS, port-forward

def test_deployment_serves_through_service_dns_and_port_forward(kube: Kube, namespace: str, echo_image: str):
    apply(kube, namespace, deployment("web", echo_image, ["serve"]), service("web"))
    rollout(kube, namespace, "web")
    # kube-proxy programs the new Service within a second or two of the endpoints: retry
    phase, logs = fetch_from_pod(kube, namespace, echo_image, f"http://web.{namespace}.svc.cluster.local/",
                                 attempts=30)
    assert phase == "Succeeded", logs
    assert "hello from web-" in logs, logs
    # the short name resolves too (search path from the kubelet's clusterDomain)
    phase, logs = fetch_from_pod(kube, namespace, echo_image, "http://web/", attempts=30)
    assert phase == "Succeeded" and "hello from web-" in logs, logs

    proc = subprocess.Popen([kube.kubectl, f"--kubeconfig={KUBECONFIG}", "-n", namespace, "port-forward",
                             "service/web", ":80"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+) ->", line)
        assert m, f"unexpected port-forward output: {line!r} {proc.stderr.read() if proc.poll() else ''}"
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/", timeout=10) as resp:  # noqa: S310
            assert resp.status == 200
            assert resp.read().decode().startswith("hello from web-")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- storage

def test_pvc_binds_and_data_survives_pod_recreation(kube: Kube, namespace: str, echo_image: str):
    token = uuid.uuid4().hex
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}}}

    def data_pod(name: str, script: str) -> dict:
        p = pod(name, "localhost/testbed/debian-base:bookworm", [], volumes=[
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])
        c = p["spec"]["containers"][0]
        c["command"], c["args"] = ["sh", "-c", script], []
        c["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        return p

    apply(kube, namespace, pvc, data_pod("writer", f"echo {token} > /data/token && sync"))
    phase, logs = kube.pod_logs_when_done(namespace, "writer")
    assert phase == "Succeeded", logs
    claim = kube.json("-n", namespace, "get", "pvc", "data")
    assert claim["status"]["phase"] == "Bound"
    pv = kube.json("get", "pv", claim["spec"]["volumeName"])
    assert pv["spec"]["storageClassName"] == "local-path"
    kube.run("-n", namespace, "delete", "pod", "writer", "--wait=true")
    apply(kube, namespace, data_pod("reader", "cat /data/token"))
    phase, logs = kube.pod_logs_when_done(namespace, "reader")
    assert phase == "Succeeded", logs
    assert logs.strip() == token


# --------------------------------------------------------------------------- pod security admission

def test_restricted_namespace_rejects_root_pod_and_admits_compliant_one(kube: Kube, namespace: str, echo_image: str):
    kube.run("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    root_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"},
                "spec": {"containers": [{"name": "root", "image": echo_image, "imagePullPolicy": "Never",
                                         "securityContext": {"runAsUser": 0}}]}}
    res = kube.apply(json.dumps(root_pod), namespace, check=False)
    assert res.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in res.stderr, res.stderr
    assert "runAsNonRoot != true" in res.stderr and "runAsUser=0" in res.stderr, res.stderr

    apply(kube, namespace, pod("compliant", echo_image, ["serve"]))
    kube.run("-n", namespace, "wait", "--for=condition=Ready", "pod/compliant", "--timeout=90s", timeout=100)


# --------------------------------------------------------------------------- metrics and HPA

def test_kubectl_top_and_hpa_cpu_utilisation(kube: Kube, namespace: str, echo_image: str):
    dep = deployment("burner", echo_image, ["burn"],
                     resources={"requests": {"cpu": "50m"}, "limits": {"cpu": "100m"}})
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "burner"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burner"},
                    "minReplicas": 1, "maxReplicas": 2,
                    "metrics": [{"type": "Resource", "resource": {
                        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 500}}}]}}
    apply(kube, namespace, dep, hpa)
    rollout(kube, namespace, "burner")

    def top():
        res = kube.run("-n", namespace, "top", "pod", "--no-headers", check=False)
        m = re.search(r"^burner-\S+\s+(\d+)m\s+(\d+)Mi", res.stdout, re.M)
        return (int(m.group(1)), int(m.group(2))) if m else None
    cpu, mem = kube.wait_for("kubectl top pod to return numbers", top, timeout=120, interval=3)
    assert cpu > 0 and mem >= 0

    def utilisation():
        status = kube.json("-n", namespace, "get", "hpa", "burner").get("status", {})
        for metric in status.get("currentMetrics") or []:
            value = metric.get("resource", {}).get("current", {}).get("averageUtilization")
            if value is not None:
                return value
        return None
    value = kube.wait_for("the HPA to report a current CPU utilisation", utilisation, timeout=150, interval=3)
    assert value > 0


# --------------------------------------------------------------------------- jobs

def test_job_completes_and_logs_are_readable(kube: Kube, namespace: str, echo_image: str):
    token = uuid.uuid4().hex
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
           "spec": {"backoffLimit": 0, "template": {"spec": {
               "restartPolicy": "Never",
               "containers": [{**restricted_container("once", "localhost/testbed/debian-base:bookworm", []),
                               "command": ["sh", "-c", f"echo job-done-{token}"]}]}}}}
    apply(kube, namespace, job)
    kube.run("-n", namespace, "wait", "--for=condition=Complete", "job/once", "--timeout=120s", timeout=130)
    logs = kube.run("-n", namespace, "logs", "job/once").stdout
    assert logs.strip() == f"job-done-{token}"


# --------------------------------------------------------------------------- registry mirror

def test_pod_that_must_pull_gets_the_mirrored_image(kube: Kube, namespace: str):
    """An untagged docker.io image gets pull policy Always: the kubelet pulls it through the test
    bed's registry, and the pod runs the manifest that registry serves (by digest)."""
    mirror = next(line.split() for line in (ROOT / "testbed" / "images" / "mirror.txt").read_text().splitlines()
                  if line.strip() and not line.startswith("#"))
    upstream = mirror[0]                                   # docker.io/curlimages/curl:latest
    image = upstream.removeprefix("docker.io/").removesuffix(":latest")  # as `kubectl run` is given it
    served = urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - the loopback registry
        f"http://127.0.0.1:5001/v2/{image}/manifests/latest", method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}), timeout=5)
    digest = served.headers["Docker-Content-Digest"]
    assert digest.startswith("sha256:")
    spec = pod("pull", image, [])
    container = spec["spec"]["containers"][0]
    del container["imagePullPolicy"]            # the API server's default for an untagged image
    container["command"] = ["curl", "--version"]
    apply(kube, namespace, spec)
    assert kube.json("-n", namespace, "get", "pod", "pull")["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    phase, logs = kube.pod_logs_when_done(namespace, "pull", timeout=120)
    assert phase == "Succeeded", logs
    assert logs.startswith("curl "), logs
    status = kube.json("-n", namespace, "get", "pod", "pull")["status"]["containerStatuses"][0]
    assert status["imageID"] == f"{upstream.rsplit(':', 1)[0]}@{digest}", status


# --------------------------------------------------------------------------- network policy

def test_network_policy_deny_all_then_allow(kube: Kube, namespace: str, echo_image: str):
    apply(kube, namespace, deployment("server", echo_image, ["serve"]), service("server"))
    rollout(kube, namespace, "server")
    url = f"http://server.{namespace}.svc.cluster.local/"
    phase, logs = fetch_from_pod(kube, namespace, echo_image, url, labels={"role": "client"}, attempts=30)
    assert phase == "Succeeded" and "hello from server-" in logs, logs

    deny_all = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-all"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    apply(kube, namespace, deny_all)
    # kube-router programs the policy within a second or two, later when the e2e lane loads the node:
    # a few client pods, one after the other, until one is blocked; then the next one must be blocked too
    def blocked():
        phase, logs = fetch_from_pod(kube, namespace, echo_image, url, labels={"role": "client"}, timeout_s=4)
        return (phase, logs) if phase == "Failed" else None
    phase, logs = kube.wait_for("deny-all to block the client", blocked, timeout=60, interval=1)
    assert "error:" in logs, logs
    phase, logs = fetch_from_pod(kube, namespace, echo_image, url, labels={"role": "client"}, timeout_s=4)
    assert phase == "Failed", f"deny-all did not keep blocking the request: {logs}"

    allow = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-client"},
             "spec": {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"],
                      "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                                   "ports": [{"port": 8080, "protocol": "TCP"}]}]}}
    apply(kube, namespace, allow)
    # the firewall adds a new pod's IP to the policy's ipsets shortly after the pod starts
    phase, logs = fetch_from_pod(kube, namespace, echo_image, url, labels={"role": "client"}, attempts=30)
    assert phase == "Succeeded" and "hello from server-" in logs, logs
    # a pod without the label is still blocked
    phase, logs = fetch_from_pod(kube, namespace, echo_image, url, labels={"role": "other"}, timeout_s=4)
    assert phase == "Failed", logs
