"""roles/release/files/service_request.py, the role's HTTP client through the API server's
service proxy, against a real HTTP server on 127.0.0.1 named by a kubeconfig: its repeated
mode (the analysis traffic, the blue/green watch) and the stop file that ends it early."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "roles" / "release" / "files" / "service_request.py"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.seen.append((self.path, self.headers.get("X-Client-ID")))
        status = 500 if self.path.endswith("/fail") else 200
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def kubeconfig(tmp_path, server):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "t", "user": {"token": "secret-token"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}],
    }))
    return path


def argv(kubeconfig, *args):
    return [sys.executable, str(CLIENT), "--kubeconfig", str(kubeconfig), "--client-id", "unit", *args]


def run(kubeconfig, *args):
    proc = subprocess.run(argv(kubeconfig, *args), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_repeat_counts_by_status_and_runs_for_its_duration(kubeconfig, server):
    out = run(kubeconfig, "--path", "/ok", "--path", "/fail", "--for", "1.5", "--rate", "4")
    # 4 per second for 1.5 s: requests at 0, 0.25, ... 1.25 s (fewer only if one is slow)
    assert 4 <= out["sent"] <= 6, out
    assert out["statuses"] == {"200": out["sent"]}, out  # the repeated mode requests the first --path only
    assert out["no_answer"] == 0 and out["stopped"] is False and out["seconds"] >= 1.5, out
    assert set(server.seen) == {("/ok", "unit")}, server.seen


def test_stop_file_ends_the_traffic_between_two_requests(kubeconfig, server, tmp_path):
    stop = tmp_path / "traffic.stop"
    # one request every 3 s: the first is answered at once, then the client waits
    cmd = argv(kubeconfig, "--path", "/fail", "--for", "60", "--rate", "0.333", "--stop-file", str(stop))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not server.seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.seen, "the client sent nothing"
    stop.touch()
    touched = time.monotonic()
    stdout, stderr = proc.communicate(timeout=30)
    waited = time.monotonic() - touched
    assert proc.returncode == 0, stderr
    out = json.loads(stdout)
    assert out["stopped"] is True and out["sent"] == 1 and out["statuses"] == {"500": 1}, out
    # noticed within its 0.1 s slices of the wait, not at the next request 3 s later
    assert waited < 2.0, (waited, out)


def test_stop_file_present_before_the_start_sends_nothing(kubeconfig, server, tmp_path):
    stop = tmp_path / "traffic.stop"
    stop.touch()
    out = run(kubeconfig, "--path", "/ok", "--for", "30", "--rate", "2", "--stop-file", str(stop))
    assert {k: v for k, v in out.items() if k != "seconds"} == {"sent": 0, "statuses": {}, "no_answer": 0,
                                                                "stopped": True}, out
    assert server.seen == []


def test_unreachable_server_is_counted_not_fatal(kubeconfig, server):
    server.shutdown()
    server.server_close()
    out = run(kubeconfig, "--path", "/ok", "--for", "1", "--rate", "2", "--timeout", "1")
    assert out["sent"] == out["no_answer"] >= 1 and out["statuses"] == {}, out
