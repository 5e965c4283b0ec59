"""Grafana dashboard: structure the issue asks for, staleness, and every query accepted by a real Prometheus."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import DASHBOARD_DIR, MONITORING, ROOT

DASHBOARD = json.loads((DASHBOARD_DIR / "agent-service.json").read_text())
PANELS = [p for p in DASHBOARD["panels"] if p["type"] != "row"]
ROWS = [p["title"] for p in DASHBOARD["panels"] if p["type"] == "row"]
QUERIES = [(p["title"], t["refId"], t["expr"]) for p in PANELS for t in p["targets"]]


def test_dashboard_is_up_to_date():
    proc = subprocess.run([sys.executable, str(MONITORING / "grafana" / "generate.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_panels_and_sections():
    assert len(PANELS) >= 19
    assert ROWS == ["Overview", "Latency", "Resource usage", "Celery workers", "Agent invocations"]
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in PANELS}
    for seed_panel in ("Service status", "Request rate", "Error rate", "Current requests/min",
                       "Request latency (p50, p95, p99)", "Agent response time by agent (p95)", "CPU usage by pod",
                       "Memory usage by pod", "Active workers", "Queue depth by queue", "Task success/failure rate",
                       "Total queue depth", "Invocation rate by agent type", "Tool invocation rate by tool"):
        assert seed_panel in titles


def test_panels_do_not_overlap():
    cells = set()
    for p in DASHBOARD["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, p["title"]
                cells.add((x, y))


def test_settings_variables_and_annotations():
    assert DASHBOARD["refresh"] == "30s"
    assert DASHBOARD["time"] == {"from": "now-6h", "to": "now"}
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["namespace"]["type"] == "query"
    assert variables["namespace"]["datasource"]["uid"] == "${datasource}"
    deploys = [a for a in DASHBOARD["annotations"]["list"] if a.get("name") == "Deployments"]
    assert deploys and "kube_deployment_status_observed_generation" in deploys[0]["expr"]
    assert "__inputs" not in DASHBOARD and "DS_PROMETHEUS" not in json.dumps(DASHBOARD)


@pytest.mark.parametrize("panel", PANELS, ids=[p["title"] for p in PANELS])
def test_panel_conventions(panel):
    assert panel["fieldConfig"]["defaults"].get("unit"), "no unit"
    assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert panel["description"]
    for target in panel["targets"]:
        expr = target["expr"]
        assert 'namespace="$namespace"' in expr
        for fn, window in re.findall(r"\b(rate|increase|irate)\((?:[^()\[\]]|\{[^}]*\})*\[([^\]]+)\]", expr):
            assert window == "$__rate_interval", f"{fn} over [{window}] in {expr}"


@pytest.mark.parametrize("title,ref,expr", QUERIES, ids=[f"{t}/{r}" for t, r, _ in QUERIES])
def test_query_is_accepted_by_prometheus(prometheus, title, ref, expr):
    expr = expr.replace("$__rate_interval", "1m").replace("$namespace", "agents")
    body = prometheus.query(expr)
    assert body["status"] == "success", f"{title}/{ref}: {body}"
