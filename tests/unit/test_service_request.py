"""roles/release/files/service_request.py, the HTTP client of the release role and of the
blue/green scenario, against a real HTTP server on 127.0.0.1 (pytest-httpserver), named by a
kubeconfig or given with --url: single requests and the smoke probes, the repeated mode (the
analysis traffic, the blue/green watch, the scenario's client loop), the stop file that ends
it early, and the per-request log."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

CLIENT = Path(__file__).resolve().parents[2] / "roles" / "release" / "files" / "service_request.py"


@pytest.fixture()
def server():
    """/ok answers 200 with a version, /fail 500, /text 200 with a body that is not JSON."""
    with HTTPServer("127.0.0.1", 0, threaded=True) as httpd:
        httpd.expect_request("/ok").respond_with_json({"ok": True, "version": "1.2.3"})
        httpd.expect_request("/fail").respond_with_data('{"ok": false}', status=500, content_type="application/json")
        httpd.expect_request("/text").respond_with_data("plain text")
        httpd.expect_request("/invoke", method="POST").respond_with_json({"id": "i-1"}, status=202)
        yield httpd


def seen(server):
    return [(request.path, request.headers.get("X-Client-ID")) for request, _response in server.log]


@pytest.fixture()
def kubeconfig(tmp_path, server):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{server.port}"}}],
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


def run_url(server, *args):
    cmd = [sys.executable, str(CLIENT), "--url", f"http://127.0.0.1:{server.port}/", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_one_request_and_the_probes_then_the_post(kubeconfig, server):
    assert run(kubeconfig, "--path", "/fail") == {"status": 500, "body": '{"ok": false}'}
    answers = run(kubeconfig, "--path", "/ok", "--path", "/text", "--then-post", "/invoke", "--body", '{"input": "x"}')
    assert [(a["path"], a["method"], a["status"]) for a in answers] == [
        ("/ok", "GET", 200), ("/text", "GET", 200), ("/invoke", "POST", 202)]
    post = server.log[-1][0]
    assert post.get_json() == {"input": "x"} and post.headers["Authorization"] == "Bearer secret-token"
    # a probe that did not answer 200: no POST
    answers = run(kubeconfig, "--path", "/ok", "--path", "/fail", "--then-post", "/invoke", "--body", "{}")
    assert [a["path"] for a in answers] == ["/ok", "/fail"]
    assert [request.path for request, _response in server.log].count("/invoke") == 1


def test_repeat_counts_by_status_and_runs_for_its_duration(kubeconfig, server):
    out = run(kubeconfig, "--path", "/ok", "--path", "/fail", "--for", "1.5", "--rate", "4")
    # 4 per second for 1.5 s: requests at 0, 0.25, ... 1.25 s (fewer only if one is slow)
    assert 4 <= out["sent"] <= 6, out
    # the paths in turn, starting with the first
    assert out["statuses"] == {"200": (out["sent"] + 1) // 2, "500": out["sent"] // 2}, out
    assert out["no_answer"] == 0 and out["stopped"] is False and out["seconds"] >= 1.5, out
    assert seen(server) == [(("/ok", "/fail")[i % 2], "unit") for i in range(out["sent"])]
    assert {request.headers["Authorization"] for request, _response in server.log} == {"Bearer secret-token"}


def test_stop_file_ends_the_traffic_between_two_requests(kubeconfig, server, tmp_path):
    stop = tmp_path / "traffic.stop"
    # one request every 3 s: the first is answered at once, then the client waits
    cmd = argv(kubeconfig, "--path", "/fail", "--for", "60", "--rate", "0.333", "--stop-file", str(stop))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not server.log and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.log, "the client sent nothing"
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
    assert server.log == []


def test_unreachable_server_is_counted_not_fatal(kubeconfig, server, tmp_path):
    server.stop()
    out = run(kubeconfig, "--path", "/ok", "--for", "1", "--rate", "2", "--timeout", "1")
    assert out["sent"] == out["no_answer"] >= 1 and out["statuses"] == {}, out
    log = tmp_path / "requests.jsonl"
    out = run_url(server, "--path", "/ok", "--for", "1", "--rate", "2", "--timeout", "1", "--log", str(log))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert out["sent"] == out["no_answer"] == len(lines) >= 1, out
    assert all(line["status"] == 0 and line["path"] == "/ok" and line["error"] for line in lines), lines


def test_url_mode_the_client_loop_of_the_bluegreen_scenario(server, tmp_path):
    """Straight to a URL (no kubeconfig, no credentials), each request on a connection of its own,
    the client ids spread, one log line per request with the version of /ok's answer."""
    log = tmp_path / "traffic.jsonl"
    log.write_text('{"earlier": "line"}\n')
    stop = tmp_path / "traffic.stop"
    started = time.time()
    out = run_url(server, "--path", "/ok", "--path", "/fail", "--path", "/text", "--for", "2", "--rate", "5",
                  "--client-id", "loop", "--client-ids", "2", "--log", str(log), "--log-key", "version",
                  "--log-key", "ok", "--stop-file", str(stop))
    sent = out["sent"]
    assert 8 <= sent <= 11 and out["no_answer"] == 0 and out["stopped"] is False, out
    requests = [request for request, _response in server.log]
    assert seen(server) == [(("/ok", "/fail", "/text")[i % 3], f"loop-{i % 2}") for i in range(sent)]
    assert all("Authorization" not in r.headers and r.headers["Connection"] == "close" for r in requests)
    assert len({r.environ["REMOTE_PORT"] for r in requests}) == sent, "a connection was reused"
    earlier, *lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert earlier == {"earlier": "line"} and len(lines) == sent  # appended
    assert all(started <= line["t"] <= time.time() for line in lines)
    assert [{k: v for k, v in line.items() if k != "t"} for line in lines[:3]] == [
        {"path": "/ok", "status": 200, "version": "1.2.3", "ok": True},
        {"path": "/fail", "status": 500, "error": '{"ok": false}'},
        {"path": "/text", "status": 200, "error": "unreadable answer: Expecting value: line 1 column 1 (char 0)"},
    ]


@pytest.mark.parametrize(("args", "message"), [
    (["--path", "/ok"], "one of the arguments --kubeconfig --url is required"),
    (["--url", "http://127.0.0.1:1", "--kubeconfig", "k", "--path", "/ok"], "not allowed with argument"),
    (["--url", "http://127.0.0.1:1", "--path", "/ok", "--client-ids", "3"], "--client-ids needs --client-id"),
    (["--url", "http://127.0.0.1:1", "--path", "/ok", "--client-ids", "0"], "--client-ids must be at least 1"),
])
def test_bad_arguments(args, message):
    proc = subprocess.run([sys.executable, str(CLIENT), *args], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
