"""The monitoring stack on the test bed (operator mode, images built offline): `make monitoring-live-test`.

Installs roles/monitoring_stack (operator mode, dev exporters) and the Agent Service chart
(dev values, ServiceMonitor on), then checks against the real Prometheus and Alertmanager:
the app's targets are up, every rule group is loaded, a fault (PostgreSQL stopped) fires PostgreSQLConnectionErrors
and Alertmanager delivers it to a local Slack-compatible webhook receiver with its routing
labels, an inhibited alert does not arrive, and every dashboard query returns data.
Timings and the fraction of panel queries with data go to $RESULTS/monitoring/live-report.json.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from conftest import (
    APP_NS,
    DASHBOARD_DIR,
    ROOT,
    RULE_FILES,
    http_json,
    install_app,
    kget,
    kubectl,
    load_yaml,
    results_dir,
    wait_for,
)

pytestmark = pytest.mark.live

RELEASE = "agent-service"
REPORT: dict = {}


def slack_text(message: dict) -> str:
    body = message["body"]
    parts = [body.get("text", "")] + [f"{a.get('title', '')}\n{a.get('text', '')}" for a in body.get("attachments", [])]
    return "\n".join(parts)


def test_role_is_idempotent(stack):
    REPORT["playbook_runs"] = stack["runs"]
    second = stack["runs"][1]["recap"][0]
    assert "changed=0" in second and "failed=0" in second, second


@pytest.fixture(scope="session")
def app(stack):
    api, REPORT["app_install_seconds"] = install_app(RELEASE, APP_NS)
    yield {"api": api}
    # the app was only the target of the checks: free the test bed for the next stages
    # (the monitoring stack stays, as after `make up`); MONITORING_LIVE_KEEP=1 keeps it
    if os.environ.get("MONITORING_LIVE_KEEP") != "1":
        kubectl("delete", "namespace", APP_NS, "--wait=false", check=False)


def prom_query(stack, expr: str) -> list:
    url = f"{stack['prometheus']}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    body = http_json(url)
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_app_targets_are_up(stack, app):
    def pools():
        targets = http_json(f"{stack['prometheus']}/api/v1/targets?state=active")["data"]["activeTargets"]
        ours = [t for t in targets if t["labels"].get("namespace") == APP_NS
                and t["scrapePool"].startswith(f"serviceMonitor/{APP_NS}/{RELEASE}/")]
        up = {t["scrapePool"] for t in ours if t["health"] == "up"}
        return up if len(up) >= 2 else None
    up = wait_for("the app's API and worker targets to be up", pools, 240)
    REPORT["app_scrape_pools_up"] = sorted(up)
    for job in ("kube-state-metrics", "kubelet", "redis-exporter", "postgres-exporter"):
        assert wait_for(f"{job} up", lambda j=job: prom_query(stack, f'up{{job="{j}"}} == 1'), 180), job


def test_every_rule_group_is_loaded(stack):
    expected = {g["name"] for path in RULE_FILES for g in load_yaml(path)["groups"]}

    def loaded():
        groups = http_json(f"{stack['prometheus']}/api/v1/rules")["data"]["groups"]
        names = {g["name"] for g in groups}
        return names if expected <= names else None
    names = wait_for("every rule group in the rules API", loaded, 180)
    REPORT["rule_groups_loaded"] = len(expected & names)


def drive_traffic(app, seconds: float = 60) -> int:
    # the Service may still be switching to the new pods right after `helm upgrade --wait`
    wait_for("the API to answer /ready", lambda: urllib.request.urlopen(f"{app['api']}/ready", timeout=5).status == 200,
             120, 2)
    agents = http_json(f"{app['api']}/v1/agents")
    listed = agents.get("agents", []) if isinstance(agents, dict) else agents
    names = [a["name"] for a in listed][:3] or ["assistant"]
    sent, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name in names:
            try:
                http_json(f"{app['api']}/v1/agents/{name}/invocations?wait=5",
                          {"input": "what is 2+3*4; time in Europe/Paris"}, timeout=15)
            except urllib.error.HTTPError:
                pass
            sent += 1
        for path in ("/health", "/ready", "/v1/does-not-exist"):
            try:
                urllib.request.urlopen(f"{app['api']}{path}", timeout=5).read()
            except urllib.error.HTTPError:
                pass
            sent += 1
    return sent


def test_every_dashboard_query_returns_data(stack, app):
    REPORT["traffic_requests"] = drive_traffic(app)
    dashboard = json.loads((DASHBOARD_DIR / "agent-service.json").read_text())
    queries = [(p["title"], t["refId"], t["expr"])
               for p in dashboard["panels"] if p["type"] != "row" for t in p["targets"]]
    empty = {}
    deadline = time.monotonic() + 240
    for title, ref, expr in queries:
        expr = expr.replace("$__rate_interval", "2m").replace("$namespace", APP_NS)
        while True:
            result = prom_query(stack, expr)
            if result or time.monotonic() > deadline:
                break
            time.sleep(10)
        if not result:
            empty[f"{title}/{ref}"] = expr
    REPORT["dashboard_queries"] = {"total": len(queries), "with_data": len(queries) - len(empty), "empty": empty}
    assert not empty, f"{len(empty)}/{len(queries)} dashboard queries returned no data: {json.dumps(empty, indent=1)}"


def test_inhibited_alert_does_not_arrive(stack, receiver):
    # fresh namespace and service per run: Alertmanager groups by alertname/cluster/service and does not
    # notify a group again for an unchanged firing set (repeat_interval), e.g. when re-run on the same stack
    ns = f"inhibition-check-{int(time.time())}"
    now = datetime.now(UTC)
    ends = (now + timedelta(minutes=10)).isoformat()
    common = {"namespace": ns, "service": f"agent-service-{ns}", "team": "api", "cluster": "testbed"}
    alerts = [
        {"labels": {**common, "alertname": "AgentServiceDown", "severity": "critical"},
         "annotations": {"summary": "inhibition check: source"}, "startsAt": now.isoformat(), "endsAt": ends},
        {"labels": {**common, "alertname": "AgentServiceHighLatency", "severity": "warning"},
         "annotations": {"summary": "inhibition check: target"}, "startsAt": now.isoformat(), "endsAt": ends},
    ]
    http_json(f"{stack['alertmanager']}/api/v2/alerts", alerts)
    arrived = wait_for("the source alert at the webhook", lambda: receiver.find(
        lambda m: "AgentServiceDown" in slack_text(m) and f"namespace={ns}" in slack_text(m)), 120, 2)
    time.sleep(45)  # longer than every group_wait of the routes the target would take
    target = receiver.find(lambda m: "AgentServiceHighLatency" in slack_text(m) and f"namespace={ns}" in slack_text(m))
    assert not target, target
    query = urllib.parse.urlencode([("filter", 'alertname="AgentServiceHighLatency"'), ("filter", f'namespace="{ns}"')])
    state = http_json(f"{stack['alertmanager']}/api/v2/alerts?{query}")
    assert state and state[0]["status"]["state"] == "suppressed" and state[0]["status"]["inhibitedBy"], state
    REPORT["inhibition"] = {"source_messages": len(arrived), "target_state": state[0]["status"]["state"]}


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def muted_by(interval_name: str, at: datetime) -> bool:
    """Whether Alertmanager's time interval ``interval_name`` (monitoring/alertmanager.yml, UTC, weekdays
    and times only) holds at ``at``."""
    config = load_yaml(ROOT / "monitoring" / "alertmanager.yml")
    interval = next(i for i in config["time_intervals"] if i["name"] == interval_name)
    minute = at.hour * 60 + at.minute
    for spec in interval["time_intervals"]:
        days = set()
        for day in spec.get("weekdays", WEEKDAYS):
            first, _, last = day.partition(":")
            days.update(WEEKDAYS[WEEKDAYS.index(first):WEEKDAYS.index(last or first) + 1])
        times = [(t["start_time"], t["end_time"]) for t in spec.get("times", [{"start_time": "00:00",
                                                                              "end_time": "24:00"}])]
        in_time = any(int(a[:2]) * 60 + int(a[3:]) <= minute < int(b[:2]) * 60 + int(b[3:]) for a, b in times)
        if WEEKDAYS[at.weekday()] in days and in_time:
            return True
    return False


def test_maintenance_window_is_read_from_the_config():
    sunday = datetime(2026, 12, 6, tzinfo=UTC)
    assert muted_by("maintenance", sunday.replace(hour=2))
    assert muted_by("maintenance", sunday.replace(hour=3, minute=59))
    assert not muted_by("maintenance", sunday.replace(hour=4)) and not muted_by("maintenance", sunday.replace(hour=1))
    assert not muted_by("maintenance", (sunday + timedelta(days=1)).replace(hour=3))
    assert muted_by("out-of-hours", sunday.replace(hour=12)) and not muted_by("out-of-hours", datetime(
        2026, 12, 7, 12, tzinfo=UTC))


def test_fault_fires_and_reaches_the_webhook(stack, app, receiver):
    """Stop PostgreSQL: PostgreSQLConnectionErrors (critical, team database) must reach #alerts-critical and,
    outside the maintenance window that mutes the team routes, #team-database-alerts, with its routing labels."""
    alert = "PostgreSQLConnectionErrors"

    def mentions(m, word):
        return alert in slack_text(m) and f"namespace={APP_NS}" in slack_text(m) and word in slack_text(m)
    # Alertmanager notifies a group again only once its earlier firing was resolved: if the exporter
    # reported the database down while the app was starting, wait for that resolution first.
    if receiver.find(lambda m: mentions(m, "[FIRING")):
        wait_for(f"the start-up {alert} to be resolved", lambda: receiver.find(lambda m: mentions(m, "[RESOLVED")), 420)
    fault_at = time.monotonic()
    kubectl("-n", APP_NS, "scale", "statefulset", f"{RELEASE}-postgresql", "--replicas=0")
    try:
        def delivered():
            got = receiver.find(lambda m: m["at"] > fault_at and mentions(m, "[FIRING"))
            channels = {m["body"].get("channel") for m in got}
            wanted = {"#alerts-critical"} | (set() if muted_by("maintenance", datetime.now(UTC))
                                             else {"#team-database-alerts"})
            return got if wanted <= channels else None
        got = wait_for(f"{alert} at the webhook", delivered, 420, 2)
        first = min(m["at"] for m in got)
        text = slack_text(got[0])
        labels = ("severity=critical", "team=database", "service=postgresql", "cluster=testbed", f"namespace={APP_NS}")
        for label in labels:
            assert label in text, (label, text)
        REPORT["fault"] = "PostgreSQL StatefulSet scaled to 0"
        REPORT["fault_to_webhook_seconds"] = round(first - fault_at, 1)
        REPORT["fault_channels"] = sorted({m["body"].get("channel") for m in got})
        fired = prom_query(stack, f'ALERTS{{alertname="{alert}", alertstate="firing", namespace="{APP_NS}"}}')
        assert fired, f"{alert} is not firing in Prometheus"
    finally:
        kubectl("-n", APP_NS, "scale", "statefulset", f"{RELEASE}-postgresql", "--replicas=1", check=False)


def test_scrapes_pass_the_charts_network_policies(stack, app):
    """Item 5 of issue 16, Prometheus -> metrics: with the chart's NetworkPolicies on (as staging and
    prod run them), the stack's Prometheus, in namespace monitoring, still scrapes the API and the
    workers, while a pod of another namespace cannot open their metrics ports, nor the bundled
    PostgreSQL and Redis (by their Services). Last in this module: the policies also close those
    two to the stack's exporters."""
    values = results_dir() / "network-policy-values.yaml"
    values.write_text("networkPolicy:\n  enabled: true\n")
    install_app(RELEASE, APP_NS, values)
    applied = time.time()
    names = {p["metadata"]["name"] for p in kget("networkpolicy", "-n", APP_NS)["items"]}
    assert {f"{RELEASE}-default-deny", f"{RELEASE}-api-ingress", f"{RELEASE}-worker-ingress"} <= names, names

    def scraped_since():
        """Scrape pools whose every target was scraped well after the policies, and is up."""
        targets = http_json(f"{stack['prometheus']}/api/v1/targets?state=active")["data"]["activeTargets"]
        ours = [t for t in targets if t["labels"].get("namespace") == APP_NS
                and t["scrapePool"].startswith(f"serviceMonitor/{APP_NS}/{RELEASE}/")]
        late = [t for t in ours
                if datetime.fromisoformat(t["lastScrape"].replace("Z", "+00:00")).timestamp() > applied + 20]
        if len(late) < len(ours) or len({t["scrapePool"] for t in ours}) < 2:
            return None
        assert all(t["health"] == "up" for t in ours), [(t["scrapeUrl"], t["lastError"]) for t in ours]
        return {t["scrapeUrl"] for t in ours}
    urls = wait_for("scrapes of the API and worker targets after the policies", scraped_since, 180, 5)
    REPORT["scraped_under_network_policies"] = sorted(urls)

    probe_ns = f"{APP_NS}-probe"
    stores = {f"tcp://{RELEASE}-postgresql.{APP_NS}.svc.cluster.local:5432",
              f"tcp://{RELEASE}-redis.{APP_NS}.svc.cluster.local:6379"}
    image = kget("deployment", "-n", APP_NS, f"{RELEASE}-api")["spec"]["template"]["spec"]["containers"][0]["image"]
    kubectl("create", "namespace", probe_ns, check=False)
    try:
        # The pod's output is read from its logs once it has ended: `kubectl run -i` can attach after
        # a short-lived pod ended and then prints nothing.
        wait_for("the probe namespace's default ServiceAccount",
                 lambda: kget("serviceaccount", "-n", probe_ns, "default"), 60, 1)
        kubectl(
            "run", "probe", "-n", probe_ns, "--restart=Never", "--image-pull-policy=Never",
            f"--image={image}", "--command", "--",
            "python", "-c",
            "import json, socket, sys, urllib.parse\n"
            "out = {}\n"
            "for url in sys.argv[1:]:\n"
            "    u = urllib.parse.urlsplit(url)\n"
            "    try:\n"
            "        socket.create_connection((u.hostname, u.port), timeout=4).close()\n"
            "        out[url] = 'open'\n"
            "    except OSError as exc:\n"
            "        out[url] = type(exc).__name__\n"
            "print(json.dumps(out))\n",
            *sorted(urls | stores))
        def ended():
            phase = kget("pod", "-n", probe_ns, "probe")["status"].get("phase")
            return phase if phase in ("Succeeded", "Failed") else None
        phase = wait_for("the probe pod to end", ended, 120, 2)
        logs = kubectl("logs", "-n", probe_ns, "probe").stdout
        assert phase == "Succeeded", (phase, logs)
        reached = json.loads(logs.strip().splitlines()[-1])
    finally:
        kubectl("delete", "namespace", probe_ns, "--wait=false", check=False)
    assert sorted(reached) == sorted(urls | stores), reached
    assert "open" not in reached.values(), reached
    REPORT["other_namespace_to_app"] = reached


@pytest.fixture(scope="session", autouse=True)
def write_report():
    yield
    (results_dir() / "live-report.json").write_text(json.dumps(REPORT, indent=2, default=str))
