"""Shared paths and helpers for the monitoring tests."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
RULE_FILES = [MONITORING / "prometheus" / "rules.yml", MONITORING / "prometheus" / "slo-rules.yml"]
PROMTOOL_TESTS = sorted((MONITORING / "prometheus" / "tests").glob("*.test.yml"))
ALERTMANAGER_CONFIG = MONITORING / "alertmanager.yml"
DASHBOARD_DIR = MONITORING / "grafana" / "dashboards"


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict]:
    rules = []
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rules.append({**rule, "_group": group["name"], "_file": path.name})
    return rules


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make debs`")
    return path


def webhook(host: str, port: int) -> tuple[HTTPServer, list[dict]]:
    """A started Slack incoming-webhook and PagerDuty Events v2 endpoint, and the list in which
    it records each POST as {"path", "at" (time.monotonic()), "body" (the JSON, or {"_raw": text})}.
    /pagerduty... is answered 202 {"status": "success"} as PagerDuty does, any other path 200 "ok"."""
    messages: list[dict] = []

    def record(request: Request) -> Response:
        body = request.get_json(force=True, silent=True)
        messages.append({"path": request.path, "at": time.monotonic(),
                         "body": body if body is not None else {"_raw": request.get_data(as_text=True)}})
        if request.path.startswith("/pagerduty"):
            return Response('{"status":"success"}', status=202, content_type="application/json")
        return Response("ok")

    server = HTTPServer(host, port, threaded=True)
    server.expect_request(re.compile(r"/.*"), method="POST").respond_with_handler(record)
    server.start()
    return server, messages


def pytest_configure(config):
    config.addinivalue_line("markers", "live: needs the test bed (cluster, operator-mode monitoring stack)")


class LocalPrometheus:
    """A real Prometheus on loopback with our rule files loaded."""

    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, **params) -> dict:
        import requests

        resp = requests.get(f"{self.url}{path}", params=params, timeout=10)
        return resp.json()

    def query(self, expr: str) -> dict:
        return self.get("/api/v1/query", query=expr)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    import subprocess
    import time

    import requests

    binary = require_tool("prometheus")
    work = tmp_path_factory.mktemp("prometheus")
    port = 59100
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"evaluation_interval": "15s", "scrape_interval": "15s"},
        "rule_files": [str(p) for p in RULE_FILES],
        "scrape_configs": [{"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
    }))
    log = (work / "prometheus.log").open("w")
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited: {(work / 'prometheus.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("prometheus did not get ready in 30 s")
            time.sleep(0.3)
        yield LocalPrometheus(url)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


# --- The test bed (live tests): the cluster, the webhook receiver and the monitoring stack the role
# installs, shared by test_live.py and test_autoscaling_live.py (session-scoped: installed once).

APP_NS = os.environ.get("MONITORING_LIVE_APP_NAMESPACE", "mon-live")
MON_NS = "monitoring"
SELECT_LABEL = "kube-prometheus-stack"
RECEIVER_PORT = 59150


def results_dir() -> Path:
    path = Path(os.environ.get("RESULTS", ROOT / ".results")) / "monitoring"
    path.mkdir(parents=True, exist_ok=True)
    return path


def kubectl(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def kget(*args: str) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def http_json(url: str, data: dict | list | None = None, timeout: float = 10) -> dict | list:
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        text = resp.read().decode()
    return json.loads(text) if text.strip() else {}


def install_app(release: str, namespace: str, *values: Path) -> tuple[str, float]:
    """The chart with its dev values (then ``values``) and a ServiceMonitor the stack selects, as
    ``helm upgrade --install --wait``: the API Service's in-cluster URL and the seconds it took."""
    tag = os.environ.get("APP_IMAGE_TAG") or subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--tags", "--always"], capture_output=True, text=True).stdout.strip()
    helm = shutil.which("helm") or "helm"
    chart = ROOT / "helm" / "agent-service"
    cmd = [helm, "upgrade", "--install", release, str(chart), "-n", namespace, "-f", str(chart / "values-dev.yaml"),
           *[arg for path in values for arg in ("-f", str(path))],
           "--set", f"image.tag={tag}", "--set", "metrics.serviceMonitor.enabled=true",
           "--set", f"metrics.serviceMonitor.labels.release={SELECT_LABEL}",
           "--set", "metrics.serviceMonitor.interval=15s", "--wait", "--timeout", "10m"]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + kubectl("-n", namespace, "get", "pods,events", check=False).stdout
    seconds = round(time.monotonic() - start, 1)
    svc = kget("service", "-n", namespace, release)
    return f"http://{svc['spec']['clusterIP']}:{svc['spec']['ports'][0]['port']}", seconds


def wait_for(what: str, check, timeout: float, interval: float = 5):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, urllib.error.URLError, AssertionError, KeyError, ValueError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last})")


@pytest.fixture(scope="session")
def cluster():
    kubeconfig = os.environ.get("KUBECONFIG") or str(ROOT / ".testbed" / "kubeconfig")
    if not Path(kubeconfig).is_file():
        pytest.fail(f"no kubeconfig at {kubeconfig}: start the test bed with `make cluster`")
    os.environ["KUBECONFIG"] = kubeconfig
    os.environ["K8S_AUTH_KUBECONFIG"] = kubeconfig
    if not shutil.which("kubectl"):
        pytest.fail("kubectl not found: run `make tools`")
    kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=120s")
    node = kget("nodes")["items"][0]
    return {"node_ip": next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")}


class Receiver:
    """The messages of the webhook that Alertmanager's pods reach on the node's address."""

    def __init__(self, messages: list[dict]):
        self.messages = messages

    def find(self, predicate) -> list[dict]:
        return [m for m in list(self.messages) if predicate(m)]


@pytest.fixture(scope="session")
def receiver():
    server, messages = webhook("0.0.0.0", RECEIVER_PORT)
    yield Receiver(messages)
    server.stop()
    (results_dir() / "live-webhook-messages.json").write_text(json.dumps(messages, indent=1, default=str))


def slowest_tasks(output):
    """{task: seconds} from profile_tasks' recap lines ("<task> ---- 1.23s")."""
    found = re.findall(r"^(.+?) -{3,} (\d+\.\d+)s$", output, flags=re.MULTILINE)
    return {name.strip(): float(seconds) for name, seconds in found}


@pytest.fixture(scope="session")
def stack(cluster, receiver):
    crds = os.environ.get("MONITORING_CRDS_DIR")
    if not crds or not Path(crds).is_dir():
        pytest.fail("MONITORING_CRDS_DIR is not set: run through `make monitoring-live-test`")
    inventory = f"[agent_service]\nlocalhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    inv = results_dir() / "live-inventory.ini"
    inv.write_text(inventory)
    # the test bed's settings, as `make up` uses them, and this test's own
    extra = {
        **load_yaml(ROOT / "testbed" / "monitoring-vars.yml"),
        "monitoring_stack_operator_crds_dir": crds,
        "monitoring_stack_app_namespace": APP_NS,
        "monitoring_stack_slack_webhook_url": f"http://{cluster['node_ip']}:{RECEIVER_PORT}/slack",
        "monitoring_stack_pagerduty_critical_routing_key": "test-critical-key",
        "monitoring_stack_pagerduty_database_routing_key": "test-database-key",
        "monitoring_stack_node_exporter_port": 59190,
    }
    # profile_tasks prints each run's slowest tasks: install and idempotence side by side in the report
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
               PROFILE_TASKS_TASK_OUTPUT_LIMIT="15")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".cache" / "collections"))
    kubectl("create", "namespace", APP_NS, check=False)
    runs = []
    for attempt in ("install", "idempotence"):
        start = time.monotonic()
        proc = subprocess.run(["ansible-playbook", "-i", str(inv), str(ROOT / "playbooks" / "monitoring.yml"),
                               "-e", json.dumps(extra)], capture_output=True, text=True, env=env)
        runs.append({"run": attempt, "seconds": round(time.monotonic() - start, 1), "rc": proc.returncode,
                     "recap": [line for line in proc.stdout.splitlines() if " changed=" in line][-1:],
                     "slowest_tasks": slowest_tasks(proc.stdout)})
        (results_dir() / f"live-playbook-{attempt}.log").write_text(proc.stdout + proc.stderr)
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    pod = wait_for("the Prometheus pod IP", lambda: kget("pod", "-n", MON_NS,
                   f"prometheus-{'agent-monitoring'}-0")["status"].get("podIP"), 120)
    am = wait_for("the Alertmanager pod IP", lambda: kget("pod", "-n", MON_NS,
                  f"alertmanager-{'agent-monitoring'}-0")["status"].get("podIP"), 120)
    return {"prometheus": f"http://{pod}:9090", "alertmanager": f"http://{am}:9093", "runs": runs}
