"""PromQL building, response parsing and the analysis verdict (pure logic)."""

from __future__ import annotations

import math

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import analysis, promql
from ansible_collections.agent_service.platform.plugins.module_utils.analysis import Analysis, AnalysisSettings
from ansible_collections.agent_service.platform.plugins.module_utils.error_rate import resolve_query, settings_from
from ansible_collections.agent_service.platform.plugins.module_utils.promql import PrometheusError


def test_error_ratio_query():
    q = promql.error_ratio_query("prod", "agent-service", "1.4.0", "2m")
    assert q == ('(sum(rate(http_requests_total{namespace="prod",job="agent-service",'
                 'app_kubernetes_io_version="1.4.0",status=~"5.."}[2m])) or vector(0))'
                 ' / sum(rate(http_requests_total{namespace="prod",job="agent-service",'
                 'app_kubernetes_io_version="1.4.0"}[2m]))')
    assert promql.error_ratio_query("prod") == ('(sum(rate(http_requests_total{namespace="prod",status=~"5.."}[5m]))'
                                                ' or vector(0)) / sum(rate(http_requests_total{namespace="prod"}[5m]))')


def test_latency_query_and_labels():
    q = promql.latency_p99_query("prod", labels={"handler": "/v1/agents"})
    assert q == ('histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
                 '{namespace="prod",handler="/v1/agents"}[5m])))')


def test_label_value_escaping():
    assert promql.selector([("a", "=", 'x"y\\z\n')]) == '{a="x\\"y\\\\z\\n"}'
    with pytest.raises(ValueError, match="invalid label name"):
        promql.selector([("bad-label", "=", "x")])
    with pytest.raises(ValueError, match="operator"):
        promql.selector([("a", "==", "x")])


@pytest.mark.parametrize("window", ["5", "5 m", "-1m", "", "0s", "1.5m"])
def test_invalid_window(window):
    with pytest.raises(ValueError, match="not a PromQL duration"):
        promql.error_ratio_query("prod", window=window)


def test_builtin_needs_namespace_and_known_check():
    with pytest.raises(ValueError, match="namespace is required"):
        promql.builtin_query("error_ratio", None)
    with pytest.raises(ValueError, match="unknown check"):
        promql.builtin_query("cpu", "prod")


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), ("15", 15),
                                          (2.5, 2.5), ("0", 0)])
def test_parse_duration(text, seconds):
    assert promql.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1 minute", "-5s", "m", True, float("nan")])
def test_parse_duration_invalid(text):
    with pytest.raises(ValueError, match="duration"):
        promql.parse_duration(text, "interval")


def vector(*values):
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"pod": f"p{i}"}, "value": [1700000000.5, v]} for i, v in enumerate(values)]}}


def test_parse_vector_scalar_nan_empty():
    parsed = promql.parse_response(vector("0.25", "NaN", "+Inf"))
    assert parsed["result_type"] == "vector"
    values = [s["value"] for s in parsed["samples"]]
    assert values[0] == 0.25 and math.isnan(values[1]) and values[2] == math.inf
    assert parsed["samples"][0] == {"labels": {"pod": "p0"}, "value": 0.25, "timestamp": 1700000000.5}
    assert promql.parse_response(vector())["samples"] == []
    scalar = promql.parse_response({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "3"]}})
    assert scalar["samples"] == [{"labels": {}, "value": 3.0, "timestamp": 1.0}]


def test_parse_errors_pass_text_through():
    with pytest.raises(PrometheusError) as exc:
        promql.parse_response({"status": "error", "errorType": "bad_data",
                               "error": "1:5: parse error: unexpected end of input"}, 400)
    assert exc.value.message == "1:5: parse error: unexpected end of input" and exc.value.is_query_error
    with pytest.raises(PrometheusError, match="'matrix' result"):
        promql.parse_response({"status": "success", "data": {"resultType": "matrix", "result": []}})
    with pytest.raises(PrometheusError, match="unexpected answer"):
        promql.parse_response(["not", "a", "dict"])
    with pytest.raises(PrometheusError, match="not a number"):
        promql.parse_response(vector("abc"))


def settings(**kw):
    base = dict(threshold=0.05, count=3, interval=0)
    base.update(kw)
    return AnalysisSettings(**base)


def samples(*values):
    return [{"labels": {}, "value": v, "timestamp": 0} for v in values]


@pytest.mark.parametrize("values,threshold_type,status", [
    ((0.05,), "max", "successful"),       # at the threshold passes
    ((0.0499,), "max", "successful"),
    ((0.0501,), "max", "failed"),
    ((0.01, 0.2), "max", "failed"),       # any series breaching fails the measurement
    ((float("nan"),), "max", "no_data"),
    ((), "max", "no_data"),
    ((math.inf,), "max", "failed"),
    ((0.05,), "min", "successful"),
    ((0.04,), "min", "failed"),
])
def test_judge_samples(values, threshold_type, status):
    assert analysis.judge_samples(samples(*values), settings(threshold_type=threshold_type))[0] == status


def run(statuses, **kw):
    seq = iter(statuses)
    sleeps = []

    def measure():
        status = next(seq)
        return status, f"{status} measurement", samples(0.1) if status in ("successful", "failed") else [], 0

    result = analysis.run_analysis(settings(**kw), measure, sleeps.append)
    return result, sleeps


def test_all_successful_sleeps_between_measurements():
    result, sleeps = run(["successful"] * 3, interval=2)
    assert result["verdict"] == "successful" and result["passed"]
    assert sleeps == [2.0, 2.0] and len(result["measurements"]) == 3


def test_first_failure_fails_by_default_and_stops():
    result, _ignored = run(["successful", "failed", "successful"])
    assert result["verdict"] == "failed" and len(result["measurements"]) == 2
    assert "exceed failure_limit 0" in result["reason"]


def test_failure_limit():
    result, _ignored = run(["failed", "successful", "successful"], failure_limit=1)
    assert result["verdict"] == "successful" and result["counts"]["failed"] == 1
    result, _ignored = run(["failed", "failed", "successful"], failure_limit=1)
    assert result["verdict"] == "failed"


def test_no_data_fails_closed_by_default():
    result, _ignored = run(["no_data", "successful", "successful"])
    assert result["verdict"] == "failed" and "failed measurement" in result["reason"]
    result, _ignored = run(["no_data", "successful", "successful"], fail_on_no_data=False)
    assert result["verdict"] == "successful"
    result, _ignored = run(["no_data"] * 3, fail_on_no_data=False)
    assert result["verdict"] == "failed" and "fail closed" in result["reason"]


def test_errors():
    result, _ignored = run(["error"] * 3)
    assert result["verdict"] == "error" and "fail closed" in result["reason"]
    result, _ignored = run(["error", "successful", "successful"])
    assert result["verdict"] == "successful" and result["counts"]["error"] == 1
    result, _ignored = run(["error", "error", "successful"], count=3, consecutive_error_limit=1)
    assert result["verdict"] == "error" and "consecutive errors exceed" in result["reason"]


@pytest.mark.parametrize("kw,message", [
    (dict(threshold=float("nan")), "threshold must be a finite number"),
    (dict(threshold="0.1"), "threshold must be a finite number"),
    (dict(threshold=1.5, threshold_range=(0.0, 1.0)), "out of range"),
    (dict(threshold=-0.1, threshold_range=(0.0, 1.0)), "out of range"),
    (dict(count=0), "count must be an integer >= 1"),
    (dict(failure_limit=-1), "failure_limit must be"),
    (dict(consecutive_error_limit=-1), "consecutive_error_limit must be"),
    (dict(threshold_type="avg"), "threshold_type must be"),
    (dict(interval=-1), "interval must be"),
])
def test_settings_validation(kw, message):
    with pytest.raises(ValueError, match=message):
        settings(**kw)


def test_unknown_status():
    with pytest.raises(ValueError, match="unknown measurement status"):
        Analysis(settings()).add("weird", "x")


def test_resolve_query_and_settings():
    assert resolve_query(dict(check="query", query="up")) == "up"
    with pytest.raises(ValueError, match="needs a non-empty query"):
        resolve_query(dict(check="query", query=" "))
    with pytest.raises(ValueError, match="only used with check=query"):
        resolve_query(dict(check="error_ratio", namespace="x", query="up"))
    with pytest.raises(ValueError, match="unknown check"):
        resolve_query(dict(check="cpu"))
    with pytest.raises(ValueError, match="out of range"):
        settings_from(dict(check="error_ratio", threshold=2.0, interval="1s"))
    with pytest.raises(ValueError, match="out of range"):
        settings_from(dict(check="latency_p99", threshold=-1.0, interval="1s"))
    assert settings_from(dict(check="query", threshold=-5.0, interval="1m")).interval == 60
