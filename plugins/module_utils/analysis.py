# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The analysis verdict: measurements taken ``count`` times at ``interval``. Pure Python.

Semantics (Argo Rollouts' counters, Flagger's fail-closed handling of no data):

- A measurement is ``successful`` when every sample passes the threshold
  (``max``: value <= threshold; ``min``: value >= threshold), ``failed`` when a
  sample breaches it, ``no_data`` for an empty result or a NaN sample, and
  ``error`` when Prometheus could not answer.
- ``no_data`` counts as failed when ``fail_on_no_data`` (the default), otherwise
  it is neither a success nor a failure.
- The analysis fails once failed measurements exceed ``failure_limit``
  (default 0: the first failure fails it) or consecutive errors exceed
  ``consecutive_error_limit``; it stops measuring at that point.
- It passes only with at least one successful measurement: a run with only
  errors or ignored no-data fails closed.
"""

from __future__ import annotations

import math

THRESHOLD_TYPES = ("max", "min")


class AnalysisSettings:
    def __init__(self, threshold, threshold_type="max", count=1, interval=60.0, failure_limit=0,
                 consecutive_error_limit=4, fail_on_no_data=True, threshold_range=None):
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        if threshold_range is not None:
            low, high = threshold_range
            if not low <= threshold <= high:
                raise ValueError(f"threshold {threshold} is out of range: it must be between {low} and {high}")
        if threshold_type not in THRESHOLD_TYPES:
            raise ValueError(f"threshold_type must be one of {', '.join(THRESHOLD_TYPES)}, got {threshold_type!r}")
        for name, value, low in (("count", count, 1), ("failure_limit", failure_limit, 0),
                                 ("consecutive_error_limit", consecutive_error_limit, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not isinstance(interval, (int, float)) or interval < 0:
            raise ValueError(f"interval must be a non-negative number of seconds, got {interval!r}")
        self.threshold = float(threshold)
        self.threshold_type = threshold_type
        self.count = count
        self.interval = float(interval)
        self.failure_limit = failure_limit
        self.consecutive_error_limit = consecutive_error_limit
        self.fail_on_no_data = fail_on_no_data


def judge_samples(samples, settings):
    """Status and reason of one measurement from parsed samples."""
    if not samples:
        return "no_data", "the query returned an empty result (no series: no traffic or wrong selector)"
    values = [s["value"] for s in samples]
    if any(math.isnan(v) for v in values):
        return "no_data", "the query returned NaN (no requests in the window: 0/0)"
    if settings.threshold_type == "max":
        breaching = [v for v in values if v > settings.threshold]
        relation = "above the maximum"
    else:
        breaching = [v for v in values if v < settings.threshold]
        relation = "below the minimum"
    shown = ", ".join(_fmt(v) for v in values)
    if breaching:
        return "failed", f"value {', '.join(_fmt(v) for v in breaching)} is {relation} {_fmt(settings.threshold)}"
    return "successful", f"value {shown} is within the threshold {_fmt(settings.threshold)} ({settings.threshold_type})"


def _fmt(value):
    return f"{value:.6g}"


class Analysis:
    """Accumulates measurements and decides when to stop and what the verdict is."""

    def __init__(self, settings):
        self.settings = settings
        self.measurements = []
        self.counts = dict(successful=0, failed=0, no_data=0, error=0)
        self._consecutive_errors = 0
        self.verdict = None
        self.reason = None

    def add(self, status, reason, value=None, samples=None, timestamp=None):
        """Record one measurement; returns True when the analysis is decided."""
        if status not in self.counts:
            raise ValueError(f"unknown measurement status {status!r}")
        self.counts[status] += 1
        self._consecutive_errors = self._consecutive_errors + 1 if status == "error" else 0
        self.measurements.append(dict(index=len(self.measurements) + 1, status=status, reason=reason,
                                      value=value, samples=samples or [], timestamp=timestamp))
        failures = self.counts["failed"] + (self.counts["no_data"] if self.settings.fail_on_no_data else 0)
        if failures > self.settings.failure_limit:
            self.verdict = "failed"
            self.reason = (f"{failures} failed measurement(s) exceed failure_limit {self.settings.failure_limit};"
                           f" last: {reason}")
        elif self._consecutive_errors > self.settings.consecutive_error_limit:
            self.verdict = "error"
            self.reason = (f"{self._consecutive_errors} consecutive errors exceed consecutive_error_limit"
                           f" {self.settings.consecutive_error_limit}; last: {reason}")
        elif len(self.measurements) >= self.settings.count:
            self._finish()
        return self.verdict is not None

    def _finish(self):
        last = self.measurements[-1]["reason"]
        if self.counts["successful"] == 0:
            self.verdict = "error" if self.counts["error"] else "failed"
            self.reason = f"no successful measurement in {len(self.measurements)} (fail closed); last: {last}"
        else:
            self.verdict = "successful"
            self.reason = (f"{self.counts['successful']} of {len(self.measurements)} measurement(s) successful,"
                           f" {self.counts['failed']} failed (failure_limit {self.settings.failure_limit});"
                           f" last: {last}")

    @property
    def passed(self):
        return self.verdict == "successful"

    def result(self):
        return dict(verdict=self.verdict, passed=self.passed, reason=self.reason,
                    measurements=self.measurements, counts=dict(self.counts))


def single_value(samples):
    """The one value of a measurement when it has exactly one sample, else None."""
    if len(samples) == 1:
        return samples[0]["value"]
    return None


def run_analysis(settings, measure, sleep):
    """Run ``measure()`` up to ``settings.count`` times, sleeping ``interval`` in between.

    ``measure()`` returns ``(status, reason, samples, timestamp)``. Returns Analysis.result().
    """
    analysis = Analysis(settings)
    while True:
        status, reason, samples, timestamp = measure()
        value = single_value(samples)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            value = None  # NaN and infinities are reported in the samples only
        if analysis.add(status, reason, value, samples, timestamp):
            return analysis.result()
        sleep(settings.interval)
