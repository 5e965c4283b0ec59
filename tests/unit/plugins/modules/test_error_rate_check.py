"""error_rate_check against a real Prometheus fed by a real exporter (see prometheus_server.py)."""

from __future__ import annotations

import json
import math

import pytest
from ansible_collections.agent_service.platform.plugins.modules import error_rate_check
from module_runner import run_module
from prometheus_server import EXPORTER_PORT, JOB, SPARE_PROMETHEUS_PORT, AuthProxy, Prometheus

WINDOW = "30s"


def check(prometheus, **args):
    params = dict(prometheus_url=prometheus.url, job=JOB, window=WINDOW, interval="1s")
    params.update(args)
    return run_module(error_rate_check, params)


def prometheus_value(prometheus, query, at):
    """Prometheus's own answer to the same PromQL at the same evaluation time."""
    answer = prometheus.query(query, at)
    assert answer["status"] == "success", answer
    result = answer["data"]["result"]
    return [float(r["value"][1]) for r in result] if answer["data"]["resultType"] == "vector" else [
        float(result[1])]


def assert_same_as_prometheus(prometheus, result):
    for measurement in result["measurements"]:
        for sample in measurement["samples"]:
            own = prometheus_value(prometheus, result["query"], sample["timestamp"])
            value = sample["value"]
            if value == "NaN":
                assert len(own) == 1 and math.isnan(own[0])
            else:
                # a scrape ingested after the module's query may move the last bits of a rate ratio
                assert any(value == pytest.approx(other, rel=1e-9) for other in own), (value, own)


@pytest.mark.parametrize("namespace,threshold,expected", [
    ("below", 0.05, 0.01), ("at", 0.5, 0.5), ("clean", 0.05, 0.0),
])
def test_error_ratio_below_or_at_threshold_passes(prometheus, namespace, threshold, expected):
    result, failed = check(prometheus, namespace=namespace, threshold=threshold, count=2)
    assert not failed and result["passed"] and result["verdict"] == "successful", result
    assert result["value"] == pytest.approx(expected, abs=1e-12)
    assert result["counts"] == dict(successful=2, failed=0, no_data=0, error=0)
    assert not result["changed"]
    assert_same_as_prometheus(prometheus, result)


def test_exactly_at_threshold_passes_and_just_above_fails(prometheus):
    result, failed = check(prometheus, namespace="at", threshold=0.5, count=3)
    assert not failed and result["passed"] and result["value"] == 0.5  # exact: at the threshold passes
    result, failed = check(prometheus, namespace="at", threshold=math.nextafter(0.5, 0))
    assert failed and result["verdict"] == "failed" and result["value"] == 0.5


def test_error_ratio_above_threshold_fails(prometheus):
    result, failed = check(prometheus, namespace="above", threshold=0.05, count=3)
    assert failed and not result["passed"] and result["verdict"] == "failed"
    assert result["value"] == pytest.approx(0.25)
    assert len(result["measurements"]) == 1  # failure_limit 0: stops at the first failure
    assert "above the maximum 0.05" in result["reason"] and result["msg"].startswith("analysis failed:")
    assert_same_as_prometheus(prometheus, result)


def test_failure_limit_and_fail_on_failure_false(prometheus):
    result, failed = check(prometheus, namespace="above", threshold=0.05, count=2, failure_limit=2,
                           fail_on_failure=False)
    assert not failed and not result["passed"] and result["verdict"] == "failed"
    assert "no successful measurement" in result["reason"] and len(result["measurements"]) == 2


def test_version_label_selects_the_canary(prometheus):
    new, failed = check(prometheus, namespace="canary", version="1.1.0", threshold=0.1)
    assert failed and new["value"] == pytest.approx(0.5)
    assert 'app_kubernetes_io_version="1.1.0"' in new["query"]
    old, failed = check(prometheus, namespace="canary", version="1.0.0", threshold=0.1)
    assert not failed and old["value"] == 0.0
    both, _ignored = check(prometheus, namespace="canary", threshold=0.3)
    assert both["value"] == pytest.approx(0.25)
    for result in (new, old, both):
        assert_same_as_prometheus(prometheus, result)


def test_nan_fails_closed(prometheus):
    result, failed = check(prometheus, namespace="idle", threshold=0.05)
    assert failed and result["verdict"] == "failed"
    assert result["measurements"][0]["status"] == "no_data" and "NaN" in result["reason"]
    assert result["measurements"][0]["samples"][0]["value"] == "NaN" and result["value"] is None
    assert_same_as_prometheus(prometheus, result)


def test_empty_result_fails_closed_unless_allowed(prometheus):
    result, failed = check(prometheus, namespace="nothing-here", threshold=0.05)
    assert failed and result["measurements"][0]["status"] == "no_data"
    assert "empty result" in result["reason"]
    assert prometheus.query(result["query"])["data"]["result"] == []
    result, failed = check(prometheus, namespace="nothing-here", threshold=0.05, fail_on_no_data=False)
    assert failed and "fail closed" in result["reason"]  # nothing measured successfully either


def test_latency_p99(prometheus):
    result, failed = check(prometheus, check="latency_p99", namespace="below", threshold=0.3)
    assert not failed and result["value"] == pytest.approx(0.25)
    assert_same_as_prometheus(prometheus, result)
    result, failed = check(prometheus, check="latency_p99", namespace="below", threshold=0.2)
    assert failed and result["verdict"] == "failed"


def test_any_promql_scalar_and_min_threshold(prometheus):
    result, failed = check(prometheus, check="query", query="scalar(count(up))", threshold=1,
                           threshold_type="min")
    assert not failed and result["value"] == 1.0
    assert_same_as_prometheus(prometheus, result)
    result, failed = check(prometheus, check="query", query='sum by (namespace) (rate(http_requests_total'
                           '{namespace=~"below|above",status=~"5.."}[30s]))', threshold=100)
    # Two series, so no single value. Their rates grow towards 25/s and 1/s while the TSDB is younger
    # than the 30 s window, so the threshold sits above the final rates and the ratio is what is checked.
    assert not failed and result["value"] is None
    samples = {s["labels"]["namespace"]: s["value"] for s in result["measurements"][0]["samples"]}
    assert sorted(samples) == ["above", "below"] and samples["above"] == pytest.approx(25 * samples["below"])
    assert_same_as_prometheus(prometheus, result)


def test_invalid_promql_passes_prometheus_error_text(prometheus):
    query = 'sum(rate(http_requests_total{namespace="x"}[5m])'
    own = prometheus.query(query)
    assert own["status"] == "error" and own["errorType"] == "bad_data"
    result, failed = check(prometheus, check="query", query=query, threshold=0.1, count=3)
    assert failed and result["msg"] == f"Prometheus rejected the query: {own['error']}"
    assert result["error_type"] == "bad_data" and result["query"] == query


def test_range_vector_result_is_rejected(prometheus):
    result, failed = check(prometheus, check="query", query="up[1m]", threshold=1)
    assert failed and "'matrix' result" in result["msg"]


def test_prometheus_stopped(exporter, tmp_path):
    spare = Prometheus(tmp_path / "spare", port=SPARE_PROMETHEUS_PORT).start()
    try:
        spare.wait_for("up")
        result, failed = check(spare, check="query", query="up", threshold=1, threshold_type="min")
        assert not failed and result["passed"]
    finally:
        spare.stop()
    result, failed = check(spare, check="query", query="up", threshold=1, threshold_type="min", count=2)
    assert failed and result["verdict"] == "error" and result["counts"]["error"] == 2
    assert "cannot reach Prometheus at http://127.0.0.1:59092" in result["reason"]
    assert "fail closed" in result["reason"]


def test_consecutive_error_limit(tmp_path):
    url = f"http://127.0.0.1:{SPARE_PROMETHEUS_PORT}"
    result, failed = run_module(error_rate_check, dict(prometheus_url=url, namespace="x", threshold=0.1, count=5,
                                                       interval="0s", consecutive_error_limit=1))
    assert failed and len(result["measurements"]) == 2 and "consecutive errors exceed" in result["reason"]


def test_not_a_prometheus_endpoint(exporter):
    url = f"http://127.0.0.1:{EXPORTER_PORT}"
    result, failed = run_module(error_rate_check, dict(prometheus_url=url, namespace="x", threshold=0.1))
    assert failed and result["verdict"] == "error" and "answered HTTP 501" in result["reason"]


@pytest.mark.parametrize("args,message", [
    (dict(threshold=1.5), "threshold 1.5 is out of range: it must be between 0.0 and 1.0"),
    (dict(threshold=-0.01), "out of range"),
    (dict(check="latency_p99", threshold=-1), "out of range"),
    (dict(threshold=0.1, count=0), "count must be an integer >= 1"),
    (dict(threshold=0.1, failure_limit=-1), "failure_limit must be an integer >= 0"),
    (dict(threshold=0.1, interval="soon"), "interval 'soon' is not a duration"),
    (dict(threshold=0.1, window="5"), "window '5' is not a PromQL duration"),
    (dict(threshold=0.1, prometheus_url="localhost:9090"), "must start with http:// or https://"),
    (dict(threshold=0.1, timeout=0), "timeout must be a positive number"),
    (dict(threshold=0.1, check="query"), "check is query but all of the following are missing: query"),
    (dict(threshold=0.1, query="up"), "query is only used with check=query"),
    (dict(threshold="high"), "threshold"),
])
def test_bad_input(args, message):
    params = dict(prometheus_url="http://127.0.0.1:1", namespace="x", interval="0s")
    params.update(args)
    result, failed = run_module(error_rate_check, params)
    assert failed and message in result["msg"], result["msg"]
    assert "measurements" not in result  # rejected before any query


def test_missing_namespace_for_builtin_check():
    result, failed = run_module(error_rate_check, dict(prometheus_url="http://127.0.0.1:1", threshold=0.1))
    assert failed and "check is error_ratio but all of the following are missing: namespace" in result["msg"]


def test_check_mode_is_supported(prometheus):
    params = dict(prometheus_url=prometheus.url, job=JOB, window=WINDOW, namespace="below", threshold=0.05)
    result, failed = run_module(error_rate_check, params, check_mode=True)
    assert not failed and result["passed"] and not result["changed"]


AUTH_PROXY_PORT = 59095


@pytest.fixture
def auth_proxy(prometheus):
    proxy = AuthProxy(prometheus.url, AUTH_PROXY_PORT, token="s3cret-token", tenant="team-a").start()
    yield proxy
    proxy.stop()


def test_bearer_token_and_headers_reach_prometheus(auth_proxy):
    params = dict(prometheus_url=auth_proxy.url, namespace="below", job=JOB, window=WINDOW, threshold=0.05,
                  prometheus_bearer_token="s3cret-token", prometheus_headers={"X-Scope-OrgID": "team-a"})
    result, failed = run_module(error_rate_check, params)
    assert not failed and result["passed"] and result["value"] == pytest.approx(0.01)
    assert auth_proxy.seen[-1]["Authorization"] == "Bearer s3cret-token"
    assert "s3cret-token" not in json.dumps(result)  # no_log: the token never appears in the result
    result, failed = run_module(error_rate_check, dict(params, prometheus_bearer_token="wrong"))
    assert failed and result["verdict"] == "error" and "answered HTTP 401" in result["reason"]


def test_bearer_token_from_environment(auth_proxy, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_URL", auth_proxy.url)
    monkeypatch.setenv("PROMETHEUS_BEARER_TOKEN", "s3cret-token")
    params = dict(namespace="below", job=JOB, window=WINDOW, threshold=0.05, headers={"X-Scope-OrgID": "team-a"})
    result, failed = run_module(error_rate_check, params)
    assert not failed and result["passed"]


def test_timeout(auth_proxy):
    auth_proxy.delay = 3
    params = dict(prometheus_url=auth_proxy.url, namespace="below", threshold=0.05, timeout=1,
                  prometheus_bearer_token="s3cret-token", prometheus_headers={"X-Scope-OrgID": "team-a"})
    result, failed = run_module(error_rate_check, params)
    assert failed and result["verdict"] == "error" and "timed out" in result["reason"], result["reason"]
