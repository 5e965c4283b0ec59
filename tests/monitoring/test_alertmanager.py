"""Alertmanager config: amtool check-config, one routes test per route, templates and secrets."""
from __future__ import annotations

import re
import subprocess

import pytest
from conftest import ALERTMANAGER_CONFIG, MONITORING, load_yaml, require_tool

CASES = load_yaml(MONITORING / "alertmanager" / "tests" / "routes.yml")["cases"]
CONFIG = load_yaml(ALERTMANAGER_CONFIG)


def test_check_config():
    amtool = require_tool("amtool")
    proc = subprocess.run([amtool, "check-config", str(ALERTMANAGER_CONFIG)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 templates" in proc.stdout


@pytest.mark.parametrize("case", CASES, ids=[c["route"] for c in CASES])
def test_route(case):
    amtool = require_tool("amtool")
    labels = [f"{k}={v}" for k, v in case["labels"].items()]
    cmd = [amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
           f"--verify.receivers={','.join(case['receivers'])}", *labels]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{case['name']}: got {proc.stdout.strip()!r}, want {case['receivers']}\n{proc.stderr}"
    assert proc.stdout.strip() == ",".join(case["receivers"])


def test_every_route_has_a_case():
    routes = [r["receiver"] for r in CONFIG["route"]["routes"]] + ["default"]
    assert sorted(routes) == sorted(c["route"] for c in CASES)


def test_severity_routing_matches_the_seed():
    by_matchers = {tuple(r.get("matchers", [])): r for r in CONFIG["route"]["routes"]}
    receivers = {r["name"]: r for r in CONFIG["receivers"]}

    def channel(matchers):
        return receivers[by_matchers[matchers]["receiver"]]["slack_configs"][0]["channel"]

    critical = ('severity = "critical"', 'team != "database"')
    assert receivers[by_matchers[critical]["receiver"]]["pagerduty_configs"]
    assert channel(critical) == "#alerts-critical"
    assert channel(('severity = "warning"',)) == "#alerts-warnings"
    assert channel(('severity = "info"',)) == "#alerts-info"
    assert CONFIG["route"]["group_by"] == ["alertname", "cluster", "service"]


def test_inhibitions_of_the_seed():
    pairs = {(tuple(r["source_matchers"]), tuple(r["target_matchers"])) for r in CONFIG["inhibit_rules"]}
    assert (('alertname = "AgentServiceDown"',), ('alertname = "AgentServiceHighLatency"',)) in pairs
    assert (('alertname = "AgentServicePodsNotReady"',), ('alertname = "AgentServiceHighErrorRate"',)) in pairs
    queue = 'alertname =~ "CeleryQueueDepthHigh|CeleryQueueDepthCritical"'
    assert (('alertname = "CeleryWorkersDown"',), (queue,)) in pairs


def test_maintenance_interval_mutes_non_critical_routes():
    names = {t["name"] for t in CONFIG["time_intervals"]}
    assert "maintenance" in names
    for route in CONFIG["route"]["routes"]:
        if route["receiver"].startswith(("slack-team", "slack-warnings", "slack-info")):
            assert "maintenance" in route.get("mute_time_intervals", []), route


def test_no_secret_in_the_file():
    text = ALERTMANAGER_CONFIG.read_text()
    assert not re.search(r"hooks\.slack\.com/services/|(routing|service)_key:\s|api_url:\s|auth_password:\s", text)
    for receiver in CONFIG["receivers"]:
        for pd in receiver.get("pagerduty_configs", []):
            assert "routing_key_file" in pd and "routing_key" not in pd
    assert "slack_api_url_file" in CONFIG["global"]


def test_every_notifier_sends_resolved_except_info():
    for receiver in CONFIG["receivers"]:
        for kind in ("slack_configs", "pagerduty_configs"):
            for cfg in receiver.get(kind, []):
                assert cfg["send_resolved"] is (receiver["name"] != "slack-info"), receiver["name"]


@pytest.mark.parametrize(
    "template", ["agentservice.slack.title", "agentservice.slack.text", "agentservice.pagerduty.description"])
def test_templates_render(template):
    amtool = require_tool("amtool")
    glob = str(MONITORING / "alertmanager" / "templates" / "*.tmpl")
    proc = subprocess.run([amtool, "template", "render", f"--template.glob={glob}",
                           f'--template.text={{{{ template "{template}" . }}}}'], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "template rendered nothing"
