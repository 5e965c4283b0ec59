# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the error_rate_check module does, without Ansible: build the query, measure, judge."""

from __future__ import annotations

import math
import time

from .analysis import AnalysisSettings, judge_samples, run_analysis
from .promql import BUILTIN_CHECKS, PrometheusError, PrometheusUnreachable, builtin_query, parse_duration

# Allowed threshold per check: a ratio is a fraction, a latency is seconds.
THRESHOLD_RANGES = dict(error_ratio=(0.0, 1.0), latency_p99=(0.0, float("inf")))


class QueryError(Exception):
    """Prometheus rejected the query: retrying cannot help; the text is Prometheus's own."""

    def __init__(self, msg, query, error_type=None):
        super().__init__(msg)
        self.msg = msg
        self.query = query
        self.error_type = error_type


def resolve_query(params):
    check = params.get("check") or "error_ratio"
    if check == "query":
        query = params.get("query")
        if not query or not str(query).strip():
            raise ValueError("check=query needs a non-empty query")
        return str(query)
    if check not in BUILTIN_CHECKS:
        raise ValueError(f"unknown check {check!r}; expected one of: {', '.join(BUILTIN_CHECKS)}, query")
    if params.get("query"):
        raise ValueError(f"query is only used with check=query, not with check={check}")
    return builtin_query(check, params.get("namespace"), params.get("job"), params.get("version"),
                         params.get("window") or "5m", params.get("labels"))


def settings_from(params):
    check = params.get("check") or "error_ratio"
    return AnalysisSettings(
        threshold=params["threshold"],
        threshold_type=params.get("threshold_type") or "max",
        count=params.get("count", 1),
        interval=parse_duration(params.get("interval", "60s"), "interval"),
        failure_limit=params.get("failure_limit", 0),
        consecutive_error_limit=params.get("consecutive_error_limit", 4),
        fail_on_no_data=params.get("fail_on_no_data", True),
        threshold_range=THRESHOLD_RANGES.get(check),
    )


def json_value(value):
    """Floats that JSON can carry; NaN and infinities become the strings Prometheus uses."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


def run_check(params, client, sleep=time.sleep):
    """Run the analysis; returns the module result (without ``changed``).

    Raises QueryError when Prometheus rejects the query (bad PromQL),
    ValueError for invalid parameters.
    """
    query = resolve_query(params)
    settings = settings_from(params)

    def measure():
        try:
            answer = client.query(query)
        except PrometheusUnreachable as exc:
            return "error", str(exc), [], time.time()
        except PrometheusError as exc:
            if exc.is_query_error:
                raise QueryError(f"Prometheus rejected the query: {exc.message}", query, exc.error_type) from exc
            return "error", f"Prometheus query failed ({exc.error_type}): {exc.message}", [], time.time()
        status, reason = judge_samples(answer["samples"], settings)
        samples = [dict(s, value=json_value(s["value"])) for s in answer["samples"]]
        return status, reason, samples, answer["timestamp"]

    result = run_analysis(settings, measure, sleep)
    result.update(query=query, threshold=settings.threshold, threshold_type=settings.threshold_type,
                  check=params.get("check") or "error_ratio")
    values = [m["value"] for m in result["measurements"] if m["value"] is not None]
    result["value"] = values[-1] if values else None
    return result
