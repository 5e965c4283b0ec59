"""Logs you can search (issue 22), on the test bed: `make monitoring-live-test`.

The monitoring stack's log store (VictoriaLogs) and log agent (the OpenTelemetry Collector as a
DaemonSet) are installed by the `stack` fixture, as roles/monitoring_stack does by default.
This module installs the chart with tracing on in a namespace of its own and checks, against
the store and never against the pods:
- one invocation: its lines from the API pod and from the worker pod, found by its trace id
  within 30 s, the API's line carrying the request id of the response header;
- logs outlive pods: the error lines of a faulty version are still found by its version label
  after a rollback removed its pods, one line for each failed request (by request id);
- every runbook's log query parses on the running store.
Figures (latency from a line's write to its being found, the store's memory and disk) go to
$RESULTS/monitoring/logs-report.json.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import pytest
from conftest import MON_NS, ROOT, SELECT_LABEL, kget, kubectl, results_dir, wait_for

pytestmark = pytest.mark.live

LOG_NS = os.environ.get("MONITORING_LOGS_NAMESPACE", "mon-logs")
RELEASE = "agent-service"
CHART = ROOT / "helm" / "agent-service"
# other tags of the same build (`make e2e-images`): their pods carry other version labels
BAD_VERSION = "3.0.1"
ANALYSED_VERSION = "3.0.0"
REPORT: dict = {}


def load(name: str, path):
    """A helper module of another test directory (tests/ is no package), registered under ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the trace test's collector (the spans' sink) and the runbooks' LogsQL queries
tracing_cluster = load("tracing_cluster", ROOT / "tests" / "tracing" / "test_tracing_cluster.py")
runbook_lib = load("runbook_lib", ROOT / "tests" / "runbooks" / "runbook_lib.py")
RUNBOOK_QUERIES = runbook_lib.logsql_queries()


def logsql(store: str, query: str, limit: int = 5000, **span: float) -> list[dict]:
    """The store's answer to a LogsQL query (optionally over start <= _time < end): one dict per line."""
    params = {"query": query, "limit": str(limit), **{key: str(value) for key, value in span.items()}}
    data = urllib.parse.urlencode(params).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{store}/select/logsql/query", data=data), timeout=20) as resp:
        return [json.loads(line) for line in resp.read().decode().splitlines() if line.strip()]


def helm(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([shutil.which("helm") or "helm", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + kubectl("-n", LOG_NS, "get", "pods,events", check=False).stdout
    return proc


def post(url: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict, dict]:
    """(status, headers by lower-case name, JSON body) of a POST, error statuses included."""
    req = urllib.request.Request(url, data=json.dumps(body or {}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, json.loads(exc.read() or b"{}")


@pytest.fixture(scope="module")
def store(stack) -> str:
    """The store's URL (its pod, from the host), once it answers."""
    ip = wait_for("the log store's pod IP",
                  lambda: kget("pod", "-n", MON_NS, "victoria-logs-0")["status"].get("podIP"), 120)
    url = f"http://{ip}:9428"
    wait_for("the log store to answer", lambda: urllib.request.urlopen(f"{url}/health", timeout=5).status == 200, 120)
    return url


def deploy(label: str, stack: dict, store: str, version: str, **extra) -> tuple[int, str, dict | None]:
    """agent_service.platform.deploy of `version` into LOG_NS, as an operator runs it: (rc, output, report)."""
    work = results_dir() / "logs-deploy"
    reports = work / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    variables = {
        "release_kubeconfig": os.environ["KUBECONFIG"], "release_chart_path": str(CHART),
        "release_env": "dev", "release_inventory_env": "dev", "release_name": RELEASE, "release_namespace": LOG_NS,
        "release_version": version, "release_backup_dir": str(work / "backups"), "release_report_dir": str(reports),
        "release_prometheus_url": stack["prometheus"], "release_logs_url": store, "release_timeout": "5m0s",
        "release_analysis_interval": "10s", "release_analysis_count": 3, "release_analysis_window": "30s",
        "release_analysis_initial_delay": "20s", "release_analysis_threshold": 0.05, "release_fail_on_rollback": False,
        "release_values": {
            "secrets": {"postgresPassword": "logs-test-postgres", "redisPassword": "logs-test-redis"},
            # spans go to a collector in the namespace: the app's lines carry trace ids
            "tracing": {"enabled": True, "endpoint": f"http://otel-collector.{LOG_NS}.svc:4318",
                        "protocol": "http/protobuf", "samplerRatio": 1},
            "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": SELECT_LABEL}, "interval": "15s"}},
        },
        **extra,
    }
    varfile = work / f"{label}.vars.json"
    varfile.write_text(json.dumps(variables, indent=1))
    inventory = work / "inventory.yml"
    inventory.write_text("all:\n  children:\n    agent_service:\n      hosts:\n        logs-test:\n"
                         "          ansible_connection: local\n"
                         f"          ansible_python_interpreter: {sys.executable}\n")
    before = set(reports.rglob("*.json"))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".cache" / "collections"))
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / "deploy.yml"),
                           "-e", f"@{varfile}"], capture_output=True, text=True, env=env, timeout=900)
    (work / f"{label}.log").write_text(proc.stdout + proc.stderr)
    new = sorted((p for p in set(reports.rglob("*.json")) - before if "values" not in p.name),
                 key=lambda p: p.stat().st_mtime)
    report = json.loads(new[-1].read_text()) if new else None
    if report is not None:
        report["_markdown"] = new[-1].with_suffix(".md").read_text()
    return proc.returncode, proc.stdout + proc.stderr, report


@pytest.fixture(scope="module")
def app(stack, store) -> dict:
    """The chart through the deploy playbook, with tracing on (to a collector in the namespace), at the
    build's version; no analysis (nothing to compare with yet)."""
    kubectl("create", "namespace", LOG_NS, check=False)
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                   "items": tracing_cluster.collector_manifests(LOG_NS)}))
    kubectl("-n", LOG_NS, "rollout", "status", "deployment/otel-collector", "--timeout=180s")
    tag = os.environ.get("APP_IMAGE_TAG") or tracing_cluster.app_tag()
    rc, out, report = deploy("install", stack, store, tag, release_analysis_enabled=False)
    assert rc == 0 and report and report["verdict"] == "succeeded", out[-4000:]
    svc = kget("service", "-n", LOG_NS, RELEASE)
    yield {"api": f"http://{svc['spec']['clusterIP']}:{svc['spec']['ports'][0]['port']}", "version": tag}
    if os.environ.get("MONITORING_LIVE_KEEP") != "1":
        kubectl("delete", "namespace", LOG_NS, "--wait=false", check=False)


def pods(component: str, version: str | None = None) -> set[str]:
    """This release's running pods of a component (of one version), those being deleted left out."""
    selector = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}"
    if version:
        selector += f",app.kubernetes.io/version={version}"
    return {p["metadata"]["name"] for p in kget("pods", "-n", LOG_NS, "-l", selector)["items"]
            if not p["metadata"].get("deletionTimestamp")}


def test_one_invocation_all_its_lines_from_the_store(store, app):
    """Item 2: the lines of one invocation from the API pod and the worker pod, by trace id, within 30 s."""
    status, headers, body = post(f"{app['api']}/v1/agents/assistant/invocations?wait=25",
                                 {"input": "what is 2+3*4; lookup celery"})
    answered = time.monotonic()
    assert status in (200, 201, 202) and body.get("status") == "succeeded", (status, body)
    request_id = headers["x-request-id"]
    api_pods, worker_pods = pods("api"), pods("worker")

    def found():
        api_lines = logsql(store, f'k8s.namespace.name:="{LOG_NS}" request_id:="{request_id}"')
        trace_ids = {line.get("trace_id") for line in api_lines} - {None, ""}
        if len(trace_ids) != 1:
            return None
        lines = logsql(store, f'trace_id:="{next(iter(trace_ids))}"')
        by_pod = {}
        for line in lines:
            by_pod.setdefault(line.get("k8s.pod.name"), []).append(line)
        if not (set(by_pod) & api_pods and set(by_pod) & worker_pods):
            return None
        return {"trace_id": next(iter(trace_ids)), "lines": lines, "by_pod": by_pod, "api_lines": api_lines,
                "found_at": time.time()}

    result = wait_for("the invocation's lines from the API and worker pods in the store", found, 30, 0.5)
    seconds = round(time.monotonic() - answered, 2)
    # write-to-found: from the runtime's timestamp of the newest line (the worker's last) to the query
    # that found them all (polled every 0.5 s)
    newest = max(datetime.fromisoformat(line["_time"].replace("Z", "+00:00")).timestamp() for line in result["lines"])
    REPORT["invocation"] = {"request_id": request_id, "trace_id": result["trace_id"], "found_after_seconds": seconds,
                            "newest_line_written_to_found_seconds": round(result["found_at"] - newest, 2),
                            "lines_per_pod": {pod: len(lines) for pod, lines in result["by_pod"].items()}}
    assert seconds <= 30, seconds
    # every line of the trace comes from this release's pods, with the fields the agent adds
    assert set(result["by_pod"]) <= api_pods | worker_pods, sorted(result["by_pod"])
    for line in result["lines"]:
        assert line["k8s.namespace.name"] == LOG_NS and line.get("service.version") == app["version"], line
        assert line.get("app.component") in ("api", "worker") and line.get("k8s.container.name"), line
    # the API's request line carries the request id of the response header, and the trace id
    requests = [line for line in result["api_lines"] if line.get("_msg") == "request"]
    assert requests and all(line["request_id"] == request_id and line["trace_id"] == result["trace_id"]
                            and line["k8s.pod.name"] in api_pods for line in requests), requests
    worker_msgs = {line.get("_msg") for pod, lines in result["by_pod"].items() if pod in worker_pods for line in lines}
    assert "invocation finished" in worker_msgs, worker_msgs


def test_error_lines_outlive_the_pods_of_a_rolled_back_version(store, app):
    """Item 3: a faulty version's error lines, found by its version label once a rollback removed its pods."""
    revision = json.loads(helm("history", RELEASE, "-n", LOG_NS, "-o", "json").stdout)[-1]["revision"]
    sent, bad_pods = set(), set()
    try:
        helm("upgrade", RELEASE, str(CHART), "-n", LOG_NS, "--reuse-values", "--set", f"image.tag={BAD_VERSION}",
             "--set-json", "config.faultErrorRate=1", "--wait", "--timeout", "5m")
        # the Service sends requests to the new version's pods only once the old ones are gone
        wait_for("only the faulty version's API pods", lambda: pods("api") == pods("api", BAD_VERSION), 120, 2)
        bad_pods = pods("api", BAD_VERSION)
        assert bad_pods
        for _ in range(10):
            status, headers, _ = post(f"{app['api']}/v1/agents/assistant/invocations", {"input": "2+2"}, timeout=10)
            assert status == 500, status
            sent.add(headers["x-request-id"])
    finally:
        helm("rollback", RELEASE, str(revision), "-n", LOG_NS, "--wait", "--timeout", "5m")
    wait_for("the faulty version's pods to be gone",
             lambda: not (bad_pods & {p["metadata"]["name"] for p in kget("pods", "-n", LOG_NS)["items"]}), 180, 2)
    gone_at = time.monotonic()

    query = f'k8s.namespace.name:="{LOG_NS}" service.version:="{BAD_VERSION}" level:=error'

    def found():
        lines = logsql(store, query)
        return lines if sent <= {line.get("request_id") for line in lines} else None
    lines = wait_for("the faulty version's error lines in the store", found, 60, 1)
    REPORT["rolled_back"] = {"query": query, "error_lines": len(lines), "requests_failed": len(sent),
                             "pods": sorted(bad_pods),
                             "found_seconds_after_pods_gone": round(time.monotonic() - gone_at, 2)}
    mine = [line for line in lines if line.get("request_id") in sent]
    # one error line per failed request, each from a pod of the faulty version that no longer exists
    assert sorted(line["request_id"] for line in mine) == sorted(sent), mine
    assert {line["k8s.pod.name"] for line in mine} <= bad_pods, mine
    assert all(line["status"] in (500, "500") and line["_msg"] == "request" for line in mine), mine


def test_the_deploy_report_counts_the_new_versions_error_lines(stack, store, app):
    """Item 5: a deploy of a version that fails half its requests; the analysis fails on the error rate and the
    release rolls back, and the report shows, beside the error rate, the error-level lines that the store
    holds for that version over the analysis: the lines the store gives for the report's query."""
    rc, out, report = deploy("faulty", stack, store, ANALYSED_VERSION,
                             # half the requests fail: the smoke test (which retries) passes, the analysis does not
                             release_extra_values={"config": {"faultErrorRate": 0.5}})
    assert report and report["verdict"] == "rolled_back", out[-4000:]
    analysis = report["analysis"]
    assert analysis["passed"] is False, analysis
    logs = analysis["logs"]
    REPORT["deploy_report_logs"] = logs
    assert logs["error"] is None and logs["lines"] > 0, logs
    assert f'service.version:="{ANALYSED_VERSION}"' in logs["query"], logs
    assert f'k8s.namespace.name:="{LOG_NS}"' in logs["query"], logs
    # the store's own lines for the report's filter over the report's span: those the report counted,
    # each an error line of the analysed version from one failed request
    lines = logsql(store, logs["query"].split(" | stats ")[0], start=logs["start"], end=logs["end"])
    # the store makes a line searchable about 1.3 s after it is written: lines of the span's last
    # second may arrive after the count (the traffic sends at most 5 requests a second)
    assert logs["lines"] <= len(lines) <= logs["lines"] + 10, (len(lines), logs)
    assert {line["service.version"] for line in lines} == {ANALYSED_VERSION}, lines[:3]
    assert {line["level"] for line in lines} == {"error"}, lines[:3]
    ids = [line.get("request_id") for line in lines]
    assert all(ids) and len(set(ids)) == len(ids), ids
    # the Markdown report shows it beside the error rate
    assert f"- error-level log lines: {logs['lines']}, context, not a gate" in report["_markdown"], report["_markdown"]


def test_runbook_queries_are_found(store):
    """The runbooks have log queries to check (the offline tests in tests/runbooks decide which)."""
    assert len(RUNBOOK_QUERIES) >= 20, RUNBOOK_QUERIES


@pytest.mark.parametrize(("runbook", "query"), RUNBOOK_QUERIES,
                         ids=[f"{name}-{i}" for i, (name, _) in enumerate(RUNBOOK_QUERIES)])
def test_runbook_query_parses_on_the_store(store, runbook, query):
    """Item 4: each runbook's query, as written, is accepted by the running store (a query it cannot
    parse answers 400 with the parser's message)."""
    data = urllib.parse.urlencode({"query": query, "limit": "1"}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{store}/select/logsql/query", data=data),
                                    timeout=30) as resp:
            assert resp.status == 200
    except urllib.error.HTTPError as exc:
        pytest.fail(f"{runbook}: the store refused the query ({exc.code}): {exc.read().decode()[:500]}\n{query}")


def test_store_memory_and_disk(store):
    """The store's own figures, for the closing note (its /metrics)."""
    text = urllib.request.urlopen(f"{store}/metrics", timeout=10).read().decode()
    wanted = ("process_resident_memory_bytes", "vl_data_size_bytes", "vl_rows_ingested_total")
    values: dict[str, float] = {}
    for line in text.splitlines():
        name = line.split("{")[0].split(" ")[0]
        if name in wanted:
            values[name] = values.get(name, 0) + float(line.rsplit(" ", 1)[1])
    REPORT["store"] = values
    assert values.get("process_resident_memory_bytes", 0) > 0 and values.get("vl_rows_ingested_total", 0) > 0, values


@pytest.fixture(scope="module", autouse=True)
def write_report():
    yield
    REPORT["at"] = datetime.now(UTC).isoformat()
    (results_dir() / "logs-report.json").write_text(json.dumps(REPORT, indent=2, default=str))

