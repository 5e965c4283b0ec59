#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: log_count
short_description: Count the log lines a LogsQL filter selects in VictoriaLogs over a time range
version_added: 1.1.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Counts the lines the LogsQL filter O(query) selects in VictoriaLogs over the range from O(start) to O(end), or
    over the O(window) that ends now, with LogsQL's C(stats) pipe on C(/select/logsql/query) (RV(query) shows the
    LogsQL sent), and returns the count as RV(lines).
  - "O(query) may hold placeholders C({name}) for the keys of O(values), for example
    C(k8s.namespace.name:=\"{namespace}\" service.version:=\"{version}\" level:=error). Each value is quoted
    for LogsQL: inside a double-quoted string its double quotes, backslashes and control characters are escaped,
    and a bare placeholder becomes a double-quoted string, so a value cannot change the filter's meaning. Braces
    that name no key of O(values) stay as they are (LogsQL stream filters use braces). A placeholder inside a
    single-quoted or backquoted string is refused."
  - VictoriaLogs takes the range's end as exclusive, C(start <= _time < end).
  - An unreachable store, an HTTP error, a query VictoriaLogs rejects (HTTP 400, with its message) and an
    answer that is not the JSON line of a count fail the task with a message that says which.
  - The module only reads from VictoriaLogs.
options:
  url:
    description:
      - Base URL of VictoriaLogs (or of a proxy to its C(/select/) API), for example C(http://victoria-logs:9428).
    type: str
    required: true
  query:
    description: The LogsQL filter of the lines to count, without pipes; may hold C({name}) placeholders of O(values).
    type: str
    required: true
  values:
    description: Values of the placeholders in O(query), by name.
    type: dict
    default: {}
  start:
    description: Start of the range, epoch seconds. Required unless O(window) is given.
    type: float
  end:
    description: End of the range, epoch seconds (exclusive); defaults to now.
    type: float
  window:
    description:
      - The range as a duration ending at O(end) (default now), for example V(5m), V(1m30s) or V(300) (seconds).
      - Mutually exclusive with O(start).
    type: str
  timeout:
    description: Seconds to wait for the answer.
    type: float
    default: 30
  ui_url:
    description:
      - URL of VictoriaLogs' web UI, for example C(http://victoria-logs:9428/select/vmui/). When given, RV(link) opens
        the lines of the filter over the same range there.
    type: str
attributes:
  check_mode:
    support: full
    description: The module is read-only; it queries VictoriaLogs the same way in check mode.
  diff_mode:
    support: none
    description: The module changes nothing, so there is no diff.
seealso:
  - name: VictoriaLogs querying HTTP API
    description: The query endpoint used here.
    link: https://docs.victoriametrics.com/victorialogs/querying/#http-api
  - name: LogsQL
    description: The query language of the filter.
    link: https://docs.victoriametrics.com/victorialogs/logsql/
"""

EXAMPLES = r"""
- name: Error-level lines of version 1.4.0 in dev over the last 10 minutes
  agent_service.platform.log_count:
    url: http://victoria-logs.monitoring.svc:9428
    query: 'k8s.namespace.name:="{namespace}" service.version:="{version}" level:=error'
    values:
      namespace: dev
      version: 1.4.0
    window: 10m
  register: errors

- name: Over a given range, with a link to the lines in the web UI
  agent_service.platform.log_count:
    url: http://127.0.0.1:9428
    query: 'k8s.namespace.name:="dev" level:=error'
    start: "{{ analysis_started }}"
    end: "{{ analysis_ended }}"
    ui_url: http://127.0.0.1:9428/select/vmui/

- name: The URL once for the whole play
  module_defaults:
    group/agent_service.platform.logs:
      url: http://victoria-logs.monitoring.svc:9428
  block:
    - name: Warnings in the last hour
      agent_service.platform.log_count:
        query: level:=warn
        window: 1h
"""

RETURN = r"""
lines:
  description: How many lines the filter selects in the range.
  returned: success
  type: int
  sample: 12
query:
  description: The full LogsQL sent, the filled filter and its stats pipe.
  returned: always
  type: str
  sample: 'k8s.namespace.name:="dev" service.version:="1.4.0" level:=error | stats count() as lines'
filter:
  description: The filter with its placeholders filled, without the stats pipe.
  returned: always
  type: str
  sample: 'k8s.namespace.name:="dev" service.version:="1.4.0" level:=error'
url:
  description: The O(url) queried.
  returned: always
  type: str
  sample: http://victoria-logs.monitoring.svc:9428
start:
  description: Start of the range, epoch seconds.
  returned: always
  type: float
end:
  description: End of the range, epoch seconds (exclusive).
  returned: always
  type: float
link:
  description: The filter over the range in the web UI, when O(ui_url) is given; else null.
  returned: always
  type: str
  sample: "http://victoria-logs:9428/select/vmui/#/?query=level%3A%3Derror&g0.end_input=2026-12-07T12%3A05%3A00.000000Z\
    &g0.range_input=300s&g0.relative_time=none"
error_type:
  description: On failure, which kind - V(unreachable), V(rejected) (HTTP 400, bad LogsQL) or V(bad_answer).
  returned: failure
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.agent_service.platform.plugins.module_utils.logs_query import (
    LogsBadAnswer,
    LogsError,
    LogsQueryRejected,
    count,
    fill,
    stats_query,
    time_range,
    ui_link,
)

ERROR_TYPES = ((LogsQueryRejected, "rejected"), (LogsBadAnswer, "bad_answer"))


def argument_spec():
    return dict(
        url=dict(type="str", required=True),
        query=dict(type="str", required=True),
        values=dict(type="dict", default={}),
        start=dict(type="float"),
        end=dict(type="float"),
        window=dict(type="str"),
        timeout=dict(type="float", default=30.0),
        ui_url=dict(type="str"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("start", "window")], required_one_of=[("start", "window")])
    params = module.params
    result = dict(changed=False, url=params["url"], query=None, filter=None, start=None, end=None, link=None)
    try:
        result["filter"] = fill(params["query"], params["values"])
        result["query"] = stats_query(result["filter"])
        result["start"], result["end"] = time_range(params["start"], params["end"], params["window"], now=time.time())
        if params["ui_url"]:
            result["link"] = ui_link(params["ui_url"], result["filter"], result["start"], result["end"])
        lines = count(params["url"], result["filter"], result["start"], result["end"], params["timeout"])
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    except LogsError as exc:
        kind = next((name for cls, name in ERROR_TYPES if isinstance(exc, cls)), "unreachable")
        module.fail_json(msg=exc.msg, error_type=kind, **result)
    module.exit_json(lines=lines, **result)


if __name__ == "__main__":
    main()
