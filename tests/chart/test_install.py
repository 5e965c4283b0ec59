"""On-cluster test of the chart: install the dev values on the test bed into a namespace that
enforces Pod Security "restricted"; every pod becomes Ready, the migration hook Job completes,
and /ready answers through the API Service. Needs `make cluster` (KUBECONFIG) and the images
localhost/agent-service:<tag> and localhost/testbed/{redis,postgresql} imported into containerd.

Run with `make chart-test-cluster`. The install time is written to $RESULTS/chart/install-time.txt.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import CHART, KUBE_VERSION, helm_bin

RELEASE = "t"
TIMEOUT = os.environ.get("CHART_INSTALL_TIMEOUT", "10m")
APP_TAG = os.environ.get("CHART_APP_IMAGE_TAG", "")
# extra `--set` values, comma separated (e.g. redis.persistence.enabled=false); empty in `make`
EXTRA_SET = os.environ.get("CHART_INSTALL_SET", "")


def kubectl(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def diagnostics(namespace: str) -> str:
    """State of the namespace for a failure message: objects, recent events, hook Job logs."""
    parts = [
        kubectl("-n", namespace, "get", "pods,jobs,pvc,secrets", "-o", "wide", check=False).stdout,
        kubectl("-n", namespace, "get", "events", "--sort-by=.lastTimestamp", check=False).stdout[-4000:],
        kubectl("-n", namespace, "logs", "job/t-agent-service-migration", "--tail=30", check=False).stdout,
    ]
    return "\n".join(parts)


def kget(namespace: str, *what: str) -> dict:
    return json.loads(kubectl("-n", namespace, "get", *what, "-o", "json").stdout)


@pytest.fixture(scope="module")
def cluster():
    if not os.environ.get("KUBECONFIG") or not Path(os.environ["KUBECONFIG"]).is_file():
        pytest.fail("KUBECONFIG does not name a kubeconfig file: start the test bed with `make cluster`")
    kubectl("version")
    kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=120s")


@pytest.fixture(scope="module")
def namespace(cluster):
    ns = f"chart-test-{secrets.token_hex(3)}"
    manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ns,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        },
    }
    kubectl("apply", "-f", "-", input=json.dumps(manifest))
    yield ns
    subprocess.run([helm_bin(), "uninstall", RELEASE, "-n", ns, "--wait", "--timeout", "3m"], capture_output=True)
    kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="module")
def installed(namespace):
    cmd = [
        helm_bin(),
        "install",
        RELEASE,
        str(CHART),
        "-n",
        namespace,
        "-f",
        str(CHART / "values-dev.yaml"),
        "--wait",
        "--timeout",
        TIMEOUT,
    ]
    if APP_TAG:
        cmd += ["--set", f"image.tag={APP_TAG}"]
    if EXTRA_SET:
        cmd += ["--set", EXTRA_SET]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise AssertionError(f"helm install failed after {elapsed:.0f}s:\n{proc.stderr}\n{diagnostics(namespace)}")
    results = Path(os.environ.get("RESULTS", ".results")) / "chart"
    results.mkdir(parents=True, exist_ok=True)
    (results / "install-time.txt").write_text(
        f"dev install to Ready (helm install --wait, hooks included): {elapsed:.1f}s\n"
    )
    print(f"dev install to Ready: {elapsed:.1f}s")
    return namespace


def test_namespace_enforces_restricted(namespace):
    """A pod that is fine under "baseline" but not "restricted" (no securityContext) is refused."""
    unrestricted = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "unrestricted-probe"},
        "spec": {"containers": [{"name": "c", "image": "localhost/testbed/pause:1.0"}]},
    }
    proc = kubectl("-n", namespace, "apply", "--dry-run=server", "-f", "-", input=json.dumps(unrestricted), check=False)
    assert proc.returncode != 0 and 'violates PodSecurity "restricted' in proc.stderr, proc.stderr


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_other_environments_admitted(namespace, env):
    """staging's and prod's manifests pass the real API server's validation and PSS "restricted"
    admission (server-side dry run; kinds the server does not serve, e.g. a missing CRD, are left out)."""
    served = set()  # (apiVersion, kind)
    for line in kubectl("api-resources", "--no-headers").stdout.splitlines():
        fields = line.split()
        served.add((fields[-3], fields[-1]))  # ... APIVERSION NAMESPACED KIND
    proc = subprocess.run(
        [
            helm_bin(),
            "template",
            RELEASE,
            str(CHART),
            "-n",
            namespace,
            "-f",
            str(CHART / f"values-{env}.yaml"),
            "--kube-version",
            KUBE_VERSION,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    kept = [d for d in docs if (d["apiVersion"], d["kind"]) in served]
    assert {d["kind"] for d in kept} >= {"Deployment", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    out = kubectl(
        "-n",
        namespace,
        "apply",
        "--dry-run=server",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": kept}),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stderr, out.stderr


def test_every_pod_ready(installed):
    pods = kget(installed, "pods")["items"]
    running = [p for p in pods if p["status"].get("phase") != "Succeeded"]
    components = {p["metadata"]["labels"].get("app.kubernetes.io/component") for p in running}
    assert {"api", "worker", "beat", "flower", "redis", "postgresql"} <= components, components
    for p in running:
        ready = {c["type"]: c["status"] for c in p["status"].get("conditions", [])}.get("Ready")
        assert ready == "True", f"{p['metadata']['name']} not Ready: {p['status']}"


def test_migration_hook_completed(installed):
    job = kget(installed, "job", f"{RELEASE}-agent-service-migration")
    assert job["status"].get("succeeded") == 1, job["status"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"


def test_ready_answers_through_the_service(installed):
    svc = kget(installed, "service", f"{RELEASE}-agent-service")
    url = f"http://{svc['spec']['clusterIP']}:{svc['spec']['ports'][0]['port']}/ready"
    deadline, last = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                assert resp.status == 200
                return
        except Exception as exc:  # noqa: BLE001 - retried until the deadline, then reported
            last = exc
            time.sleep(2)
    raise AssertionError(f"{url} did not answer 200: {last}")


def test_upgrade_keeps_passwords_and_reruns_migration(installed):
    """A config change rolls the pods (checksum/config), the pre-upgrade hook runs again with the
    same generated passwords (looked up from the release Secret), and the API stays ready."""
    before = kget(installed, "secret", f"{RELEASE}-agent-service")["data"]
    old_job_uid = kget(installed, "job", f"{RELEASE}-agent-service-migration")["metadata"]["uid"]
    cmd = [
        helm_bin(),
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        installed,
        "--reuse-values",
        "--set",
        "config.logLevel=INFO",
        "--wait",
        "--timeout",
        TIMEOUT,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{proc.stderr}\n{diagnostics(installed)}"
    assert kget(installed, "secret", f"{RELEASE}-agent-service")["data"] == before
    job = kget(installed, "job", f"{RELEASE}-agent-service-migration")
    assert job["metadata"]["uid"] != old_job_uid and job["status"].get("succeeded") == 1, job["status"]
    cm = kget(installed, "configmap", f"{RELEASE}-agent-service")
    assert cm["data"]["LOG_LEVEL"] == "INFO"
    test_ready_answers_through_the_service(installed)


def test_pre_install_hook_with_external_database(installed):
    """The first install against an external database runs the migration as a pre-install hook,
    before any release object exists: the hook copy of the Secret (weight -10) must be there first.
    A second release uses the first one's PostgreSQL and Redis as its external services."""
    data = kget(installed, "secret", f"{RELEASE}-agent-service")["data"]
    pg_pw, redis_pw = (base64.b64decode(data[k]).decode() for k in ("POSTGRES_PASSWORD", "REDIS_PASSWORD"))
    values = {
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "externalDatabase": {"host": f"{RELEASE}-agent-service-postgresql"},
        "externalRedis": {"host": f"{RELEASE}-agent-service-redis"},
        "secrets": {"postgresPassword": pg_pw, "redisPassword": redis_pw},
        "worker": {"enabled": False},
        "beat": {"enabled": False},
        "flower": {"enabled": False},
    }
    if APP_TAG:
        values["image"] = {"tag": APP_TAG}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values, f)
        f.flush()
        cmd = [
            helm_bin(),
            "install",
            "ext",
            str(CHART),
            "-n",
            installed,
            "-f",
            str(CHART / "values-dev.yaml"),
            "-f",
            f.name,
            "--wait",
            "--timeout",
            TIMEOUT,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    try:
        assert proc.returncode == 0, f"{proc.stderr}\n{diagnostics(installed)}"
        job = kget(installed, "job", "ext-agent-service-migration")
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert job["status"].get("succeeded") == 1, job["status"]
        # the hook copy of the Secret is gone once the hooks succeeded
        assert kubectl("-n", installed, "get", "secret", "ext-agent-service-migration", check=False).returncode != 0
    finally:
        subprocess.run([helm_bin(), "uninstall", "ext", "-n", installed, "--wait"], capture_output=True)
