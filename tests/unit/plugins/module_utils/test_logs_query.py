"""LogsQL filter building and quoting, time ranges, the store's answers and errors, the UI link (logs_query)."""

from __future__ import annotations

import ast
import socket
import time
import urllib.parse

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import logs_query
from ansible_collections.agent_service.platform.plugins.module_utils.logs_query import (
    LogsBadAnswer,
    LogsQueryRejected,
    LogsUnreachable,
)
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Response

DEFAULT = 'k8s.namespace.name:="{namespace}" service.version:="{version}" level:=error'


def test_the_default_template_takes_namespace_and_version():
    assert logs_query.fill(DEFAULT, {"namespace": "dev", "version": "1.4.0", "release": "agent-service"}) == \
        'k8s.namespace.name:="dev" service.version:="1.4.0" level:=error'


def test_a_bare_placeholder_becomes_a_quoted_string():
    assert logs_query.fill("service.version:={version} app:={release}", {"version": "1.4.0", "release": "a b"}) == \
        'service.version:="1.4.0" app:="a b"'


def test_a_value_cannot_end_its_string_or_add_a_filter():
    hostile = 'dev" or level:=info or k8s.namespace.name:="dev'
    assert logs_query.fill(DEFAULT, {"namespace": hostile, "version": "1.4.0"}) == (
        'k8s.namespace.name:="dev\\" or level:=info or k8s.namespace.name:=\\"dev" '
        'service.version:="1.4.0" level:=error')
    assert logs_query.fill("ns:={namespace}", {"namespace": 'a\\"b'}) == 'ns:="a\\\\\\"b"'


@pytest.mark.parametrize(("value", "quoted"), [
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("C:\\dir", '"C:\\\\dir"'),
    ("two\nlines\r\tend", '"two\\nlines\\r\\tend"'),
    ("bell\x07del\x7f", '"bell\\x07del\\x7f"'),
    ("ünïcode ✓", '"ünïcode ✓"'),
    ("", '""'),
])
def test_quoting(value, quoted):
    assert logs_query.quote_value(value) == quoted


@given(st.text())
def test_quoting_reads_back_as_the_value(value):
    quoted = logs_query.quote_value(value)
    # the escapes used (\" \\ \n \r \t \xNN) read the same in Go's strconv.Unquote, which LogsQL's
    # lexer uses, and in a Python string literal
    assert ast.literal_eval(quoted) == value
    inner = quoted[1:-1]
    assert '"' not in inner.replace('\\\\', "").replace('\\"', "")
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in inner)


def test_braces_that_name_no_value_stay_and_escapes_in_the_template_are_kept():
    template = '{app="agent\\"s"} _msg:"v=\\"{version}\\"" {other}'
    assert logs_query.fill(template, {"version": 'x"y'}) == '{app="agent\\"s"} _msg:"v=\\"x\\"y\\"" {other}'


@pytest.mark.parametrize("template", ["_msg:'{version}'", "_msg:`{version}`"])
def test_a_placeholder_in_single_or_back_quotes_is_refused(template):
    with pytest.raises(ValueError, match=r"the placeholder \{version\} is inside a (.).*\1 string in the query .*"
                                         r"put it inside double quotes or leave it bare"):
        logs_query.fill(template, {"version": "1.4.0"})


def test_a_quote_inside_back_quotes_does_not_end_them():
    assert logs_query.fill('_msg:`a"b` v:={version}', {"version": "1"}) == '_msg:`a"b` v:="1"'


@pytest.mark.parametrize(("template", "values", "msg"), [
    ("", {}, "the query must be a non-empty LogsQL filter, got ''"),
    ("   ", {}, "the query must be a non-empty LogsQL filter"),
    (None, {}, "the query must be a non-empty LogsQL filter, got None"),
    ("v:={version}", {"version": None}, r"the value of \{version\} must be a string, got None"),
])
def test_bad_templates_and_values(template, values, msg):
    with pytest.raises(ValueError, match=msg):
        logs_query.fill(template, values)


def test_the_stats_query():
    assert logs_query.stats_query("level:=error") == "level:=error | stats count() as lines"


@pytest.mark.parametrize(("text", "seconds"), [
    ("5m", 300), ("1m30s", 90), ("250ms", 0.25), ("1h", 3600), ("2d", 172800), ("1w", 604800), ("300", 300),
    ("1.5m", 90), (" 10s ", 10),
])
def test_durations(text, seconds):
    assert logs_query.duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "-1m", "0s", "0", "m5", "5x", "nan", "inf"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="window must be a"):
        logs_query.duration_seconds(text)


def test_time_ranges():
    assert logs_query.time_range(100.0, 160.5) == (100.0, 160.5)
    assert logs_query.time_range(window="5m", now=1000.0) == (700.0, 1000.0)
    assert logs_query.time_range(window="1m", end=500.0, now=1000.0) == (440.0, 500.0)
    assert logs_query.time_range(start=900.0, now=1000.0) == (900.0, 1000.0)


@pytest.mark.parametrize(("kwargs", "msg"), [
    ({"start": 200.0, "end": 100.0}, "start 200.0 is after end 100.0"),
    ({}, r"give start \(epoch seconds\) or window \(a duration ending now\)"),
    ({"start": 1.0, "window": "5m", "now": 9.0}, "give start or window, not both"),
    ({"start": float("nan"), "end": 1.0}, "start must be epoch seconds, got nan"),
    ({"start": -5.0, "end": 1.0}, "start must be epoch seconds, got -5.0"),
    ({"start": 1.0}, "end must be epoch seconds, got None"),
])
def test_bad_time_ranges(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        logs_query.time_range(**kwargs)


def test_rfc3339():
    assert logs_query.rfc3339(0) == "1970-01-01T00:00:00.000000Z"
    assert logs_query.rfc3339(1796644800.25) == "2026-12-07T12:00:00.250000Z"


@pytest.mark.parametrize(("body", "lines"), [
    ('{"lines":"12"}\n', 12), (b'{"lines":"0"}', 0), ('{"lines":"7"}\n\n', 7), ("", 0), ("\n", 0),
])
def test_answers(body, lines):
    assert logs_query.parse_count(body, "http://vl") == lines


@pytest.mark.parametrize(("body", "msg"), [
    ("<html>bad gateway</html>", "VictoriaLogs at http://vl answered with non-JSON: '<html>bad gateway</html>'"),
    ('{"lines":"1"}\n{"lines":"2"}\n', "not one line with 'lines'"),
    ('{"count":"1"}', "not one line with 'lines'"),
    ('["lines"]', "not one line with 'lines'"),
    ('{"lines":"1.5"}', "answered a count that is not a whole number: '1.5'"),
    ('{"lines":true}', "answered a count that is not a whole number: True"),
])
def test_answers_that_are_not_a_count(body, msg):
    with pytest.raises(LogsBadAnswer) as caught:
        logs_query.parse_count(body, "http://vl")
    assert msg in caught.value.msg


@pytest.fixture
def server():
    srv = HTTPServer("127.0.0.1", 0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


def test_the_request(server):
    server.expect_request("/select/logsql/query", method="POST").respond_with_data('{"lines":"4"}\n')
    assert logs_query.count(server.url_for("/"), 'a:="b"', 1796644800.0, 1796644860.5, timeout=5,
                            headers={"AccountID": "3"}) == 4
    (request, _response), = server.log
    form = urllib.parse.parse_qs(request.get_data(as_text=True))
    assert form == {"query": ['a:="b" | stats count() as lines'], "start": ["2026-12-07T12:00:00.000000Z"],
                    "end": ["2026-12-07T12:01:00.500000Z"]}
    assert request.headers["AccountID"] == "3"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_a_rejected_query_carries_the_stores_message(server):
    message = 'cannot parse `query` arg [level:=( | stats count() as lines]: cannot parse token after "="'
    server.expect_request("/select/logsql/query").respond_with_data(message + "\n", status=400)
    with pytest.raises(LogsQueryRejected) as caught:
        logs_query.count(server.url_for("/"), "level:=(", 0, 1)
    base = server.url_for("/").rstrip("/")
    assert caught.value.msg == f"VictoriaLogs at {base} rejected the query (HTTP 400): {message}"


@pytest.mark.parametrize(("status", "body"), [(503, "storage is busy"), (404, "not found"), (401, "unauthorized")])
def test_other_http_errors_say_the_status(server, status, body):
    server.expect_request("/select/logsql/query").respond_with_data(body, status=status)
    with pytest.raises(LogsUnreachable, match=f"answered HTTP {status}: {body}"):
        logs_query.count(server.url_for("/"), "x", 0, 1)


def test_a_non_json_answer(server):
    server.expect_request("/select/logsql/query").respond_with_data("<html>login</html>")
    with pytest.raises(LogsBadAnswer, match="answered with non-JSON: '<html>login</html>'"):
        logs_query.count(server.url_for("/"), "x", 0, 1)


def test_an_unreachable_store():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(LogsUnreachable, match=rf"cannot reach VictoriaLogs at http://127.0.0.1:{port}: .*refused"):
        logs_query.count(f"http://127.0.0.1:{port}/", "x", 0, 1, timeout=5)


def test_a_store_that_does_not_answer_in_time(server):
    def late(_request):
        time.sleep(1.5)
        return Response('{"lines":"1"}')

    server.expect_request("/select/logsql/query").respond_with_handler(late)
    with pytest.raises(LogsUnreachable, match="cannot reach VictoriaLogs at .*timed out"):
        logs_query.count(server.url_for("/"), "x", 0, 1, timeout=0.5)


@pytest.mark.parametrize(("args", "msg"), [
    (("victoria-logs:9428", "x", 0, 1), "url must be an http:// or https:// URL, got 'victoria-logs:9428'"),
    (("ftp://vl", "x", 0, 1), "url must be an http:// or https:// URL"),
    (("http://vl", "x", 0, 1, 0), "timeout must be a positive number of seconds, got 0"),
    (("http://vl", "x", 5, 1), "start 5.0 is after end 1.0"),
])
def test_bad_arguments(args, msg):
    with pytest.raises(ValueError, match=msg):
        logs_query.count(*args)


def test_the_ui_link():
    link = logs_query.ui_link("http://vl:9428/select/vmui/", 'k8s.namespace.name:="dev" level:=error',
                              1796644800.0, 1796645100.2)
    base, fragment = link.split("#", 1)
    assert base == "http://vl:9428/select/vmui/"
    assert fragment.startswith("/?query=k8s.namespace.name%3A%3D%22dev%22%20level%3A%3Derror&")
    params = urllib.parse.parse_qs(fragment[2:])
    assert params == {"query": ['k8s.namespace.name:="dev" level:=error'],
                      "g0.end_input": ["2026-12-07T12:05:00.200000Z"], "g0.range_input": ["301s"],
                      "g0.relative_time": ["none"]}
    assert logs_query.ui_link("https://vl/select/vmui", "x", 0, 0).startswith("https://vl/select/vmui/#/?query=x&")
    assert "(" not in logs_query.ui_link("http://vl", "stats count() (x)", 0, 1)  # safe inside a Markdown link
    with pytest.raises(ValueError, match="ui_url must be an http:// or https:// URL, got 'vl/select/vmui'"):
        logs_query.ui_link("vl/select/vmui", "x", 0, 1)
