"""log_count and logs_query.count() against a real VictoriaLogs holding known lines (see victoria_logs_server.py).

The lines sit in namespaces of this file's own (logs-*). The window is [WINDOW_START, WINDOW_END) before
the fixture's NOW; around it: another version, another namespace, info lines, and error lines just
before the window and just after it.
"""

from __future__ import annotations

import time

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import logs_query
from ansible_collections.agent_service.platform.plugins.modules import log_count
from module_runner import run_module
from victoria_logs_server import free_port

DEFAULT = 'k8s.namespace.name:="{namespace}" service.version:="{version}" level:=error'
WEIRD_NAMESPACES = ['logs-q"uote', "logs-back\\slash", "logs-new\nline", "logs-ünï ✓", "logs-{version}"]


def _row(at, namespace, version, level, msg="request failed"):
    return {"_msg": msg, "_time": logs_query.rfc3339(at), "k8s.namespace.name": namespace,
            "service.version": version, "level": level}


@pytest.fixture(scope="module")
def store(victoria_logs):
    """The store with this file's lines; ``store.now`` is the time they are placed around."""
    now = time.time()
    start, end = now - 600, now - 60
    rows = [
        _row(now - 500, "logs-dev", "1.4.0", "error"),
        _row(now - 300, "logs-dev", "1.4.0", "error", "boom: database unreachable"),
        _row(now - 100, "logs-dev", "1.4.0", "error"),
        _row(start, "logs-dev", "1.4.0", "error"),              # at the start: inside
        _row(now - 400, "logs-dev", "1.4.0", "info", "GET /health 200"),
        _row(now - 200, "logs-dev", "1.4.0", "info"),
        _row(now - 450, "logs-dev", "1.3.0", "error"),          # the old version
        _row(now - 250, "logs-dev", "1.3.0", "error"),
        _row(now - 350, "logs-staging", "1.4.0", "error"),      # another namespace
        _row(now - 1200, "logs-dev", "1.4.0", "error"),         # before the window
        _row(end, "logs-dev", "1.4.0", "error"),                # at the end: outside ([start, end))
        _row(now - 30, "logs-dev", "1.4.0", "error"),           # after the window
    ] + [_row(now - 150, namespace, "1.4.0", "error") for namespace in WEIRD_NAMESPACES]
    victoria_logs.ingest(rows)
    victoria_logs.now, victoria_logs.start, victoria_logs.end = now, start, end
    # the store's own count, with no collection code: every line is searchable
    deadline = time.monotonic() + 30
    while victoria_logs.query('k8s.namespace.name:~"^logs-" | stats count() as n') != [{"n": str(len(rows))}]:
        assert time.monotonic() < deadline, "the ingested lines did not become searchable"
        time.sleep(0.2)
    return victoria_logs


def _filter(namespace="logs-dev", version="1.4.0", template=DEFAULT):
    return logs_query.fill(template, {"namespace": namespace, "version": version})


@pytest.mark.parametrize(("namespace", "version", "expected"), [
    ("logs-dev", "1.4.0", 4), ("logs-dev", "1.3.0", 2), ("logs-staging", "1.4.0", 1), ("logs-prod", "1.4.0", 0),
])
def test_count_is_exact(store, namespace, version, expected):
    assert logs_query.count(store.url, _filter(namespace, version), store.start, store.end) == expected


def test_count_matches_the_stores_own_answer(store):
    own = store.query(f'{_filter()} _time:[{logs_query.rfc3339(store.start)}, {logs_query.rfc3339(store.end)})'
                      " | stats count() as n")
    assert own == [{"n": "4"}]


def test_info_lines_and_every_level_together(store):
    template = 'k8s.namespace.name:="{namespace}" service.version:="{version}"'
    assert logs_query.count(store.url, _filter(template=template), store.start, store.end) == 6


@pytest.mark.parametrize("namespace", WEIRD_NAMESPACES)
def test_values_are_quoted_for_the_stores_parser(store, namespace):
    assert logs_query.count(store.url, _filter(namespace), store.start, store.end) == 1


def test_a_value_cannot_widen_the_filter(store):
    hostile = 'logs-nowhere" or k8s.namespace.name:="logs-dev'
    assert logs_query.count(store.url, _filter(hostile), store.start, store.end) == 0


def test_the_module(store):
    result, failed = run_module(log_count, {
        "url": store.url, "query": DEFAULT, "values": {"namespace": "logs-dev", "version": "1.4.0", "release": "x"},
        "start": store.start, "end": store.end, "ui_url": store.url + "/select/vmui/"})
    assert not failed and result["changed"] is False, result
    assert result["lines"] == 4
    assert result["filter"] == 'k8s.namespace.name:="logs-dev" service.version:="1.4.0" level:=error'
    assert result["query"] == result["filter"] + " | stats count() as lines"
    assert result["url"] == store.url and (result["start"], result["end"]) == (store.start, store.end)
    assert result["link"].startswith(store.url + "/select/vmui/#/?query=k8s.namespace.name%3A%3D%22logs-dev%22")


def test_the_module_in_check_mode_reads_the_same(store):
    args = {"url": store.url, "query": DEFAULT, "values": {"namespace": "logs-dev", "version": "1.4.0"},
            "start": store.start, "end": store.end}
    result, failed = run_module(log_count, args, check_mode=True)
    assert not failed and result["lines"] == 4 and result["changed"] is False and result["link"] is None


def test_a_window_ending_now(store):
    result, failed = run_module(log_count, {"url": store.url, "query": DEFAULT, "window": "1h",
                                            "values": {"namespace": "logs-dev", "version": "1.4.0"}})
    assert not failed and result["lines"] == 7, result  # the four, the one at the end, after it, before it
    assert result["end"] - result["start"] == pytest.approx(3600)
    assert abs(result["end"] - time.time()) < 30


def test_a_bad_query_is_refused_with_the_stores_message(store):
    with pytest.raises(logs_query.LogsQueryRejected) as caught:
        logs_query.count(store.url, "level:=(", store.start, store.end)
    assert caught.value.msg.startswith(f"VictoriaLogs at {store.url} rejected the query (HTTP 400): cannot parse "
                                       "`query` arg [level:=( | stats count() as lines]")
    result, failed = run_module(log_count, {"url": store.url, "query": "level:=(", "window": "5m"})
    assert failed and result["error_type"] == "rejected" and result["msg"] == caught.value.msg, result
    assert result["query"] == "level:=( | stats count() as lines"


def test_an_unreachable_store():
    url = f"http://127.0.0.1:{free_port()}"
    result, failed = run_module(log_count, {"url": url, "query": DEFAULT, "window": "5m", "timeout": 5,
                                            "values": {"namespace": "dev", "version": "1.4.0"}})
    assert failed and result["error_type"] == "unreachable", result
    assert result["msg"].startswith(f"cannot reach VictoriaLogs at {url}: ") and "refused" in result["msg"]
    assert result["query"].endswith("| stats count() as lines") and "lines" not in result


@pytest.mark.parametrize(("args", "msg"), [
    ({"url": "victoria-logs:9428", "window": "5m"}, "url must be an http:// or https:// URL, got 'victoria-logs:9428'"),
    ({"window": "5 minutes"}, "window must be a duration such as 5m, 1m30s or 300 (seconds), got '5 minutes'"),
    ({"start": 200.0, "end": 100.0}, "start 200.0 is after end 100.0"),
    ({"start": 1.0, "window": "5m"}, "parameters are mutually exclusive: start|window"),
    ({}, "one of the following is required: start, window"),
    ({"query": "_msg:'{version}'", "window": "5m"}, "the placeholder {version} is inside a '...' string"),
])
def test_bad_arguments_are_named(args, msg):
    params = {"url": "http://127.0.0.1:9", "query": DEFAULT, "values": {"namespace": "dev", "version": "1.4.0"}}
    result, failed = run_module(log_count, {**params, **args})
    assert failed and msg in result["msg"], result
