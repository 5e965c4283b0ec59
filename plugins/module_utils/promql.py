# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PromQL for the built-in checks and parsing of Prometheus query responses. Pure Python.

Metric and label names are those of docs/interfaces.md: ``http_requests_total``
(labels method, handler, status) and ``http_request_duration_seconds``; the
release version label added by the ServiceMonitor is ``app_kubernetes_io_version``.
"""

from __future__ import annotations

import math
import re

REQUESTS_METRIC = "http_requests_total"
DURATION_METRIC = "http_request_duration_seconds"
VERSION_LABEL = "app_kubernetes_io_version"
BUILTIN_CHECKS = ("error_ratio", "latency_p99")
# Prometheus duration: one or more <number><unit>, units ms s m h d w y.
_DURATION_RE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_DURATION_PART_RE = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = dict(ms=0.001, s=1, m=60, h=3600, d=86400, w=604800, y=31536000)


class PrometheusError(Exception):
    """Prometheus answered with an error (bad query, execution error...).

    ``error_type`` is Prometheus's ``errorType`` (``bad_data``, ``execution``,
    ``timeout``, ``unavailable``...), ``message`` its ``error`` text, unchanged.
    """

    def __init__(self, message, error_type=None, status=None):
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.status = status

    @property
    def is_query_error(self):
        """True when the query itself is wrong: retrying cannot help."""
        return self.error_type == "bad_data" or self.status in (400, 422)


class PrometheusUnreachable(Exception):
    """The server could not be reached (refused, timeout, DNS, TLS)."""


def parse_duration(text, name="duration"):
    """Seconds in a Prometheus-style duration (``90s``, ``1m30s``) or a number of seconds."""
    if isinstance(text, bool):
        raise ValueError(f"{name} must be a duration like 30s or 1m, got {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        text = str(text).strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif _DURATION_RE.match(text):
            seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(text))
        else:
            raise ValueError(f"{name} {text!r} is not a duration (examples: 30s, 1m, 1m30s, 500ms)")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name} must be a finite, non-negative duration, got {text!r}")
    return seconds


def validate_range(window):
    """A PromQL range selector duration (``5m``); returns it unchanged."""
    if not isinstance(window, str) or not _DURATION_RE.match(window) or parse_duration(window) <= 0:
        raise ValueError(f"window {window!r} is not a PromQL duration (examples: 1m, 5m, 1h)")
    return window


def escape_label_value(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def selector(matchers):
    """``{a="x",b=~"y"}`` from a list of (label, op, value)."""
    for label, op, _value in matchers:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label):
            raise ValueError(f"invalid label name {label!r}")
        if op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"invalid label matcher operator {op!r}")
    return "{" + ",".join(f'{label}{op}"{escape_label_value(value)}"' for label, op, value in matchers) + "}"


def _base_matchers(namespace, job=None, version=None, labels=None):
    if not namespace:
        raise ValueError("namespace is required for the built-in checks")
    matchers = [("namespace", "=", namespace)]
    if job:
        matchers.append(("job", "=", job))
    if version:
        matchers.append((VERSION_LABEL, "=", version))
    for label, value in sorted((labels or {}).items()):
        matchers.append((label, "=", value))
    return matchers


def error_ratio_query(namespace, job=None, version=None, window="5m", labels=None):
    """5xx responses / all responses over ``window``: a ratio in [0, 1].

    A service that never answered 5xx has no 5xx series at all, so the numerator
    falls back to ``vector(0)``; without any request series the result stays
    empty, and with no requests in the window it is NaN (0/0): both are "no data".
    """
    validate_range(window)
    base = _base_matchers(namespace, job, version, labels)
    errors = selector(base + [("status", "=~", "5..")])
    everything = selector(base)
    return (f"(sum(rate({REQUESTS_METRIC}{errors}[{window}])) or vector(0))"
            f" / sum(rate({REQUESTS_METRIC}{everything}[{window}]))")


def latency_p99_query(namespace, job=None, version=None, window="5m", labels=None, quantile=0.99):
    """The p99 request latency in seconds over ``window`` from the histogram buckets."""
    validate_range(window)
    sel = selector(_base_matchers(namespace, job, version, labels))
    return f"histogram_quantile({quantile}, sum by (le) (rate({DURATION_METRIC}_bucket{sel}[{window}])))"


def builtin_query(check, namespace, job=None, version=None, window="5m", labels=None):
    if check == "error_ratio":
        return error_ratio_query(namespace, job, version, window, labels)
    if check == "latency_p99":
        return latency_p99_query(namespace, job, version, window, labels)
    raise ValueError(f"unknown check {check!r}; expected one of: {', '.join(BUILTIN_CHECKS)} or query")


def parse_sample_value(raw):
    """A Prometheus sample value string (``"0.25"``, ``"NaN"``, ``"+Inf"``) as float."""
    try:
        return float(raw)
    except (TypeError, ValueError) as exc:
        raise PrometheusError(f"Prometheus returned a sample value that is not a number: {raw!r}") from exc


def parse_response(payload, http_status=200):
    """Parse the JSON body of ``/api/v1/query``.

    Returns ``dict(result_type, samples=[dict(labels, value, timestamp)], warnings)``.
    A scalar becomes one sample without labels; an empty vector has no samples.
    Raises PrometheusError for ``status: error`` (text passed through) and for
    answers this code cannot use (matrix, string, malformed).
    """
    if not isinstance(payload, dict) or "status" not in payload:
        raise PrometheusError(f"unexpected answer from Prometheus (HTTP {http_status}): {str(payload)[:300]}",
                              status=http_status)
    if payload["status"] != "success":
        raise PrometheusError(str(payload.get("error", "unknown error")), payload.get("errorType"), http_status)
    data = payload.get("data") or {}
    result_type = data.get("resultType")
    result = data.get("result")
    samples = []
    if result_type == "vector":
        for item in result or []:
            timestamp, raw = item["value"]
            samples.append(dict(labels=dict(item.get("metric") or {}), value=parse_sample_value(raw),
                                timestamp=float(timestamp)))
    elif result_type == "scalar":
        timestamp, raw = result
        samples.append(dict(labels={}, value=parse_sample_value(raw), timestamp=float(timestamp)))
    else:
        raise PrometheusError(f"the query returned a {result_type!r} result; an instant vector or a scalar is needed",
                              "bad_data", http_status)
    return dict(result_type=result_type, samples=samples, warnings=list(payload.get("warnings") or []))
