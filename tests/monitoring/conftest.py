"""Shared paths and helpers for the monitoring tests."""
from __future__ import annotations

import re
import shutil
import time
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
