"""Every alert has a runbook, every runbook has an alert, and what a runbook says exists.

See runbook_lib.py for what is checked against which source. `make runbooks-test`.
"""
from __future__ import annotations

import importlib.util
import re

import pytest
import runbook_lib as rb

ALERTS = rb.alerts()
RUNBOOKS = rb.runbook_files()
ALL_DOCS = [*RUNBOOKS, rb.RUNBOOK_DIR / "README.md"]


def _id(path):
    return path.stem if hasattr(path, "stem") else str(path)


# ----------------------------------------------------------------------------- alerts <-> runbooks


def test_rule_files_found():
    names = [p.name for p in rb.rule_files()]
    assert "rules.yml" in names and "slo-rules.yml" in names, names
    assert len(ALERTS) >= 27


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_alert_has_runbook(alert):
    assert (rb.RUNBOOK_DIR / f"{alert}.md").is_file(), f"no monitoring/runbooks/{alert}.md"


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_runbook_url_points_at_runbook(alert):
    for rule in ALERTS[alert]:
        url = rule.annotations.get("runbook_url", "")
        assert url.endswith(f"monitoring/runbooks/{alert}.md"), f"{rule.file}/{rule.group}: runbook_url {url!r}"


@pytest.mark.parametrize("path", RUNBOOKS, ids=_id)
def test_runbook_has_alert(path):
    assert path.stem in ALERTS, f"{path.name}: no alert {path.stem} in {[p.name for p in rb.rule_files()]}"


# ----------------------------------------------------------------------------- structure


@pytest.mark.parametrize("path", RUNBOOKS, ids=_id)
def test_sections(path):
    problems = rb.structure_problems(path.stem, path.read_text())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ALL_DOCS, ids=_id)
def test_code_blocks_are_tagged(path):
    for block in rb.fenced_blocks(path.read_text()):
        assert block.lang, f"line {block.line}: tag the code block (bash or promql)"


@pytest.mark.parametrize("path", RUNBOOKS, ids=_id)
def test_meaning_quotes_current_rule(path):
    """The Meaning section quotes each rule of the alert as it is now (severity, for, expression)."""
    problems = rb.quote_problems(path.read_text(), ALERTS.get(path.stem, []))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", RUNBOOKS, ids=_id)
def test_escalation_matches_alertmanager_routing(path):
    """Escalate names every receiver amtool routes the alert to, and PagerDuty for critical alerts."""
    escalate = rb.sections(path.read_text())["Escalate"]
    for rule in ALERTS.get(path.stem, []):
        for team in rb.teams_of(rule):
            labels = (("alertname", rule.alert), ("severity", rule.labels["severity"]), ("team", team),
                      ("service", rule.labels.get("service", "")))
            receivers = rb.receivers_for(labels)
            assert receivers, labels
            for receiver in receivers:
                assert f"`{receiver}`" in escalate, f"{dict(labels)} is routed to {receiver}: name it in Escalate"
        if rule.labels["severity"] == "critical":
            assert "pagerduty" in escalate.lower()


# ----------------------------------------------------------------------------- commands and queries


@pytest.mark.parametrize("path", ALL_DOCS, ids=_id)
def test_commands_exist(path):
    text = path.read_text()
    problems = []
    for block in rb.fenced_blocks(text):
        if block.lang in rb.SHELL_LANGS:
            problems += [f"line {block.line}: {p}" for p in rb.check_script(block.text)]
    for span in rb.inline_commands(text):
        problems += [f"inline `{span[:60]}`: {p}" for p in rb.check_script(span)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ALL_DOCS, ids=_id)
def test_promql_parses_and_uses_known_metrics(path):
    text = path.read_text()
    exprs = []
    for block in rb.fenced_blocks(text):
        if block.lang == "promql":
            exprs.append(block.text)
        elif block.lang in rb.SHELL_LANGS:
            ctx = rb.BlockContext()
            try:
                commands = rb.split_commands(block.text)
            except ValueError:
                continue  # reported by test_commands_exist
            for argv in commands:
                rb.check_command(argv, ctx)
            exprs += ctx.promql
    problems = rb.promtool_parse(exprs)
    for expr in exprs:
        problems += [f"{rb.normalize(expr)[:80]}: {p}" for p in rb.promql_problems(expr)]
    assert not problems, "\n".join(problems)


def test_runbooks_use_promql():
    assert all(any(b.lang == "promql" for b in rb.fenced_blocks(p.read_text())) for p in RUNBOOKS)


def _collected(kind: str) -> list[tuple[str, object]]:
    cases = []
    for path in ALL_DOCS:
        items = [item for ctx in rb.block_contexts(path.read_text()) for item in getattr(ctx, kind)]
        cases += [pytest.param(item, id=f"{path.stem}-{i}") for i, item in enumerate(items)]
    return cases


SQL_CASES = _collected("sql")
REDIS_CASES = _collected("redis")
ANSIBLE_CASES = sorted({" ".join(c.values[0]): c for c in _collected("ansible")}.values(), key=lambda c: c.id)


def test_runbooks_have_database_and_playbook_commands():
    assert len(SQL_CASES) >= 5 and len(REDIS_CASES) >= 5 and len(ANSIBLE_CASES) >= 5, \
        (len(SQL_CASES), len(REDIS_CASES), len(ANSIBLE_CASES))


@pytest.mark.parametrize("sql", SQL_CASES)
def test_sql_runs_on_postgresql(sql, postgres):
    """Each `psql -c` statement is a SELECT that PostgreSQL 15 plans (EXPLAIN: columns, functions, types)."""
    assert re.match(r"\s*SELECT\b", sql, re.I), "runbook SQL must be a SELECT (functions included)"
    res = postgres.psql("EXPLAIN " + sql)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("args", REDIS_CASES)
def test_redis_command_runs(args, redis_cli):
    res = redis_cli(args)
    assert res.returncode == 0 and not res.stdout.startswith(("ERR", "(error)")), res.stdout + res.stderr


@pytest.mark.parametrize("args", ANSIBLE_CASES)
def test_playbook_command_passes_syntax_check(args):
    """The playbook resolves as a collection playbook, the inventory loads, the extra vars parse."""
    res = rb.ansible_syntax_check(args)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Unable to parse" not in res.stderr and "No inventory was parsed" not in res.stderr, res.stderr


# ----------------------------------------------------------------------------- the tools themselves


@pytest.mark.parametrize("name", sorted(rb.HOST_TOOLS))
def test_tool_is_shipped(name):
    """Each executable a runbook may use comes from the project (debs, venv, Go tools, test bed)."""
    kind, what = rb.HOST_TOOLS[name]
    assert rb.tool_is_shipped(name), f"{name}: {kind} {what} not found in the project"
    if kind in ("deb", "base") or name in ("ansible-playbook", "helm", "make"):
        assert rb.tool(name)  # installed by the runbooks-test prerequisites


@pytest.mark.parametrize("component", sorted(rb.CONTAINER_TOOLS))
def test_container_tools_are_in_the_images(component):
    for name, (kind, what) in rb.CONTAINER_TOOLS[component].items():
        assert rb._provided(kind, what), f"{component}: {name} ({what}) not found"


# ----------------------------------------------------------------------------- the checker catches mistakes

BAD_COMMANDS = {
    "unknown executable": "kubctl -n production get pods",
    "kubectl typo": "kubectl -n production rollout restrat deploy/agent-service-api",
    "unknown namespace": "kubectl -n agents get pods",
    "no namespace": "kubectl get pods",
    "unknown object": "kubectl -n production get deploy/agent-service-web",
    "unknown hpa": "kubectl -n production get hpa agent-service-flower",
    "object of another environment": "kubectl -n production logs statefulset/agent-service-redis -c redis",
    "unknown label": "kubectl -n production get pods -l app.kubernetes.io/component=scheduler",
    "unknown container": "kubectl -n production logs deploy/agent-service-api -c app",
    "unknown flag": "kubectl -n production get pods --all-namespace",
    "wrong in-container tool": "kubectl -n dev exec statefulset/agent-service-redis -c redis -- psql -c 'SELECT 1'",
    "wrong tool in sh -c": "kubectl -n dev exec statefulset/agent-service-redis -c redis -- sh -c 'psql -l'",
    "missing module": "kubectl -n production exec deploy/agent-service-worker -c worker -- python -m app.nope",
    "missing playbook": "ansible-playbook -i inventories/prod agent_service.platform.failover",
    "missing inventory": "ansible-playbook -i inventories/qa agent_service.platform.rollback",
    "unknown variable": "ansible-playbook -i inventories/prod agent_service.platform.rollback -e rollback_to=3",
    "unknown json variable": "ansible-playbook -i inventories/prod agent_service.platform.deploy -e '{\"replica\": 3}'",
    "missing make target": "make runbooks-tset",
    "curl without forward": "curl -s http://localhost:8080/ready",
    "curl to unknown path": "kubectl -n production port-forward svc/agent-service 8080:80 &\n"
                            "curl -s http://localhost:8080/healthz",
    "promtool typo": "promtool query instnt http://localhost:9090 up",
    "amtool flag typo": "kubectl -n monitoring port-forward svc/alertmanager-operated 9093:9093 &\n"
                        "amtool --alertmanager.url=http://localhost:9093 silence add alertname=X --duraton=1h",
    "jq syntax": "kubectl -n production port-forward svc/agent-service 8080:80 &\n"
                 "curl -s http://localhost:8080/ready | jq '.checks['",
    "placeholder": "kubectl -n production delete pod <pod>",
    "substitution": "kubectl -n production delete pod $(kubectl -n production get pods -o name)",
    "psql wrong host": "psql -h db.example.com -U agent_service -d agent_service -c 'SELECT 1'",
    "helm other release": "helm -n production history agent",
}


@pytest.mark.parametrize("case", sorted(BAD_COMMANDS))
def test_checker_rejects(case):
    assert rb.check_script(BAD_COMMANDS[case]), f"{case}: {BAD_COMMANDS[case]!r} was accepted"


def test_checker_accepts_a_good_block():
    script = (
        "kubectl -n production port-forward svc/agent-service 8080:80 &\n"
        "curl -s http://localhost:8080/ready | jq .checks\n"
        "kubectl -n production get pods -l app.kubernetes.io/name=agent-service,app.kubernetes.io/component=worker\n"
        "ansible-playbook -i inventories/prod agent_service.platform.rollback -e release_rollback_revision=3\n"
        "helm -n production history agent-service --max 5  # a comment\n"
        "make monitoring-test\n")
    assert rb.check_script(script) == []


def _broken(alert: str, old: str, new: str, count: int = 1) -> str:
    text = (rb.RUNBOOK_DIR / f"{alert}.md").read_text()
    assert old in text
    return text.replace(old, new, count)


def test_structure_check_rejects():
    assert rb.structure_problems("RedisDown", (rb.RUNBOOK_DIR / "RedisDown.md").read_text()) == []
    assert rb.structure_problems("RedisDown", _broken("RedisDown", "## Escalate", "## Contacts"))
    assert rb.structure_problems("RedisDown", _broken("RedisDown", "# RedisDown", "# Redis down"))
    assert rb.structure_problems("RedisDown", _broken("RedisDown", "```promql", "```text", -1))


def test_quote_check_rejects_a_stale_expression():
    rules = ALERTS["RedisDown"]
    assert rb.quote_problems(_broken("RedisDown", "redis_up == 0\n", "redis_up < 1\n"), rules)
    assert rb.quote_problems(_broken("RedisDown", "**critical**", "**warning**"), rules)


def test_coverage_check():
    assert rb.coverage_problems({"A": [], "B": []}, {"A"}) == ["alert B has no runbook monitoring/runbooks/B.md"]
    assert rb.coverage_problems({"A": []}, {"A", "C"}) == ["runbook C.md has no alert in the rule files"]
    assert rb.coverage_problems(ALERTS, {p.stem for p in RUNBOOKS}) == []


def _skeleton_module():
    spec = importlib.util.spec_from_file_location("new_runbook", rb.RUNBOOK_DIR / "new_runbook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skeleton_quotes_the_rules_and_is_not_a_finished_runbook():
    skeleton = _skeleton_module()
    for alert, rules in ALERTS.items():
        text = skeleton.skeleton(alert)
        assert rb.quote_problems(text, rules) == [], alert
        assert rb.structure_problems(alert, text), f"{alert}: an unfilled skeleton must fail the structure check"
    with pytest.raises(SystemExit):
        skeleton.skeleton("NoSuchAlert")


BAD_PROMQL = {
    "parse error": "sum(rate(http_requests_total[5m])",
    "unknown metric": "rate(http_request_total[5m])",
    "unknown app label": 'sum by (queue) (rate(agent_invocation_total{queue="agents"}[5m]))',
    "unknown label value": 'rate(agent_invocation_total{status="success"}[5m])',
    "unknown value in a list": 'rate(celery_task_total{status=~"succeeded|error"}[5m])',
    "unknown component": 'agent_service:pod_component:info{component="web"}',
    "unknown resource": 'agent_service:pod_resource_usage:ratio_limit{resource="disk"}',
}


@pytest.mark.parametrize("case", sorted(BAD_PROMQL))
def test_promql_checker_rejects(case):
    expr = BAD_PROMQL[case]
    assert rb.promtool_parse([expr]) or rb.promql_problems(expr), f"{case}: {expr!r} was accepted"


def test_metric_name_extraction():
    expr = ('sum by (namespace, le) (rate(http_request_duration_seconds_bucket{handler!="/metrics", le=~"1|1\\\\.0"}'
            '[5m])) / on (namespace) group_left (component) agent_service:pod_component:info offset 5m > 1e3')
    assert rb.metric_names(expr) == {"http_request_duration_seconds_bucket", "agent_service:pod_component:info"}


# ----------------------------------------------------------------------------- log queries (LogsQL)

# The runbooks whose Confirm section queries the log store, and the ones that do not, with why.
# Every runbook is in one of the two: a new alert's runbook has to decide.
LOGSQL_RUNBOOKS = {
    "AgentInvocationFailureRateHigh", "AgentResponseTimeSlow", "AgentServiceAvailabilityBudgetBurn",
    "AgentServiceDown", "AgentServiceFrequentRestarts", "AgentServiceHighErrorRate", "AgentServiceHighLatency",
    "AgentServiceLatencyBudgetBurn", "AgentServiceOOMKilled", "AgentServicePodsNotReady",
    "CeleryQueueDepthCritical", "CeleryQueueDepthHigh", "CeleryTaskFailureRateHigh", "CeleryTaskProcessingSlow",
    "CeleryWorkersDown", "ExternalAPIRateLimited", "PostgreSQLConnectionErrors",
    "PostgreSQLConnectionPoolExhaustion", "PostgreSQLHighQueryLatency", "RedisConnectionExhaustion", "RedisDown",
    "RedisHighMemoryUsage", "ToolInvocationRateHigh",
}
NO_LOGSQL = {
    "AgentServiceHighResourceUsage": "CPU and memory against the limits: the metrics are the evidence, the app "
                                     "logs nothing about its own usage",
    "CeleryWorkerHighCPU": "CPU against the limit: metrics and `kubectl top`; no log line says how busy a worker is",
    "CeleryWorkerHighMemory": "memory against the limit: metrics; the kills it leads to are AgentServiceOOMKilled's",
    "AgentServiceReplicasMismatch": "the cause is in the Deployment, its ReplicaSets, the HPA and the events "
                                    "(scheduling, quota, image pulls); pods that never start write no log",
}


def _logsql_cases() -> list:
    cases, seen = [], {}
    for name, query in rb.logsql_queries():
        seen[name] = seen.get(name, 0) + 1
        cases.append(pytest.param(query, id=f"{name}-{seen[name]}"))
    return cases


LOGSQL_CASES = _logsql_cases()


def _has_logsql(path) -> bool:
    return any(b.lang == "logsql" for b in rb.fenced_blocks(path.read_text()))


def test_every_runbook_decides_on_log_queries():
    names, decided = {p.stem for p in RUNBOOKS}, LOGSQL_RUNBOOKS | set(NO_LOGSQL)
    assert not LOGSQL_RUNBOOKS & set(NO_LOGSQL), LOGSQL_RUNBOOKS & set(NO_LOGSQL)
    assert decided == names, (f"put each runbook in LOGSQL_RUNBOOKS or NO_LOGSQL: missing {sorted(names - decided)}, "
                              f"unknown {sorted(decided - names)}")
    assert {p.stem for p in RUNBOOKS if _has_logsql(p)} == LOGSQL_RUNBOOKS


@pytest.mark.parametrize("name", sorted(LOGSQL_RUNBOOKS))
def test_log_query_in_confirm_after_a_sentence(name):
    text = (rb.RUNBOOK_DIR / f"{name}.md").read_text()
    assert any(b.lang == "logsql" for b in rb.fenced_blocks(rb.sections(text)["Confirm"])), \
        f"{name}: the log query belongs in Confirm"
    assert rb.logsql_intro_problems(text) == []


def test_log_queries_found():
    assert len(LOGSQL_CASES) >= len(LOGSQL_RUNBOOKS) + 1  # the README's curl example too
    assert all(isinstance(n, str) and isinstance(q, str) and q.strip() for n, q in rb.logsql_queries())


@pytest.mark.parametrize("query", LOGSQL_CASES)
def test_logsql_uses_known_fields_and_is_bounded(query):
    """Known fields and values, a namespace, a `_time` window within the retention, a bounded answer."""
    assert rb.logsql_problems(query) == []


@pytest.mark.parametrize("query", LOGSQL_CASES)
def test_logsql_names_production(query):
    """Like the PromQL of the runbooks, the log queries are written for production."""
    assert rb.logsql_namespace(query) == "production"


def test_app_log_fields_come_from_the_code():
    """The checker's list of the app's fields is read from app/app; it finds the formatter's and the extras."""
    assert {"level", "logger", "request_id", "trace_id", "span_id"} <= rb.formatter_fields()
    fields = rb.app_log_fields()
    assert {"method", "path", "status", "duration_ms", "invocation_id", "tool", "error"} <= fields
    assert "msg" not in fields and not fields & rb.STORE_FIELDS
    assert {"request", "invocation finished", "tool call", "worker ready", "api started"} <= rb.app_log_messages()
    assert {"app.access", "app.worker.tasks"} <= rb.app_loggers()


def test_log_store_contract_matches_the_agent():
    """The store fields the checker accepts are the ones the log agent's configuration produces."""
    text = rb.LOGS_AGENT_TEMPLATE.read_text()
    m = re.search(r"VL-Stream-Fields:\s*(\S+)", text)
    assert m and tuple(m.group(1).split(",")) == rb.STREAM_FIELDS
    for name in sorted(rb.STORE_FIELDS - set(rb.STREAM_FIELDS)):
        assert name in text, f"{name} is not in {rb.LOGS_AGENT_TEMPLATE.relative_to(rb.ROOT)}"
    assert re.search(r"from:\s*attributes\.msg\s+to:\s*body", text), "the agent no longer makes `msg` the message"


def test_readme_lists_the_store_fields():
    readme = (rb.RUNBOOK_DIR / "README.md").read_text()
    for name in sorted(rb.STORE_FIELDS | rb.LOGSQL_BUILTIN_FIELDS):
        assert f"`{name}`" in readme, f"README.md, *Logs*: describe `{name}`"


GOOD_LOGSQL = (
    'k8s.namespace.name:="production" app.component:="api" _msg:="request" status:>=500 _time:15m  # 5xx\n'
    '| replace_regexp ("[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "{id}") at path\n'
    '| stats by (_time:5m, service.version, path) count() as errors, count() if (duration_ms:>1000) as slow\n'
    '| sort by (errors desc) | limit 10')

BAD_LOGSQL = {
    "unknown field": 'k8s.namespace.name:="production" statuscode:>=500 _time:15m | stats count() as n',
    "msg is _msg": 'k8s.namespace.name:="production" msg:="request" _time:15m | limit 10',
    "unknown field in a pipe": 'k8s.namespace.name:="production" _time:15m | stats by (pod) count() as n',
    "unknown field in stats if": 'k8s.namespace.name:="production" _time:15m | stats count() if (latency:>1) as n',
    "undefined sort key": 'k8s.namespace.name:="production" _time:15m | stats by (path) count() as n '
                          '| sort by (count desc)',
    "no time filter": 'k8s.namespace.name:="production" _msg:="request" | stats count() as n',
    "time filter in a pipe only": 'k8s.namespace.name:="production" | filter _time:15m | stats count() as n',
    "window beyond retention": 'k8s.namespace.name:="production" _time:30d | stats count() as n',
    "no namespace": '_time:15m _msg:="request" | stats count() as n',
    "unknown namespace": 'k8s.namespace.name:="prod" _time:15m | stats count() as n',
    "unknown component": 'k8s.namespace.name:="production" app.component:="web" _time:15m | stats count() as n',
    "component of another environment": 'k8s.namespace.name:="production" app.component:="flower" _time:15m '
                                        '| stats count() as n',
    "unknown deployment": 'k8s.namespace.name:="production" k8s.deployment.name:="agent-service-workers" '
                          '_time:15m | stats count() as n',
    "unknown level": 'k8s.namespace.name:="production" level:="warn" _time:15m | stats count() as n',
    "unknown level in a list": 'k8s.namespace.name:="production" level:in("error", "fatal") _time:15m '
                               '| stats count() as n',
    "unknown message": 'k8s.namespace.name:="production" _msg:="request failed" _time:15m | stats count() as n',
    "unknown app logger": 'k8s.namespace.name:="production" logger:="app.worker.task" _time:15m '
                          '| stats count() as n',
    "not a stream field": '{k8s.namespace.name="production", app.component="api"} _time:15m | stats count() as n',
    "unnamed stats result": 'k8s.namespace.name:="production" _time:15m | stats by (path) count()',
    "unknown pipe": 'k8s.namespace.name:="production" _time:15m | grep error | limit 10',
    "unbounded answer": 'k8s.namespace.name:="production" level:="error" _time:15m | sort by (_time desc)',
    "stream_context not first": 'k8s.namespace.name:="production" _time:15m | limit 10 | stream_context before 5',
    "unterminated string": 'k8s.namespace.name:="production _time:15m | limit 10',
    "unbalanced parenthesis": 'k8s.namespace.name:="production" _time:15m | stats by (path count() as n',
}


def test_logsql_checker_accepts_a_good_query():
    assert rb.logsql_problems(GOOD_LOGSQL) == []
    assert rb.logsql_problems('{k8s.namespace.name="production"} _time:1h level:in("error", "critical") '
                              '-_msg:="request" | collapse_nums at error prettify | first 5 by (_time desc)') == []


@pytest.mark.parametrize("case", sorted(BAD_LOGSQL))
def test_logsql_checker_rejects(case):
    assert rb.logsql_problems(BAD_LOGSQL[case]), f"{case}: {BAD_LOGSQL[case]!r} was accepted"


def test_logsql_checker_rejects_a_broken_runbook_block():
    text = _broken("AgentServiceHighErrorRate", '_msg:="unhandled error" _time:15m', '_msg:="unhandled error"')
    queries = [b.text for b in rb.fenced_blocks(text) if b.lang == "logsql"]
    assert any("bound it in time" in p for q in queries for p in rb.logsql_problems(q))
    text = _broken("AgentServiceHighErrorRate", "count_uniq(k8s.pod.name)", "count_uniq(pod)")
    queries = [b.text for b in rb.fenced_blocks(text) if b.lang == "logsql"]
    assert any("unknown field 'pod'" in p for q in queries for p in rb.logsql_problems(q))


def test_curl_to_the_log_store_is_collected_and_checked():
    forward = "kubectl -n monitoring port-forward svc/victoria-logs 9428 &\n"
    ctx = rb.BlockContext()
    script = forward + ("curl -s http://localhost:9428/select/logsql/query --data-urlencode "
                        "'query=k8s.namespace.name:=\"production\" _time:5m | limit 5'")
    for argv in rb.split_commands(script):
        assert rb.check_command(argv, ctx) == []
    assert ctx.logsql == ['k8s.namespace.name:="production" _time:5m | limit 5']
    assert rb.check_script(forward + "curl -s http://localhost:9428/select/logsql/query")  # no query
    assert rb.check_script(forward + "curl -s http://localhost:9428/insert/jsonline")  # not a runbook path
    assert rb.check_script("kubectl -n monitoring port-forward svc/victoria-log 9428")  # no such Service
