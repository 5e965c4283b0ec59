"""Alert delivery on loopback, without the test bed: a real Prometheus (our rules) scrapes a fake
postgres_exporter that reports pg_up 0; the real Alertmanager (our alertmanager.yml and templates,
secrets read from *_file) delivers PostgreSQLConnectionErrors to a local Slack-compatible webhook
receiver and a local PagerDuty Events v2 endpoint. An alert inhibited by our inhibit rules must not
arrive. Ports 59103-59106 (monitoring range).
"""
from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from conftest import ALERTMANAGER_CONFIG, MONITORING, RULE_FILES, require_tool, webhook
from pytest_httpserver import HTTPServer

PROM_PORT, AM_PORT, HOOK_PORT, EXPORTER_PORT = 59103, 59104, 59105, 59106


def wait_ready(url: str, proc: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url}: process exited: {log.read_text()[-2000:]}")
        try:
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} not ready in 30 s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("delivery")
    hook, messages = webhook("127.0.0.1", HOOK_PORT)
    exporter = HTTPServer("127.0.0.1", EXPORTER_PORT)
    exporter.expect_request("/metrics", method="GET").respond_with_data(
        "# TYPE pg_up gauge\npg_up 0\n", content_type="text/plain; version=0.0.4")
    exporter.start()
    secrets = work / "secrets"
    secrets.mkdir()
    (secrets / "slack").write_text(f"http://127.0.0.1:{HOOK_PORT}/slack\n")
    (secrets / "pd-critical").write_text("critical-routing-key\n")
    (secrets / "pd-database").write_text("database-routing-key\n")
    # our config, with the secret files and template paths moved to the scratch directory
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["global"]["slack_api_url_file"] = str(secrets / "slack")
    config["global"]["pagerduty_url"] = f"http://127.0.0.1:{HOOK_PORT}/pagerduty"
    config["templates"] = [str(MONITORING / "alertmanager" / "templates" / "*.tmpl")]
    for receiver in config["receivers"]:
        for pd in receiver.get("pagerduty_configs", []):
            pd["routing_key_file"] = str(secrets / ("pd-database" if "database" in receiver["name"] else "pd-critical"))
    # without the routes' mute_time_intervals (Sunday 02:00-04:00 UTC, nights), which would make the
    # team channel's message depend on when the test runs (test_alertmanager.py checks the muting)
    for route in config["route"]["routes"]:
        route.pop("mute_time_intervals", None)
    (work / "alertmanager.yml").write_text(yaml.safe_dump(config))
    (work / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s", "external_labels": {"cluster": "loopback"}},
        "rule_files": [str(p) for p in RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{AM_PORT}"]}]}]},
        "scrape_configs": [{"job_name": "postgres-exporter", "static_configs": [{
            "targets": [f"127.0.0.1:{EXPORTER_PORT}"], "labels": {"namespace": "agents"}}]}],
    }))
    procs, logs = [], []
    try:
        for name, cmd, ready in (
            ("alertmanager", [require_tool("prometheus-alertmanager"), f"--config.file={work / 'alertmanager.yml'}",
                              f"--storage.path={work / 'am'}", f"--web.listen-address=127.0.0.1:{AM_PORT}",
                              "--cluster.listen-address="], f"http://127.0.0.1:{AM_PORT}/-/ready"),
            ("prometheus", [require_tool("prometheus"), f"--config.file={work / 'prometheus.yml'}",
                            f"--storage.tsdb.path={work / 'prom'}", f"--web.listen-address=127.0.0.1:{PROM_PORT}"],
             f"http://127.0.0.1:{PROM_PORT}/-/ready"),
        ):
            log = work / f"{name}.log"
            logs.append(log)
            procs.append(subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT))
            wait_ready(ready, procs[-1], log)
        yield {"messages": messages, "started": time.monotonic(), "am": f"http://127.0.0.1:{AM_PORT}",
               "prom": f"http://127.0.0.1:{PROM_PORT}"}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        hook.stop()
        exporter.stop()


def text_of(message: dict) -> str:
    body = message["body"]
    return json.dumps(body)


def wait_messages(messages: list[dict], predicate, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [m for m in messages if predicate(m)]
        if got:
            return got
        time.sleep(1)
    return []


def test_inhibited_alert_does_not_arrive(stack):
    now = datetime.now(UTC)
    common = {"namespace": "inhibit", "service": "agent-service", "team": "worker", "cluster": "loopback"}
    alerts = [{"labels": {**common, "alertname": name, "severity": sev}, "annotations": {"summary": name},
               "startsAt": now.isoformat(), "endsAt": (now + timedelta(minutes=10)).isoformat()}
              for name, sev in (("CeleryWorkersDown", "critical"), ("CeleryQueueDepthHigh", "warning"))]
    req = urllib.request.Request(f"{stack['am']}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    source = wait_messages(stack["messages"],
                           lambda m: "CeleryWorkersDown" in text_of(m) and "inhibit" in text_of(m), 60)
    assert source, "the source alert never arrived"
    time.sleep(40)  # longer than the group_wait (30 s) of the routes the target would take
    assert not [m for m in stack["messages"] if "CeleryQueueDepthHigh" in text_of(m)]
    query = urllib.parse.quote('alertname="CeleryQueueDepthHigh"')
    state = json.loads(urllib.request.urlopen(f"{stack['am']}/api/v2/alerts?filter={query}", timeout=10).read())
    assert state[0]["status"]["state"] == "suppressed" and state[0]["status"]["inhibitedBy"], state


def test_rule_driven_alert_reaches_slack_and_pagerduty(stack):
    messages = stack["messages"]
    slack = wait_messages(messages, lambda m: m["path"] == "/slack" and "PostgreSQLConnectionErrors" in text_of(m)
                          and m["body"].get("channel") == "#team-database-alerts", 240)
    assert slack, f"no Slack message for PostgreSQLConnectionErrors; got {[m['body'] for m in messages]}"
    critical = [m for m in messages if m["path"] == "/slack" and m["body"].get("channel") == "#alerts-critical"
                and "PostgreSQLConnectionErrors" in text_of(m)]
    assert critical, "no #alerts-critical message"
    pager = [m for m in messages if m["path"] == "/pagerduty" and "PostgreSQLConnectionErrors" in text_of(m)]
    assert pager and pager[0]["body"]["routing_key"] == "database-routing-key", pager
    assert pager[0]["body"]["payload"]["severity"] == "critical"
    attachment = slack[0]["body"]["attachments"][0]
    assert attachment["title"].startswith("[FIRING:1] PostgreSQLConnectionErrors (critical) on loopback")
    for label in ("severity=critical", "team=database", "service=postgresql", "namespace=agents", "cluster=loopback"):
        assert label in attachment["text"], (label, attachment["text"])
    assert "Runbook: monitoring/runbooks/PostgreSQLConnectionErrors.md" in attachment["text"]
    print(f"pg_up 0 scraped -> Slack message after {slack[0]['at'] - stack['started']:.0f}s (rule has for: 2m)")
