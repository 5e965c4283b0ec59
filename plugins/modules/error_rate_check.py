#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: error_rate_check
short_description: Decide whether a release is healthy from Prometheus metrics (error ratio, p99 latency, any PromQL)
version_added: 1.0.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Runs an instant PromQL query O(count) times, O(interval) apart, judges each answer against O(threshold) and
    returns a verdict, the samples and a readable reason.
  - "Built-in checks use the Agent Service metrics. V(error_ratio) is the per-second rate of
    C(http_requests_total) with a C(status) matching C(5..) divided by the rate of all C(http_requests_total);
    the numerator falls back to zero so that a release that never answered 5xx measures 0, not no data
    (RV(query) shows the exact PromQL). V(latency_p99) is C(histogram_quantile) 0.99 of the
    C(http_request_duration_seconds) buckets, in seconds. Series are selected by O(namespace), O(job) and, with
    O(version), the release version label C(app_kubernetes_io_version). V(query) runs O(query) as given."
  - "A measurement passes when every sample is at or below O(threshold) (O(threshold_type=max)) or at or above it
    (O(threshold_type=min)). An empty result or NaN (no traffic) is C(no_data) and fails closed by default
    (O(fail_on_no_data)). An unreachable server or a Prometheus error is an C(error) measurement."
  - "Verdict (the counters of Argo Rollouts): V(failed) once failed measurements exceed O(failure_limit),
    V(error) once consecutive errors exceed O(consecutive_error_limit) - measuring stops there - and
    V(successful) only with at least one successful measurement. A query Prometheus rejects (invalid PromQL)
    fails the task at once with Prometheus's error text."
  - The module only reads from Prometheus.
extends_documentation_fragment:
  - agent_service.platform.prometheus
options:
  check:
    description: What to measure.
    type: str
    choices: [error_ratio, latency_p99, query]
    default: error_ratio
  query:
    description: PromQL for O(check=query). It must return an instant vector or a scalar.
    type: str
  namespace:
    description: Kubernetes namespace of the release (label C(namespace)); required for the built-in checks.
    type: str
  job:
    description: Prometheus C(job) label of the scraped service.
    type: str
  version:
    description: Only series of this release version (label C(app_kubernetes_io_version)), for a canary.
    type: str
  labels:
    description: Further exact label matchers added to the built-in queries, for example C(handler).
    type: dict
    default: {}
  window:
    description: Range of the C(rate()) in the built-in queries, a PromQL duration.
    type: str
    default: 5m
  threshold:
    description:
      - Limit a sample is judged against. For V(error_ratio) a fraction between 0 and 1 (V(0.01) is 1%), for
        V(latency_p99) seconds (not negative).
    type: float
    required: true
  threshold_type:
    description: V(max) fails values above O(threshold); V(min) fails values below it.
    type: str
    choices: [max, min]
    default: max
  count:
    description: Number of measurements.
    type: int
    default: 1
  interval:
    description: Time between measurements, a duration like V(30s), V(1m) or seconds.
    type: str
    default: 60s
  failure_limit:
    description: Failed measurements tolerated; the analysis fails when there are more.
    type: int
    default: 0
  consecutive_error_limit:
    description: Consecutive error measurements (Prometheus unreachable or failing) tolerated.
    type: int
    default: 4
  fail_on_no_data:
    description: Count an empty result or NaN as a failed measurement (fail closed). When false it is ignored.
    type: bool
    default: true
  fail_on_failure:
    description:
      - Fail the task when the verdict is not V(successful). When false the task succeeds and the caller reads
        RV(passed).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: The module is read-only; it queries Prometheus the same way in check mode.
  diff_mode:
    support: none
    description: The module changes nothing, so there is no diff.
seealso:
  - name: Prometheus HTTP API
    description: The instant query endpoint used here.
    link: https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries
"""

EXAMPLES = r"""
- name: The new release serves less than 1% errors over 5 minutes, checked 5 times a minute apart
  agent_service.platform.error_rate_check:
    prometheus_url: http://prometheus-operated.monitoring.svc:9090
    namespace: agent-service
    job: agent-service
    version: "{{ release_version }}"
    threshold: 0.01
    count: 5
    interval: 1m
    failure_limit: 1

- name: p99 latency under 500 ms, verdict read by the caller
  agent_service.platform.error_rate_check:
    prometheus_url: "{{ prometheus_url }}"
    check: latency_p99
    namespace: agent-service
    threshold: 0.5
    fail_on_failure: false
  register: latency

- name: Any PromQL - at least one worker alive
  agent_service.platform.error_rate_check:
    check: query
    query: sum(celery_workers_active{namespace="agent-service"})
    threshold: 1
    threshold_type: min

- name: Connection options once for the whole play
  module_defaults:
    group/agent_service.platform.prometheus:
      prometheus_url: https://prometheus.example.com
      prometheus_bearer_token: "{{ prometheus_token }}"
  block:
    - name: Error ratio
      agent_service.platform.error_rate_check:
        namespace: agent-service
        threshold: 0.05
"""

RETURN = r"""
passed:
  description: Whether the verdict is V(successful).
  returned: always
  type: bool
verdict:
  description: V(successful), V(failed) or V(error) (Prometheus unreachable or failing).
  returned: always
  type: str
  sample: failed
reason:
  description: Why, in one sentence.
  returned: always
  type: str
  sample: "1 failed measurement(s) exceed failure_limit 0; last: value 0.25 is above the maximum 0.05"
query:
  description: The PromQL that was run.
  returned: always
  type: str
  sample: >-
    (sum(rate(http_requests_total{namespace="agent-service",status=~"5.."}[5m])) or vector(0))
    / sum(rate(http_requests_total{namespace="agent-service"}[5m]))
check:
  description: The O(check) used.
  returned: always
  type: str
threshold:
  description: The O(threshold) used.
  returned: always
  type: float
threshold_type:
  description: The O(threshold_type) used.
  returned: always
  type: str
value:
  description: Value of the last measurement that had exactly one finite sample, else null.
  returned: always
  type: float
  sample: 0.25
counts:
  description: Measurements per status.
  returned: always
  type: dict
  sample: {successful: 2, failed: 1, no_data: 0, error: 0}
measurements:
  description: Every measurement in order.
  returned: always
  type: list
  elements: dict
  contains:
    index:
      description: 1-based number of the measurement.
      type: int
    status:
      description: V(successful), V(failed), V(no_data) or V(error).
      type: str
    reason:
      description: Why.
      type: str
    value:
      description: The value when the answer had exactly one numeric sample, else null.
      type: float
    timestamp:
      description: Unix time of the measurement.
      type: float
    samples:
      description: The samples Prometheus returned; C(value) is a float, or V(NaN)/V(+Inf)/V(-Inf) as a string.
      type: list
      elements: dict
"""

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.agent_service.platform.plugins.module_utils.error_rate import QueryError, run_check
from ansible_collections.agent_service.platform.plugins.module_utils.prometheus import (
    PROMETHEUS_ARG_SPEC,
    PrometheusClient,
)

SPEC = dict(
    check=dict(type="str", choices=["error_ratio", "latency_p99", "query"], default="error_ratio"),
    query=dict(type="str"),
    namespace=dict(type="str"),
    job=dict(type="str"),
    version=dict(type="str"),
    labels=dict(type="dict", default={}),
    window=dict(type="str", default="5m"),
    threshold=dict(type="float", required=True),
    threshold_type=dict(type="str", choices=["max", "min"], default="max"),
    count=dict(type="int", default=1),
    interval=dict(type="str", default="60s"),
    failure_limit=dict(type="int", default=0),
    consecutive_error_limit=dict(type="int", default=4),
    fail_on_no_data=dict(type="bool", default=True),
    fail_on_failure=dict(type="bool", default=True),
)


def argument_spec():
    spec = copy.deepcopy(PROMETHEUS_ARG_SPEC)
    spec.update(copy.deepcopy(SPEC))
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("check", "query", ["query"]), ("check", "error_ratio", ["namespace"]),
                                        ("check", "latency_p99", ["namespace"])])
    try:
        result = run_check(module.params, PrometheusClient.from_params(module.params))
    except QueryError as exc:
        module.fail_json(msg=exc.msg, query=exc.query, error_type=exc.error_type)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if module.params["fail_on_failure"] and not result["passed"]:
        module.fail_json(msg=f"analysis {result['verdict']}: {result['reason']}", changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
