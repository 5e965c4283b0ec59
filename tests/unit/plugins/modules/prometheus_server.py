"""A real Prometheus (Debian's binary) scraping an exporter of known series, for the module tests.

The exporter is a pytest-httpserver server: every scrape adds fixed increments to each
counter, so each scenario has a constant error ratio (the numbers below). The
Prometheus scrapes it every second into a temporary TSDB on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PROMETHEUS_PORT = 59090
EXPORTER_PORT = 59091
SPARE_PROMETHEUS_PORT = 59092
JOB = "agent-service"

# (namespace, version, status) -> increment per scrape. Expected 5xx ratios:
# below 0.01, above 0.25, at 0.5, clean 0 (no 5xx series at all), idle NaN (no requests),
# canary: version 1.0.0 -> 0.0, 1.1.0 -> 0.5, both together 0.25.
REQUESTS = {
    ("below", "1.0.0", "200"): 99, ("below", "1.0.0", "500"): 1,
    ("above", "1.0.0", "200"): 75, ("above", "1.0.0", "503"): 25,
    # "at": two identical series, so rate() gives bit-identical floats and the ratio is exactly 0.5
    ("at", "1.0.0", "200"): 1, ("at", "1.0.0", "500"): 1,
    ("clean", "1.0.0", "200"): 40,
    ("idle", "1.0.0", "200"): 0, ("idle", "1.0.0", "500"): 0,
    ("canary", "1.0.0", "200"): 10, ("canary", "1.1.0", "200"): 5, ("canary", "1.1.0", "500"): 5,
}
# Latency histogram per scrape for namespace "below": 90 requests <= 0.1s, 9 in (0.1, 0.25], 1 in (0.25, 0.5].
BUCKETS = (("0.1", 90), ("0.25", 99), ("0.5", 100), ("+Inf", 100))


def terminate(proc):
    """Stop a server process: SIGTERM, then SIGKILL after 20 s."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Exporter:
    """GET /metrics renders the series; anything else is answered 501 Not Implemented."""

    def __init__(self, port=EXPORTER_PORT):
        self.scrapes = 0
        self.lock = threading.Lock()
        self.server = HTTPServer("127.0.0.1", port, threaded=True)
        self.server.no_handler_status_code = 501
        self.server.expect_request("/metrics", method="GET").respond_with_handler(
            lambda _request: Response(self.render(), content_type="text/plain; version=0.0.4"))

    def render(self):
        with self.lock:
            self.scrapes += 1
            n = self.scrapes
        lines = ["# TYPE http_requests_total counter"]
        for (namespace, version, status), step in sorted(REQUESTS.items()):
            lines.append(f'http_requests_total{{namespace="{namespace}",job="{JOB}",app_kubernetes_io_version='
                         f'"{version}",method="GET",handler="/v1/agents",status="{status}"}} {step * n}')
        lines.append("# TYPE http_request_duration_seconds histogram")
        labels = f'namespace="below",job="{JOB}",app_kubernetes_io_version="1.0.0",method="GET",handler="/v1/agents"'
        for le, step in BUCKETS:
            lines.append(f'http_request_duration_seconds_bucket{{{labels},le="{le}"}} {step * n}')
        lines.append(f"http_request_duration_seconds_count{{{labels}}} {100 * n}")
        lines.append(f"http_request_duration_seconds_sum{{{labels}}} {10 * n}")
        return "\n".join(lines) + "\n"

    def start(self):
        self.server.start()
        return self

    def stop(self):
        self.server.stop()


class Prometheus:
    def __init__(self, workdir, port=PROMETHEUS_PORT, exporter_port=EXPORTER_PORT):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.proc = None
        self.exporter_port = exporter_port

    def start(self):
        binary = shutil.which("prometheus")
        if not binary:
            raise RuntimeError("prometheus is not installed: run `make debs`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: {JOB}\n"
            "    honor_labels: true\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{self.exporter_port}']}}]\n"
        )
        self.log = open(self.workdir / "prometheus.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def query(self, promql, at=None):
        """Prometheus's own answer, straight from the HTTP API (no collection code)."""
        form = {"query": promql}
        if at is not None:
            form["time"] = repr(at)
        request = urllib.request.Request(f"{self.url}/api/v1/query", data=urllib.parse.urlencode(form).encode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            return json.load(exc)

    def wait_for(self, promql, timeout=60):
        """Wait until ``promql`` returns a numeric sample (enough scrapes for rate())."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}: "
                                   f"{(self.workdir / 'prometheus.log').read_text()[-2000:]}")
            try:
                last = self.query(promql)
                result = last.get("data", {}).get("result") or []
                if result and result[0]["value"][1] not in ("NaN",):
                    return
            except OSError as exc:
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"prometheus did not answer {promql!r} in {timeout}s: {last}")

    def stop(self):
        terminate(self.proc)
        if self.proc:
            self.log.close()


class AuthProxy:
    """A reverse proxy in front of the real Prometheus that demands a bearer token and a tenant header,
    as an authenticating gateway would. ``delay`` makes it answer late (timeout tests)."""

    def __init__(self, upstream, port, token, tenant):
        self.upstream, self.token, self.tenant = upstream, token, tenant
        self.delay = 0.0
        self.url = f"http://127.0.0.1:{port}"
        self.server = HTTPServer("127.0.0.1", port, threaded=True)
        self.server.expect_request("/api/v1/query", method="POST").respond_with_handler(self.forward)

    @property
    def seen(self):
        """The headers of each request, in order."""
        return [dict(request.headers) for request, _response in self.server.log]

    def forward(self, request: Request) -> Response:
        time.sleep(self.delay)
        authorized = request.headers.get("Authorization") == f"Bearer {self.token}"
        if not authorized or request.headers.get("X-Scope-OrgID") != self.tenant:
            return Response("missing or wrong credentials", status=401)
        upstream = urllib.request.Request(self.upstream + request.full_path.rstrip("?"), data=request.get_data(),
                                          headers={"Content-Type": request.headers.get(
                                              "Content-Type", "application/x-www-form-urlencoded")})
        try:
            with urllib.request.urlopen(upstream, timeout=10) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        return Response(payload, status=status, content_type="application/json")

    def start(self):
        self.server.start()
        return self

    def stop(self):
        self.server.stop()
