"""OpenTelemetry tracing, for real: the collector built by `make otelcol` (OTLP in, JSON-lines
file out) on loopback, the API (uvicorn) and a Celery worker started through the container
entrypoint with tracing on, one agent invocation that calls tools. The spans are read back
from the collector's output file, never from the app.

Ports 58060-58069: 58060 collector OTLP/HTTP, 58061 collector OTLP/gRPC, 58062 API,
58063 worker metrics, 58064 the page the http_get tool fetches.
The API exports over OTLP/HTTP, the worker over gRPC: both protocols are exercised.
Redis DB 2 (the other tests use DB 0): the session's worker never sees these tasks."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from tests.conftest import APP_DIR, Proc, start_api, start_process, start_worker, wait_for
from tests.services import wait_port

OTLP_HTTP_PORT, OTLP_GRPC_PORT, API_PORT, WORKER_METRICS_PORT, PAGE_PORT = 58060, 58061, 58062, 58063, 58064
OTELCOL = Path(os.environ.get("BIN_DIR", Path.home() / ".cache/agent-service-platform/bin")) / "otelcol-agent-service"
SPAN_KIND = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}

COLLECTOR_CONFIG = """\
receivers:
  otlp:
    protocols:
      http: {{endpoint: "127.0.0.1:{http}"}}
      grpc: {{endpoint: "127.0.0.1:{grpc}"}}
processors:
  batch: {{timeout: 100ms}}
exporters:
  file:
    path: {path}
    format: json
service:
  telemetry:
    metrics: {{level: none}}
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [file]}}
"""


# --- settings (pure logic) ---------------------------------------------------------------------

@pytest.mark.no_services
@pytest.mark.parametrize(("env", "field", "words"), [
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL", "'http/protobuf' or 'grpc'"),
    ({"TRACING_SAMPLER_RATIO": "1.5"}, "TRACING_SAMPLER_RATIO", "less than or equal to 1"),
    ({"TRACING_SAMPLER_RATIO": "-0.1"}, "TRACING_SAMPLER_RATIO", "greater than or equal to 0"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT", "http(s):// URL"),
    ({"TRACING_ENABLED": "maybe"}, "TRACING_ENABLED", "valid boolean"),
])
def test_bad_tracing_settings_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], field: str,
                                          words: str) -> None:
    from app.core.config import Settings

    monkeypatch.setenv("TRACING_ENABLED", "true")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert field in str(info.value) and words in str(info.value)


@pytest.mark.no_services
def test_tracing_endpoints_and_names() -> None:
    from app.core.config import Settings
    from app.core.tracing import service_name, traces_endpoint

    assert traces_endpoint(Settings(TRACING_ENABLED=True)) == "http://localhost:4318/v1/traces"
    assert traces_endpoint(Settings(OTEL_EXPORTER_OTLP_PROTOCOL="grpc")) == "http://localhost:4317"
    assert traces_endpoint(Settings(OTEL_EXPORTER_OTLP_ENDPOINT="http://otel:4318/")) == "http://otel:4318/v1/traces"
    assert traces_endpoint(Settings(OTEL_EXPORTER_OTLP_ENDPOINT="https://otel/v1/traces")) == "https://otel/v1/traces"
    assert service_name(Settings(), "beat") == "agent-service-beat"
    assert service_name(Settings(OTEL_SERVICE_NAME="prod-api"), "api") == "prod-api"


@pytest.mark.no_services
def test_tracing_off_configures_no_exporter() -> None:
    """Default settings: the API and a worker child set nothing up, neither the trace SDK nor an
    exporter is imported (redis-py imports the metrics SDK for its own use), and the global
    tracer provider stays the API's no-op proxy."""
    probe = textwrap.dedent("""
        import json, sys
        from opentelemetry import trace
        from app.core.config import get_settings
        from app.core.tracing import configure_tracing, tracing_active
        from app.main import create_app
        from app.worker import signals
        app = create_app()
        signals._child_init()
        with trace.get_tracer("probe").start_as_current_span("x") as span:
            recording = span.is_recording()
        print(json.dumps({
            "enabled": get_settings().TRACING_ENABLED, "active": tracing_active(),
            "configure": configure_tracing(get_settings(), "beat"),
            "provider": type(trace.get_tracer_provider()).__name__,
            "sdk_loaded": sorted(m for m in sys.modules
                                 if m.startswith(("opentelemetry.sdk.trace", "opentelemetry.exporter"))),
            "recording": recording,
        }))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACING_", "OTEL_"))}
    env["PYTHONPATH"] = str(APP_DIR)
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=APP_DIR, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"enabled": False, "active": False, "configure": False, "provider": "ProxyTracerProvider",
                      "sdk_loaded": [], "recording": False}


# --- the real thing -------------------------------------------------------------------------------

class Collector:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.output = root / "traces.jsonl"
        self.config = root / "otelcol.yaml"
        self.log = root / "otelcol.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.config.write_text(COLLECTOR_CONFIG.format(http=OTLP_HTTP_PORT, grpc=OTLP_GRPC_PORT, path=self.output))
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([str(OTELCOL), "--config", str(self.config)], stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_port(OTLP_HTTP_PORT, timeout=30)
            wait_port(OTLP_GRPC_PORT, timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"collector did not start:\n{self.log.read_text()[-4000:]}") from None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def spans(self) -> list[dict[str, Any]]:
        """Every span in the file, flattened, with its resource's service.name."""
        spans: list[dict[str, Any]] = []
        if not self.output.exists():
            return spans
        text = self.output.read_text()
        # only whole lines: the exporter may be half-way through writing the last one
        for line in text[: text.rfind("\n") + 1].splitlines():
            if not line.strip():
                continue
            for rs in json.loads(line).get("resourceSpans", []):
                resource = _attrs(rs.get("resource", {}).get("attributes", []))
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        spans.append({**span, "service": resource.get("service.name"),
                                      "scope": ss.get("scope", {}).get("name"),
                                      "attrs": _attrs(span.get("attributes", [])),
                                      "kind_name": SPAN_KIND.get(span.get("kind", 0), "unspecified")})
        return spans


def _is_http_client(span: dict[str, Any]) -> bool:
    return span["kind_name"] == "client" and bool(span["attrs"].get("http.request.method")
                                                  or span["attrs"].get("http.method"))


def _attrs(items: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        value = item.get("value", {})
        out[item["key"]] = next(iter(value.values()), None) if value else None
    return out


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    if not OTELCOL.exists():
        pytest.fail(f"{OTELCOL} is missing: run `make otelcol` (make app-test builds it)")
    server = Collector(tmp_path_factory.mktemp("otelcol"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def traced(base_env: dict[str, str], migrated: object, collector: Collector) -> Iterator[tuple[Proc, Proc]]:
    common = {**base_env, "REDIS_DB": "2", "TRACING_ENABLED": "true", "TRACING_SAMPLER_RATIO": "1",
              "OTEL_BSP_SCHEDULE_DELAY": "200", "HTTP_TOOL_ALLOWLIST": f"127.0.0.1:{PAGE_PORT}"}
    api = start_api("traced-api", {**common, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{OTLP_HTTP_PORT}",
                                   "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, API_PORT)
    try:
        worker = start_worker("traced", {**common, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{OTLP_GRPC_PORT}",
                                         "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, WORKER_METRICS_PORT, concurrency=1)
    except Exception:
        api.stop()
        raise
    yield api, worker
    worker.stop()
    api.stop()


def _log_lines(proc: Proc) -> list[dict[str, Any]]:
    lines = []
    for line in proc.output().splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return lines


def test_one_invocation_is_one_trace_across_api_and_worker(traced: tuple[Proc, Proc], collector: Collector) -> None:
    api, worker = traced
    request_id = f"trace-test-{uuid.uuid4().hex[:12]}"
    with HTTPServer("127.0.0.1", PAGE_PORT) as page:
        page.expect_request("/page").respond_with_data("traced page", content_type="text/plain")
        response = httpx.post(
            f"http://127.0.0.1:{API_PORT}/v1/agents/assistant/invocations", params={"wait": 20},
            json={"input": f"lookup celery; fetch http://127.0.0.1:{PAGE_PORT}/page"},
            headers={"X-Request-ID": request_id}, timeout=30,
        )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["status"] == "succeeded", data
    assert [c["tool"] for c in data["tool_calls"]] == ["lookup", "http_get"]

    def server_span() -> dict[str, Any] | None:
        route = "/v1/agents/{agent}/invocations"
        return next((s for s in collector.spans() if s["service"] == "agent-service-api"
                     and s["kind_name"] == "server" and s["attrs"].get("http.route") == route), None)

    root = wait_for(server_span, timeout=30, interval=0.3, message="the API's server span in the collector's file")
    trace_id = root["traceId"]

    def whole_trace() -> list[dict[str, Any]] | None:
        spans = [s for s in collector.spans() if s["traceId"] == trace_id]
        names = {s["name"] for s in spans}
        done = {"run/agent.run_invocation", "tool http_get"} <= names and any(
            _is_http_client(s) and s["service"] == "agent-service-worker" for s in spans)
        return spans if done else None

    spans = wait_for(whole_trace, timeout=30, interval=0.3, message="the worker's spans of the same trace")
    by_service: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_service.setdefault(span["service"], []).append(span)
    summary = sorted(f'{s["service"]}: {s["kind_name"]} {s["name"]}' for s in spans)
    print(f"\ntrace {trace_id}: {len(spans)} spans\n  " + "\n  ".join(summary))
    if os.environ.get("RESULTS"):  # make app-test: the numbers for the report
        out = Path(os.environ["RESULTS"]) / "app" / "trace-spans.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"trace {trace_id}: {len(spans)} spans\n" + "\n".join(summary) + "\n")

    # one trace, two processes
    assert set(by_service) == {"agent-service-api", "agent-service-worker"}, summary
    assert root.get("parentSpanId", "") == "", "the API's server span is the root"
    ids = {s["spanId"] for s in spans}
    assert all(s.get("parentSpanId", "") in ids for s in spans if s["spanId"] != root["spanId"]), \
        "every span hangs off the trace"

    def has(service: str, kind: str, predicate: Any) -> bool:
        return any(s["service"] == service and s["kind_name"] == kind and predicate(s) for s in spans)

    api_svc, worker_svc = "agent-service-api", "agent-service-worker"
    # request -> enqueue -> task -> tool calls -> DB
    assert has(api_svc, "producer", lambda s: s["name"] == "apply_async/agent.run_invocation"), summary
    assert has(worker_svc, "consumer", lambda s: s["name"] == "run/agent.run_invocation"), summary
    for tool in ("lookup", "http_get"):
        assert has(worker_svc, "internal", lambda s, t=tool: s["name"] == f"tool {t}"
                   and s["attrs"].get("tool.status") == "ok"), summary
    assert has(worker_svc, "internal", lambda s: s["name"] == "agent.step"), summary

    def is_db(s: dict[str, Any]) -> bool:
        return (s["attrs"].get("db.system") or s["attrs"].get("db.system.name")) == "postgresql"

    assert has(api_svc, "client", is_db), "the API's INSERT of the invocation"
    assert has(worker_svc, "client", is_db), "the worker's UPDATEs and the lookup tool's SELECT"
    tool_span = next(s for s in spans if s["name"] == "tool lookup")
    assert any(is_db(s) and s.get("parentSpanId") == tool_span["spanId"] for s in spans), "lookup's SELECT"
    assert has(api_svc, "client", lambda s: s["attrs"].get("db.system") == "redis"
               or s["attrs"].get("db.system.name") == "redis"), "the rate limiter / the enqueue"
    http_span = next(s for s in spans if _is_http_client(s) and s["service"] == worker_svc)
    assert http_span.get("parentSpanId") == next(s for s in spans if s["name"] == "tool http_get")["spanId"]
    # ... and the trace context went out with the tool's request (W3C traceparent)
    assert page.log and page.log[0][0].headers.get("traceparent", "").split("-")[1] == trace_id

    # log lines carry the trace and span ids beside the request id
    access = [entry for entry in _log_lines(api) if entry.get("request_id") == request_id]
    assert access and all(entry.get("trace_id") == trace_id for entry in access), access
    assert all(len(entry.get("span_id", "")) == 16 for entry in access)
    finished = [entry for entry in _log_lines(worker)
                if entry.get("msg") == "invocation finished" and entry.get("invocation_id") == data["id"]]
    assert finished and finished[0].get("trace_id") == trace_id, finished
    tool_logs = [entry for entry in _log_lines(worker) if entry.get("msg") == "tool call"
                 and entry.get("trace_id") == trace_id]
    assert {entry["tool"] for entry in tool_logs} == {"lookup", "http_get"}


def test_probes_are_not_traced(traced: tuple[Proc, Proc], collector: Collector) -> None:
    for path in ("/health", "/ready", "/metrics"):
        assert httpx.get(f"http://127.0.0.1:{API_PORT}{path}", timeout=5).status_code == 200
    marker = httpx.get(f"http://127.0.0.1:{API_PORT}/v1/agents", timeout=5)
    assert marker.status_code == 200
    wait_for(lambda: any(s["attrs"].get("http.route") == "/v1/agents" for s in collector.spans()), timeout=30,
             interval=0.3, message="the /v1/agents server span")
    routes = {s["attrs"].get("http.route") for s in collector.spans() if s["kind_name"] == "server"}
    assert not routes & {"/health", "/ready", "/metrics"}, routes


@pytest.mark.no_services
def test_collector_binary_is_the_pinned_build() -> None:
    if shutil.which(str(OTELCOL)) is None:
        pytest.fail(f"{OTELCOL} is missing: run `make otelcol`")
    version = subprocess.run([str(OTELCOL), "--version"], capture_output=True, text=True, check=True).stdout
    versions = dict(line.split("=", 1) for line in (APP_DIR.parent / "versions.env").read_text().splitlines()
                    if line and not line.startswith("#") and "=" in line)
    assert versions["OTELCOL_VERSION"].lstrip("v") in version, version


def test_beat_sets_up_tracing_at_start(base_env: dict[str, str], collector: Collector) -> None:
    """beat_init sets tracing up in beat (its first publish comes only after the 60 s interval,
    too late for a test: the worker side of a published task is covered above)."""
    beat = start_process("traced-beat", ["beat"], {
        **base_env, "REDIS_DB": "2", "TRACING_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{OTLP_HTTP_PORT}",
    })
    try:
        def started() -> dict[str, Any] | None:
            return next((e for e in _log_lines(beat) if e.get("msg") == "tracing on"), None)

        try:
            entry = wait_for(started, timeout=60, interval=0.3, message="beat's 'tracing on' line")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; beat said:\n{beat.output()[-3000:]}") from None
        assert beat.alive()
    finally:
        beat.stop()
    assert entry["service"] == "agent-service-beat"
    assert entry["otlp_endpoint"] == f"http://127.0.0.1:{OTLP_HTTP_PORT}/v1/traces"
