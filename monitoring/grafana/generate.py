#!/usr/bin/env python3
"""Generate the Agent Service Grafana dashboard (classic JSON model) from code.

Usage: generate.py [--out FILE] [--check]

The layout follows spec/SYSTEM_SUMMARY.md section 3: five rows (overview, latency,
resources, Celery workers, agent invocations). Every query is scoped to the
`$namespace` variable and uses `$__rate_interval` in rates; every panel has a unit and
the `${datasource}` variable as its datasource. --check fails when the checked-in
JSON is stale.
"""
from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards" / "agent-service.json"
DS = {"type": "prometheus", "uid": "${datasource}"}
NS = 'namespace="$namespace"'
API = f'{NS}, handler!="/metrics"'
RI = "$__rate_interval"
CONTAINERS = 'container!="", container!="POD"'


@dataclass
class Panel:
    title: str
    description: str
    unit: str
    targets: list[tuple[str, str]]  # (expr, legendFormat)
    kind: str = "timeseries"
    width: int = 8
    height: int = 8
    extra: dict = field(default_factory=dict)


@dataclass
class Row:
    title: str
    panels: list[Panel]


def hq(q: str, metric: str, by: str, matchers: str) -> str:
    by_le = f"{by}, le" if by else "le"
    return f"histogram_quantile({q}, sum by ({by_le}) (rate({metric}_bucket{{{matchers}}}[{RI}])))"


UP_STATUS = {
    "mappings": [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red", "index": 0}}}],
    "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
}

ROWS = [
    Row("Overview", [
        Panel("Service status", "API pods of the Agent Service answering Prometheus scrapes (0 = down).", "none",
              [(f'sum(up{{{NS}}} * on (namespace, pod) group_left () '
                f'agent_service:pod_component:info{{{NS}, component="api"}})', "API pods up")],
              kind="stat", width=6, extra=UP_STATUS),
        Panel("Current requests/min", "API requests per minute, all handlers except /metrics.", "reqpm",
              [(f"sum(rate(http_requests_total{{{API}}}[{RI}])) * 60", "requests/min")], kind="stat", width=6),
        Panel("Requests in progress", "API requests being served right now.", "none",
              [(f"sum(http_requests_in_progress{{{NS}}})", "in progress")], kind="stat", width=6),
        Panel("Availability (1h)", "Share of API requests without a 5xx answer over the last hour (SLO 99.9 %).",
              "percentunit",
              [(f'1 - max(slo:sli_error:ratio_rate1h{{{NS}, slo="availability"}})', "availability")],
              kind="stat", width=6),
        Panel("Request rate", "API requests per second by handler.", "reqps",
              [(f"sum by (handler) (rate(http_requests_total{{{API}}}[{RI}]))", "{{handler}}")], width=12),
        Panel("Error rate", "Share of API requests answered with a 5xx status (alert above 5 %).", "percentunit",
              [(f'(sum(rate(http_requests_total{{{API}, status=~"5.."}}[{RI}])) or vector(0))'
                f" / sum(rate(http_requests_total{{{API}}}[{RI}]))", "5xx ratio")], width=12),
    ]),
    Row("Latency", [
        Panel("Request latency (p50, p95, p99)", "API request latency quantiles (alerts: p95 above 2 s and 5 s).", "s",
              [(hq(q, "http_request_duration_seconds", "", API), f"p{int(float(q) * 100)}")
               for q in ("0.50", "0.95", "0.99")], width=12),
        Panel("p95 latency by handler", "95th percentile API latency per route template.", "s",
              [(hq("0.95", "http_request_duration_seconds", "handler", API), "{{handler}}")], width=12),
        Panel("Agent response time by agent (p95)", "95th percentile time for an agent to answer, per agent type.", "s",
              [(hq("0.95", "agent_response_time_seconds", "agent", NS), "{{agent}}")], width=12),
        Panel("Requests served within 1 s", "Latency SLI: share of API requests served in 1 s or less (SLO 99 %).",
              "percentunit",
              [(f'sum(rate(http_request_duration_seconds_bucket{{{API}, le=~"1|1\\\\.0"}}[{RI}]))'
                f" / sum(rate(http_request_duration_seconds_count{{{API}}}[{RI}]))", "within 1 s")], width=12),
    ]),
    Row("Resource usage", [
        Panel("CPU usage by pod", "CPU cores used by each pod of the namespace.", "short",
              [(f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{NS}, {CONTAINERS}}}[{RI}]))", "{{pod}}")]),
        Panel("Memory usage by pod", "Working-set memory of each pod of the namespace.", "bytes",
              [(f"sum by (pod) (container_memory_working_set_bytes{{{NS}, {CONTAINERS}}})", "{{pod}}")]),
        Panel("Usage of the limits", "CPU and memory used by each Agent Service pod, as a share of its limits "
              "(alerts above 80 % CPU, 85 % memory).", "percentunit",
              [(f"max by (pod, resource) (agent_service:pod_resource_usage:ratio_limit{{{NS}}})",
                "{{pod}} {{resource}}")]),
        Panel("Ready pods by component", "Ready pods of the Agent Service per component.", "short",
              [(f'sum by (component) (kube_pod_status_ready{{{NS}, condition="true"}} '
                f"* on (namespace, pod) group_left (component) agent_service:pod_component:info{{{NS}}})",
                "{{component}}")], width=12),
        Panel("Container restarts", "Container restarts per pod in each interval.", "short",
              [(f"sum by (pod) (increase(kube_pod_container_status_restarts_total{{{NS}}}[{RI}]))", "{{pod}}")],
              width=12),
    ]),
    Row("Celery workers", [
        Panel("Active workers", "Celery workers answering (alert when 0).", "none",
              [(f"max(celery_workers_active{{{NS}}})", "workers")], kind="stat", width=4, extra=UP_STATUS),
        Panel("Total queue depth", "Tasks waiting in all queues (alerts above 1000 and 5000 per queue).", "short",
              [(f"sum(max by (queue) (celery_queue_length{{{NS}}}))", "tasks waiting")], kind="stat", width=4),
        Panel("Task failure ratio", "Share of finished tasks that failed (alert above 10 %).", "percentunit",
              [(f'(sum(rate(celery_task_total{{{NS}, status="failed"}}[{RI}])) or vector(0))'
                f' / sum(rate(celery_task_total{{{NS}, status=~"succeeded|failed"}}[{RI}]))', "failed")],
              kind="stat", width=4),
        Panel("Queue depth by queue", "Tasks waiting per Celery queue.", "short",
              [(f"max by (queue) (celery_queue_length{{{NS}}})", "{{queue}}")], width=12),
        Panel("Task success/failure rate", "Finished tasks per second by outcome.", "ops",
              [(f"sum by (status) (rate(celery_task_total{{{NS}}}[{RI}]))", "{{status}}")], width=12),
        Panel("Task runtime by task (p95)", "95th percentile task runtime per task (alert above 300 s).", "s",
              [(hq("0.95", "celery_task_runtime_seconds", "task", NS), "{{task}}")], width=12),
    ]),
    Row("Agent invocations", [
        Panel("Invocation rate by agent type", "Agent invocations per second by agent.", "ops",
              [(f"sum by (agent) (rate(agent_invocation_total{{{NS}}}[{RI}]))", "{{agent}}")], width=12),
        Panel("Tool invocation rate by tool", "Tool calls per second by tool.", "ops",
              [(f"sum by (tool) (rate(tool_invocation_total{{{NS}}}[{RI}]))", "{{tool}}")], width=12),
        Panel("Invocations by outcome", "Agent invocations per second by status (succeeded, failed, timeout).", "ops",
              [(f"sum by (status) (rate(agent_invocation_total{{{NS}}}[{RI}]))", "{{status}}")], width=12),
        Panel("Rate limit remaining",
              "Requests left in the current rate-limit window (client: ours; provider: the LLM's).", "short",
              [(f"min by (scope) (rate_limit_remaining{{{NS}}})", "{{scope}}")], width=12),
    ]),
]


def panel_json(panel: Panel, pid: int, x: int, y: int) -> dict:
    targets = [
        {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i), "range": True}
        for i, (expr, legend) in enumerate(panel.targets)
    ]
    defaults: dict = {"unit": panel.unit}
    defaults.update({k: v for k, v in panel.extra.items() if k in ("mappings", "thresholds")})
    out = {
        "id": pid,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DS,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
    }
    if panel.kind == "stat":
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "value", "graphMode": "area", "textMode": "auto"}
    else:
        out["options"] = {"tooltip": {"mode": "multi", "sort": "desc"},
                          "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}
    return out


def build() -> dict:
    panels, pid, y = [], 1, 0
    for row in ROWS:
        panels.append({"id": pid, "type": "row", "title": row.title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y, x, row_h = pid + 1, y + 1, 0, 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y, row_h = 0, y + row_h, 0
            panels.append(panel_json(panel, pid, x, y))
            pid, x, row_h = pid + 1, x + panel.width, max(row_h, panel.height)
        y += row_h
    return {
        "uid": "agent-service",
        "title": "Agent Service",
        "description": "FastAPI API, Celery workers and agent invocations of the Agent Service (generated by "
                       "monitoring/grafana/generate.py).",
        "tags": ["agent-service", "generated"],
        "editable": False,
        "graphTooltip": 1,
        "style": "dark",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "timezone": "utc",
        "links": [{"title": "Runbooks", "type": "link", "url": "monitoring/runbooks/", "targetBlank": True}],
        "annotations": {"list": [
            {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
             "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"},
            {"name": "Deployments", "datasource": DS, "enable": True, "iconColor": "#FADE2A",
             "expr": f"sum by (deployment) (changes(kube_deployment_status_observed_generation{{{NS}}}[2m])) > 0",
             "step": "1m", "titleFormat": "Rollout of {{deployment}}", "tagKeys": "deployment",
             "useValueForTime": False},
            {"name": "Releases", "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
             "iconColor": "#8AB8FF", "type": "tags", "tags": ["deploy", "agent-service"], "matchAny": False},
        ]},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {"text": "Prometheus", "value": "prometheus"}, "hide": 0, "refresh": 1, "regex": ""},
            {"name": "namespace", "label": "Namespace", "type": "query", "datasource": DS,
             "query": {"query": "label_values(http_requests_total, namespace)", "refId": "namespace"},
             "definition": "label_values(http_requests_total, namespace)", "refresh": 2, "sort": 1,
             "includeAll": False, "multi": False, "hide": 0, "current": {}},
        ]},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="fail if --out is not what this script generates")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       str(args.out), "generated", n=1))
            print(f"{args.out} is stale: run `make monitoring-generate`", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
