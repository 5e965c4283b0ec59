"""A real Prometheus (Debian's binary) scraping a real exporter of known series, for the module tests.

The exporter is a small HTTP server: every scrape adds fixed increments to each
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class Exporter:
    def __init__(self, port=EXPORTER_PORT):
        self.scrapes = 0
        self.lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

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
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


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
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


class AuthProxy:
    """A reverse proxy in front of the real Prometheus that demands a bearer token and a tenant header,
    as an authenticating gateway would. ``delay`` makes it answer late (timeout tests)."""

    def __init__(self, upstream, port, token, tenant):
        self.seen = []
        self.delay = 0.0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append(dict(self.headers))
                time.sleep(proxy.delay)
                authorized = self.headers.get("Authorization") == f"Bearer {token}"
                if not authorized or self.headers.get("X-Scope-OrgID") != tenant:
                    self.send_error(401, "missing or wrong credentials")
                    return
                request = urllib.request.Request(upstream + self.path, data=body, headers={
                    "Content-Type": self.headers.get("Content-Type", "application/x-www-form-urlencoded")})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.url = f"http://127.0.0.1:{port}"
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
