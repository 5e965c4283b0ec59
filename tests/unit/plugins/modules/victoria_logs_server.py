"""A real VictoriaLogs (the binary `make victoria-logs` builds) on a free loopback port, for the log tests.

Its data lives in a temporary directory; ``ingest`` writes JSON lines through its own insert API
(``/insert/jsonline``) and makes them searchable at once (``/internal/force_flush``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from prometheus_server import terminate


def binary():
    """$VICTORIA_LOGS (exported by the Makefile), else $CACHE_DIR/monitoring-bin/victoria-logs."""
    cache = os.environ.get("CACHE_DIR") or str(Path.home() / ".cache" / "agent-service-platform")
    path = Path(os.environ.get("VICTORIA_LOGS") or Path(cache) / "monitoring-bin" / "victoria-logs")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"VictoriaLogs is not built at {path}: run `make victoria-logs`")
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VictoriaLogs:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = None

    def start(self, timeout=30):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.workdir / "victoria-logs.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [str(binary()), f"-storageDataPath={self.workdir / 'data'}", f"-httpListenAddr=127.0.0.1:{self.port}",
             "-loggerLevel=WARN", "-retentionPeriod=1d"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-logs exited with {self.proc.returncode}: "
                                   f"{(self.workdir / 'victoria-logs.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"victoria-logs did not answer on {self.url} in {timeout}s")

    def ingest(self, rows, stream_fields=("k8s.namespace.name", "service.version")):
        """Store ``rows`` (dicts with ``_msg`` and ``_time``) and make them searchable."""
        params = urllib.parse.urlencode({"_stream_fields": ",".join(stream_fields), "_msg_field": "_msg",
                                         "_time_field": "_time"})
        body = "".join(json.dumps(row) + "\n" for row in rows).encode()
        # a form content type would make the server read the body as form fields
        request = urllib.request.Request(f"{self.url}/insert/jsonline?{params}", data=body, method="POST",
                                         headers={"Content-Type": "application/stream+json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 204), response.status
        with urllib.request.urlopen(self.url + "/internal/force_flush", timeout=10):
            pass

    def query(self, logsql):
        """VictoriaLogs' own answer (no collection code): the JSON lines of ``logsql``."""
        data = urllib.parse.urlencode({"query": logsql}).encode()
        with urllib.request.urlopen(self.url + "/select/logsql/query", data=data, timeout=10) as response:
            return [json.loads(line) for line in response.read().decode().splitlines() if line.strip()]

    def stop(self):
        terminate(self.proc)
        if self.log:
            self.log.close()
            self.log = None
