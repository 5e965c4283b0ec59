"""Parsing and checking of the alert runbooks (monitoring/runbooks/*.md).

Everything a runbook claims is checked against the project's real sources:

* alerts and their expressions: the rule files Prometheus loads (monitoring/prometheus/*.yml);
* receivers: `amtool config routes test` on monitoring/alertmanager.yml;
* object names, labels and containers: `helm template` of helm/agent-service for every
  environment, with the release name and namespace of the inventories;
* playbooks, inventories and their variables: playbooks/, inventories/, roles/release/defaults;
* make targets: the Makefile and mk/*.mk;
* tool subcommands and flags: promtool/amtool `--help` (the Debian packages), jq's compiler,
  and fixed tables for kubectl/helm (the test bed builds kubectl; nothing runs a cluster here);
* PromQL: promtool parses it (as recording rules), metric names come from docs/interfaces.md
  and from the rule files (the exporters the rules already rely on);
* LogsQL (the log store, VictoriaLogs): field names are the log agent's (the contract with
  roles/monitoring_stack, STORE_FIELDS) and the app's own, read from its code (the formatter of
  app/app/core/logging.py and every `extra={...}` of a log call); values of namespace, component,
  Deployment, level and message come from the chart, the inventories and the app's log calls;
  every query is bounded in time and in the lines it returns. `logsql_queries()` hands them to
  the live test that sends them to a running store.
"""
from __future__ import annotations

import ast
import functools
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK_DIR = ROOT / "monitoring" / "runbooks"
RULE_DIR = ROOT / "monitoring" / "prometheus"
ALERTMANAGER_CONFIG = ROOT / "monitoring" / "alertmanager.yml"
INTERFACES = ROOT / "docs" / "interfaces.md"
CHART_DIR = ROOT / "helm" / "agent-service"
RELEASE_DEFAULTS = ROOT / "roles" / "release" / "defaults" / "main.yml"
SECTIONS = ("Meaning", "Confirm", "Likely causes", "Mitigate", "Escalate")
NOT_RUNBOOKS = {"README.md"}
SHELL_LANGS = {"bash", "sh", "shell"}
TEAMS = ("api", "worker", "database")


# ----------------------------------------------------------------------------- rules


@dataclass
class Rule:
    alert: str
    expr: str
    labels: dict
    annotations: dict
    file: str
    group: str
    for_: str | None


MONITORING_STACK_VARS = ROOT / "roles" / "monitoring_stack" / "vars" / "main.yml"


def rule_files() -> list[Path]:
    """Every rule file Prometheus loads: the YAML files with `groups` in monitoring/prometheus/, and
    the files roles/monitoring_stack installs (`_monitoring_stack_rule_files`, relative to monitoring/)."""
    files = set()
    for path in RULE_DIR.glob("*.yml"):
        doc = yaml.safe_load(path.read_text())
        if isinstance(doc, dict) and "groups" in doc:
            files.add(path)
    if MONITORING_STACK_VARS.is_file():
        role_vars = yaml.safe_load(MONITORING_STACK_VARS.read_text()) or {}
        for rel in role_vars.get("_monitoring_stack_rule_files", []):
            path = ROOT / "monitoring" / rel
            if not path.is_file():
                raise FileNotFoundError(f"roles/monitoring_stack installs {rel}, which does not exist")
            files.add(path)
    return sorted(files)


@functools.cache
def alert_rules() -> tuple[Rule, ...]:
    rules = []
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rules.append(Rule(rule["alert"], rule["expr"], rule.get("labels", {}), rule.get("annotations", {}),
                                      path.name, group["name"], rule.get("for")))
    return tuple(rules)


@functools.cache
def recorded_names() -> frozenset[str]:
    names = set()
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.update(rule["record"] for rule in group["rules"] if "record" in rule)
    return frozenset(names)


def alerts() -> dict[str, list[Rule]]:
    out: dict[str, list[Rule]] = {}
    for rule in alert_rules():
        out.setdefault(rule.alert, []).append(rule)
    return out


def runbook_files() -> list[Path]:
    return sorted(p for p in RUNBOOK_DIR.glob("*.md") if p.name not in NOT_RUNBOOKS)


def teams_of(rule: Rule) -> list[str]:
    """The `team` label, or every team a templated label can produce."""
    team = str(rule.labels.get("team", ""))
    if "{{" not in team:
        return [team]
    return [t for t in TEAMS if re.search(rf"\b{t}\b", team)]


def normalize(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------------- markdown


@dataclass
class Block:
    lang: str
    text: str
    line: int


def fenced_blocks(markdown: str) -> list[Block]:
    """Fenced code blocks, also inside list items (the fence's indentation is removed)."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = len(m.group(1)), m.group(2), i
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        if i >= len(lines):
            raise ValueError(f"line {start + 1}: unterminated code fence")
        blocks.append(Block(lang, "\n".join(body), start + 1))
        i += 1
    return blocks


def sections(markdown: str) -> dict[str, str]:
    """`## Heading` -> text up to the next `## ` heading (fenced blocks kept, their `#` lines ignored)."""
    out: dict[str, str] = {}
    current, buf, in_fence = None, [], False
    for line in markdown.splitlines():
        if re.match(r"^\s*```", line):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            if current is not None:
                out[current] = "\n".join(buf)
            current, buf = line[3:].strip(), []
        elif current is not None:
            buf.append(line)
    if current is not None:
        out[current] = "\n".join(buf)
    return out


def heading_order(markdown: str) -> list[str]:
    return list(sections(markdown))


def inline_commands(markdown: str) -> list[str]:
    """Inline code spans in the prose that are commands of a host tool (`kubectl -n ...`)."""
    prose = re.sub(r"^\s*```.*?^\s*```", "", markdown, flags=re.S | re.M)
    spans = re.findall(r"`([^`\n]+)`", prose)
    # a span with a flag is a command to run; `helm history` alone is a mention
    return [s for s in spans if s.split()[0] in HOST_TOOLS and any(w.startswith("-") for w in s.split()[1:])]


def structure_problems(alert: str, text: str) -> list[str]:
    """Title, the five sections in order and not empty, kubectl and PromQL in Confirm, causes listed,
    a command in Mitigate."""
    problems = []
    if text.splitlines()[:1] != [f"# {alert}"]:
        problems.append("the first line must be the alert name as a title")
    order = [h for h in heading_order(text) if h in SECTIONS]
    if order != list(SECTIONS):
        return problems + [f"sections {heading_order(text)}, need {list(SECTIONS)} in this order"]
    secs = sections(text)
    problems += [f"section {name!r} is (almost) empty" for name in SECTIONS if len(secs[name].split()) < 15]
    confirm = fenced_blocks(secs["Confirm"])
    if not any(b.lang in SHELL_LANGS and re.search(r"^kubectl ", b.text, re.M) for b in confirm):
        problems.append("Confirm needs a shell block with kubectl commands")
    if not any(b.lang == "promql" for b in confirm):
        problems.append("Confirm needs a promql block")
    if len(re.findall(r"^- ", secs["Likely causes"], re.M)) < 2:
        problems.append("Likely causes: list at least two causes")
    if not re.search(r"ansible-playbook|kubectl|make ", secs["Mitigate"]):
        problems.append("Mitigate names no command")
    return problems


def quote_problems(text: str, rules: list[Rule]) -> list[str]:
    meaning = sections(text).get("Meaning", "")
    quoted = [normalize(b.text) for b in fenced_blocks(meaning) if b.lang == "promql"]
    problems = []
    for rule in rules:
        if normalize(rule.expr) not in quoted:
            problems.append(f"{rule.file}/{rule.group}: quote the current expression of the "
                            f"{rule.labels.get('severity')} rule in Meaning")
        if f"**{rule.labels.get('severity')}**" not in meaning:
            problems.append(f"severity {rule.labels.get('severity')} not stated as **{rule.labels.get('severity')}**")
        if rule.for_ and f"`{rule.for_}`" not in meaning:
            problems.append(f"`for: {rule.for_}` not stated")
    return problems


def coverage_problems(alert_map: dict, runbook_names: set[str]) -> list[str]:
    problems = [f"alert {a} has no runbook monitoring/runbooks/{a}.md" for a in sorted(set(alert_map) - runbook_names)]
    problems += [f"runbook {r}.md has no alert in the rule files" for r in sorted(runbook_names - set(alert_map))]
    return problems


# ----------------------------------------------------------------------------- PromQL

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan", "atan2", "start", "end",
}
BUILTIN_SERIES = {"ALERTS", "ALERTS_FOR_STATE"}
# Labels Prometheus adds to the app's series (docs/interfaces.md) and the histogram's `le`.
TARGET_LABELS = {"namespace", "pod", "service", "job", "instance", "container", "endpoint", "app_kubernetes_io_version"}
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (parsed by promtool elsewhere; this only finds names)."""
    text = re.sub(_STRING, '""', expr)
    text = re.sub(r"#[^\n]*", "", text)
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\[[^\[\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_KEYWORDS:
            continue
        rest = text[m.end():].lstrip()
        if re.match(r"(by|without)\b", rest):  # `sum by (x) (...)`: `sum` is the aggregation
            continue
        names.add(word)
    return names


def selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(metric, [(label, operator, value)]) of every `metric{...}` selector."""
    out = []
    for m in re.finditer(r"(?<![\w.:])([a-zA-Z_:][\w:]*)\s*\{((?:" + _STRING + r"|[^{}\"'`])*)\}", expr):
        matchers = [(lab, op, val[1:-1]) for lab, op, val in
                    re.findall(r"([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*(" + _STRING + ")", m.group(2))]
        out.append((m.group(1), matchers))
    return out


@functools.cache
def app_metrics() -> dict[str, dict[str, set[str] | None]]:
    """Metric -> {label: its values, or None when docs/interfaces.md does not enumerate them},
    histograms expanded to their series."""
    out: dict[str, dict[str, set[str] | None]] = {}
    for m in re.finditer(r"^\|\s*`([a-z_]+)`\s*\|\s*(counter|gauge|histogram)\s*\|([^|]*)\|", INTERFACES.read_text(),
                         flags=re.M):
        name, kind = m.group(1), m.group(2)
        labels: dict[str, set[str] | None] = {}
        for item in re.finditer(r"`([a-z_]+)`\s*(?:\(([^)]*)\))?", m.group(3)):
            enum = item.group(2)
            labels[item.group(1)] = None if not enum or "e.g." in enum else (set(re.findall(r"`(\w+)`", enum)) or None)
        if kind == "histogram":
            out[f"{name}_bucket"] = {**labels, "le": None}
            out[f"{name}_count"] = dict(labels)
            out[f"{name}_sum"] = dict(labels)
        else:
            out[name] = labels
    return out


@functools.cache
def recorded_label_values() -> dict[str, dict[str, set[str]]]:
    """Recorded series -> {label: values} from the rule files' static labels, plus `component`
    (the chart's components, docs/interfaces.md) on the series that carry it."""
    components = set(re.search(r"app\.kubernetes\.io/component: ([\w|]+)", INTERFACES.read_text()).group(1).split("|"))
    out: dict[str, dict[str, set[str]]] = {}
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    labels = out.setdefault(rule["record"], {})
                    for key, value in (rule.get("labels") or {}).items():
                        labels.setdefault(key, set()).add(str(value))
                    if "component" in rule["record"] or "component" in rule["expr"]:
                        labels["component"] = components
    return out


@functools.cache
def known_metrics() -> frozenset[str]:
    """App metrics, the names the rule files use (exporters: kube-state-metrics, cAdvisor,
    postgres_exporter, redis_exporter, `up`), recorded series and Prometheus' own ALERTS."""
    names = set(app_metrics()) | set(recorded_names()) | BUILTIN_SERIES
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                names |= metric_names(rule["expr"])
    return frozenset(names)


def _values_ok(op: str, value: str, allowed: set[str]) -> bool:
    if op in ("=", "!="):
        return value in allowed
    alternatives = value.split("|")
    if all(re.fullmatch(r"\w+", a) for a in alternatives):  # a plain list: every one must exist
        return all(a in allowed for a in alternatives)
    return any(re.fullmatch(value, a) for a in allowed)  # a real regex must match something


def promql_problems(expr: str) -> list[str]:
    problems = []
    for name in sorted(metric_names(expr) - known_metrics()):
        problems.append(f"unknown metric {name!r} (not in docs/interfaces.md nor used by the rule files)")
    for metric, matchers in selectors(expr):
        if metric in app_metrics():
            labels = app_metrics()[metric]
            for label, op, value in matchers:
                if label not in labels and label not in TARGET_LABELS:
                    problems.append(f"{metric} has no label {label!r} (docs/interfaces.md)")
                elif labels.get(label) and not _values_ok(op, value, labels[label]):
                    problems.append(f"{metric}: {label}{op}{value!r} matches none of {sorted(labels[label])}")
        for label, op, value in matchers:
            allowed = recorded_label_values().get(metric, {}).get(label)
            if allowed and not _values_ok(op, value, allowed):
                problems.append(f"{metric}: {label}{op}{value!r} matches none of {sorted(allowed)}")
    return problems


def promtool_parse(exprs: list[str]) -> list[str]:
    """Parse expressions with promtool (as recording rules of a throwaway rule file)."""
    if not exprs:
        return []
    group = {"name": "runbook", "rules": [{"record": f"runbook:check_{i}", "expr": e} for i, e in enumerate(exprs)]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runbook.rules.yml"
        path.write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False))
        res = subprocess.run([tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True,
                             timeout=60)
    if res.returncode == 0:
        return []
    return [line for line in (res.stdout + res.stderr).splitlines() if line.strip()]


# ----------------------------------------------------------------------------- LogsQL

APP_DIR = ROOT / "app" / "app"
APP_LOG_FORMATTER = APP_DIR / "core" / "logging.py"
MONITORING_STACK_DEFAULTS = ROOT / "roles" / "monitoring_stack" / "defaults" / "main.yml"
LOGS_AGENT_TEMPLATE = ROOT / "roles" / "monitoring_stack" / "templates" / "logs.yaml.j2"
# What the log agent (roles/monitoring_stack, templates/logs.yaml.j2) gives every line: the
# namespace, pod and container from the log file's path (the stream fields), the node and the
# Deployment, and the pod's labels version, component, instance and name. This is the contract
# with the agent's configuration (test_log_store_contract_matches_the_agent); the app's own
# fields are read from its code (app_log_fields).
STREAM_FIELDS = ("k8s.namespace.name", "k8s.pod.name", "k8s.container.name")
STORE_FIELDS = frozenset({*STREAM_FIELDS, "k8s.node.name", "k8s.deployment.name",
                          "service.version", "app.component", "app.instance", "app.name"})
# LogsQL's own: the message (the app's `msg`, or the whole line when it is not JSON), time, stream
LOGSQL_BUILTIN_FIELDS = frozenset({"_msg", "_time", "_stream"})
MOVED_FIELDS = {"msg": "_msg"}  # the agent makes the app's `msg` the line's message
LOGGING_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})
# the levels of the app's lines: Python's level names, lower-cased by app.core.logging
LOG_LEVELS = frozenset(logging.getLevelName(n).lower()
                       for n in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL))
# The pipes the runbooks use and the checker reads; a query must end with one that bounds its answer.
LOGSQL_PIPES = frozenset({"stats", "sort", "limit", "head", "fields", "keep", "first", "last", "top", "uniq",
                          "filter", "where", "collapse_nums", "replace_regexp", "stream_context"})
BOUNDING_PIPES = frozenset({"stats", "limit", "head", "first", "last", "top", "uniq"})
# filters written as a function of the field: `level:in(error, warning)`, `_msg:i("timeout")`
LOGSQL_FILTER_FUNCTIONS = frozenset({
    "in", "i", "contains_all", "contains_any", "seq", "range", "ipv4_range", "ipv6_range", "string_range",
    "len_range", "value_type", "eq_field", "le_field", "lt_field", "json_array_contains_any", "equals_common_case",
    "contains_common_case"})
# words of the pipes' syntax, not field names
PIPE_WORDS = frozenset({"by", "as", "desc", "asc", "partition", "with", "hits", "rank", "limit", "at", "prettify",
                        "before", "after", "time_window", "if"})
LOG_STORE_PATHS = ("/select/logsql/query", "/select/vmui/")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _str_keys(node: ast.Dict) -> set[str]:
    return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}


@functools.cache
def _app_modules() -> tuple[tuple[str, ast.Module], ...]:
    """(dotted module name, syntax tree) of every module of the app (app/app)."""
    out = []
    for path in sorted(APP_DIR.rglob("*.py")):
        parts = path.relative_to(APP_DIR.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), ast.parse(path.read_text(), str(path))))
    return tuple(out)


def _module_loggers(module: str, tree: ast.Module) -> dict[str, str]:
    """Module-level `name = logging.getLogger(__name__ | "literal")` -> {name: logger name}."""
    out = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and _dotted(node.value.func) == "logging.getLogger"
                and node.value.args):
            continue
        arg = node.value.args[0]
        if isinstance(arg, ast.Name) and arg.id == "__name__":
            out[node.targets[0].id] = module
        elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            out[node.targets[0].id] = arg.value
    return out


@dataclass(frozen=True)
class LogCall:
    logger: str
    message: str | None  # None: not a constant, or formatted with %-arguments
    extra: frozenset[str]


@functools.cache
def app_log_calls() -> tuple[LogCall, ...]:
    """Every call of the app on one of its module loggers: `log.info("msg", extra={...})`, `log.log(level, "msg")`."""
    calls = []
    for module, tree in _app_modules():
        loggers = _module_loggers(module, tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in loggers):
                continue
            method = node.func.attr
            if method not in LOGGING_METHODS | {"log"}:
                continue
            args = node.args[1:] if method == "log" else node.args
            message = None
            if len(args) == 1 and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                message = args[0].value
            extra: set[str] = set()
            for kw in node.keywords:
                if kw.arg == "extra" and isinstance(kw.value, ast.Dict):
                    extra |= _str_keys(kw.value)
            calls.append(LogCall(loggers[node.func.value.id], message, frozenset(extra)))
    return tuple(calls)


@functools.cache
def formatter_fields() -> frozenset[str]:
    """The fields app.core.logging's formatter writes on every line: the keys of the dict it passes
    to json.dumps (its literal and its `entry["key"] = ...` assignments)."""
    tree = ast.parse(APP_LOG_FORMATTER.read_text())
    dumped = {node.args[0].id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and _dotted(node.func) == "json.dumps" and node.args
              and isinstance(node.args[0], ast.Name)}
    fields: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in dumped and isinstance(value, ast.Dict):
                fields |= _str_keys(value)
            elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                  and target.value.id in dumped and isinstance(target.slice, ast.Constant)
                  and isinstance(target.slice.value, str)):
                fields.add(target.slice.value)
    if not fields:
        raise RuntimeError(f"no fields found in the formatter of {APP_LOG_FORMATTER}")
    return frozenset(fields)


@functools.cache
def app_log_fields() -> frozenset[str]:
    """The app's fields in the store: the formatter's and every `extra=` key, without `msg` (`_msg`)."""
    fields = set(formatter_fields())
    for call in app_log_calls():
        fields |= call.extra
    return frozenset(fields - set(MOVED_FIELDS))


def app_log_messages() -> frozenset[str]:
    """The messages (`_msg`) of the app's own lines, where the message is a constant."""
    return frozenset(c.message for c in app_log_calls() if c.message is not None)


def app_loggers() -> frozenset[str]:
    return frozenset(name for module, tree in _app_modules() for name in _module_loggers(module, tree).values())


def known_log_fields() -> frozenset[str]:
    return STORE_FIELDS | app_log_fields() | LOGSQL_BUILTIN_FIELDS


@functools.cache
def log_store_service() -> str:
    """The log store's Service in the monitoring namespace (roles/monitoring_stack)."""
    return yaml.safe_load(MONITORING_STACK_VARS.read_text())["_monitoring_stack_logs_store"]


_DURATION_UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400,
                   "w": 7 * 86400, "y": 365 * 86400}


def duration_seconds(text: str) -> float | None:
    """A LogsQL duration (`30m`, `1h30m`, `1.5d`) in seconds; None when it is not one."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|µs|us|ms|s|m|h|d|w|y)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


@functools.cache
def log_retention_seconds() -> float:
    """How far back the store keeps lines (monitoring_stack_logs_retention)."""
    value = str(yaml.safe_load(MONITORING_STACK_DEFAULTS.read_text())["monitoring_stack_logs_retention"])
    seconds = duration_seconds(value)
    if seconds is None:
        raise RuntimeError(f"monitoring_stack_logs_retention {value!r} is not a duration")
    return seconds


_LOGSQL_TOKEN = re.compile(r"""
    (?P<skip>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
  | (?P<punct>[|(),{}:=!~<>*;\[\]-])
  | (?P<word>[^\s"'`|(),{}:=!~<>*;\[\]\#-][^\s"'`|(),{}:=!~<>*;\[\]\#]*)
""", re.X)


def logsql_tokens(query: str) -> list[tuple[str, str]]:
    """(kind, text) of a LogsQL query: string, punct or word; comments dropped."""
    tokens, pos = [], 0
    while pos < len(query):
        m = _LOGSQL_TOKEN.match(query, pos)
        if not m:
            raise ValueError(f"cannot read the query at {query[pos:pos + 20]!r} (an unterminated string?)")
        if m.lastgroup != "skip":
            tokens.append((m.lastgroup, m.group()))
        pos = m.end()
    return tokens


def _unquote(kind: str, text: str) -> str:
    if kind != "string":
        return text
    return text[1:-1] if text[0] == "`" else re.sub(r"\\(.)", r"\1", text[1:-1])


def _closing(tokens: list[tuple[str, str]], i: int) -> int:
    """Index of the bracket that closes tokens[i]."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opening = tokens[i][1]
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j][0] == "punct" and tokens[j][1] == opening:
            depth += 1
        elif tokens[j][0] == "punct" and tokens[j][1] == pairs[opening]:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unbalanced {opening!r}")


@dataclass
class LogRef:
    """A field a query names: `field:<op><values>` in a filter, `{field="v"}` in a stream filter, or a
    field of a pipe. op: "=" exact, "in" one of, "~" regexp, "!=", "!~", "not_in" (stream filters),
    "" word or phrase, ">", ">=", "<", "<=" ranges, "*" any value, or the name of a function filter."""
    field: str
    op: str
    values: list[str]
    where: str  # "filter", "stream" or "pipe"


def _values_in(tokens: list[tuple[str, str]]) -> list[str]:
    return [_unquote(k, t) for k, t in tokens if k in ("word", "string") and t.lower() not in ("and", "or", "not")]


def _stream_refs(tokens: list[tuple[str, str]]) -> list[LogRef]:
    """`{a="x", b=~"y", c in ("u", "v")}` (the inside of the braces)."""
    refs, i = [], 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind not in ("word", "string") or text.lower() == "or":
            i += 1
            continue
        name = _unquote(kind, text)
        i += 1
        if i < len(tokens) and tokens[i][0] == "word" and tokens[i][1] in ("in", "not_in"):
            op = tokens[i][1]
            if i + 1 >= len(tokens) or tokens[i + 1] != ("punct", "("):
                raise ValueError(f"{{{name} {op}: a list in parentheses must follow")
            j = _closing(tokens, i + 1)
            refs.append(LogRef(name, op, _values_in(tokens[i + 2:j]), "stream"))
            i = j + 1
            continue
        op = ""
        while i < len(tokens) and tokens[i][0] == "punct" and tokens[i][1] in "=!~":
            op += tokens[i][1]
            i += 1
        if op not in ("=", "!=", "=~", "!~") or i >= len(tokens) or tokens[i][0] != "string":
            raise ValueError(f"stream filter {{{name}...}}: write name=\"value\" (or !=, =~, !~, in (...))")
        refs.append(LogRef(name, {"=~": "~"}.get(op, op), [_unquote(*tokens[i])], "stream"))
        i += 1
    return refs


def _filter_refs(tokens: list[tuple[str, str]], where: str) -> list[LogRef]:
    """The fields named by filters: `field:value`, `field:="v"`, `field:in(...)`, `{...}`, `_stream:{...}`.
    Words and phrases without a field search `_msg` and name no field."""
    refs, i = [], 0
    while i < len(tokens):
        kind, text = tokens[i]
        if (kind, text) == ("punct", "{"):
            j = _closing(tokens, i)
            refs += _stream_refs(tokens[i + 1:j])
            i = j + 1
            continue
        if kind not in ("word", "string") or i + 1 >= len(tokens) or tokens[i + 1] != ("punct", ":"):
            i += 1
            continue
        name = _unquote(kind, text)
        i += 2
        op = ""
        while i < len(tokens) and tokens[i][0] == "punct" and tokens[i][1] in "=~<>!":
            op += tokens[i][1]
            i += 1
        if i >= len(tokens):
            raise ValueError(f"{name}: no value after ':'")
        vkind, vtext = tokens[i]
        if (vkind, vtext) == ("punct", "{"):  # _stream:{...}
            j = _closing(tokens, i)
            refs += _stream_refs(tokens[i + 1:j])
            i = j + 1
        elif (vkind == "word" and vtext in LOGSQL_FILTER_FUNCTIONS and i + 1 < len(tokens)
              and tokens[i + 1] == ("punct", "(")):  # in(...), i(...)
            j = _closing(tokens, i + 1)
            refs.append(LogRef(name, op + vtext, _values_in(tokens[i + 2:j]), where))
            i = j + 1
        elif (vkind, vtext) == ("punct", "("):  # field:(a OR b)
            j = _closing(tokens, i)
            refs.append(LogRef(name, op, _values_in(tokens[i + 1:j]), where))
            i = j + 1
        elif (vkind, vtext) == ("punct", "*"):
            refs.append(LogRef(name, "*", [], where))
            i += 1
        elif vkind in ("word", "string"):
            refs.append(LogRef(name, op, [_unquote(vkind, vtext)], where))
            i += 1
        else:
            raise ValueError(f"{name}: cannot read the value after ':'")
    return refs


def _pipe_refs(name: str, tokens: list[tuple[str, str]], defined: set[str]) -> tuple[list[LogRef], list[str]]:
    """Fields a pipe reads; the names it defines (`... as name`) go into `defined`."""
    if name in ("filter", "where"):
        return _filter_refs(tokens, "pipe"), []
    refs: list[LogRef] = []
    calls = results = depth = i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "punct":
            depth += (text == "(") - (text == ")")
        elif kind == "string":
            pass  # a value (replace_regexp's arguments)
        elif text == "if" and after == ("punct", "("):  # stats ... if (filters)
            j = _closing(tokens, i + 1)
            refs += _filter_refs(tokens[i + 2:j], "pipe")
            i = j
        elif text == "as":
            if after[0] in ("word", "string"):
                defined.add(_unquote(*after))
                results += depth == 0
            i += 1
        elif after == ("punct", "("):  # a stats function, or `by (`
            calls += name == "stats" and depth == 0 and text != "by"
        elif text in PIPE_WORDS or re.match(r"-?\d", text):
            pass
        elif after == ("punct", ":"):  # a bucket: by (_time:5m)
            refs.append(LogRef(text, ":", [], "pipe"))
            i += 2
        else:
            refs.append(LogRef(text, "", [], "pipe"))
        i += 1
    problems = []
    if name == "stats" and calls != results:
        problems.append("stats: name every result (`count() as lines`)")
    return refs, problems


@dataclass
class LogQuery:
    filters: list[LogRef]  # the refs of the query's filters (before the first pipe)
    pipes: list[str]  # pipe names in order
    problems: list[str]


def parse_logsql(query: str) -> LogQuery:
    try:
        tokens = logsql_tokens(query)
    except ValueError as exc:
        return LogQuery([], [], [str(exc)])
    while tokens and tokens[-1] == ("punct", ";"):
        tokens.pop()
    depth = 0
    for kind, text in tokens:
        depth += kind == "punct" and text in "({["
        depth -= kind == "punct" and text in ")}]"
        if depth < 0:
            break
    if depth:
        return LogQuery([], [], ["unbalanced parentheses or braces"])
    segments: list[list[tuple[str, str]]] = [[]]
    for tok in tokens:
        if tok == ("punct", "|"):
            segments.append([])
        else:
            segments[-1].append(tok)
    out = LogQuery([], [], [])
    if not segments[0]:
        out.problems.append("no filter before the first pipe")
    known, defined = known_log_fields(), set()
    try:
        out.filters = _filter_refs(segments[0], "filter")
        refs = [(r, frozenset()) for r in out.filters]
        for n, segment in enumerate(segments[1:], 1):
            if not segment or segment[0][0] != "word":
                out.problems.append(f"pipe {n}: empty, or not a pipe name")
                continue
            name = segment[0][1]
            out.pipes.append(name)
            if name not in LOGSQL_PIPES:
                out.problems.append(f"pipe {name!r} is not one the checker reads ({', '.join(sorted(LOGSQL_PIPES))})")
                continue
            if name == "stream_context" and n != 1:
                out.problems.append("stream_context must come first after the filters")
            seen = frozenset(defined)
            pipe_refs, problems = _pipe_refs(name, segment[1:], defined)
            out.problems += problems
            refs += [(r, seen) for r in pipe_refs]
            if name == "sort" and ("word", "limit") in segment:
                out.pipes.append("limit")
    except ValueError as exc:
        out.problems.append(str(exc))
        return out
    for ref, seen in refs:
        if ref.field in MOVED_FIELDS:
            out.problems.append(f"{ref.field}: the store keeps the app's `{ref.field}` as `{MOVED_FIELDS[ref.field]}`")
        elif ref.field not in known and ref.field not in seen:
            out.problems.append(f"unknown field {ref.field!r} (not the agent's, the app's nor LogsQL's: "
                                "roles/monitoring_stack, app/app's log calls)")
        if ref.where == "stream" and ref.field not in STREAM_FIELDS:
            out.problems.append(f"{{{ref.field}=...}}: not a stream field ({', '.join(STREAM_FIELDS)}); "
                                f"write {ref.field}:=\"...\"")
    return out


def logsql_namespace(query: str) -> str | None:
    """The namespace a query's filters select exactly (`k8s.namespace.name:="ns"` or `{k8s.namespace.name="ns"}`)."""
    for ref in parse_logsql(query).filters:
        if ref.field == "k8s.namespace.name" and ref.op == "=" and len(ref.values) == 1:
            return ref.values[0]
    return None


def log_field_values(field_name: str, namespace: str | None) -> set[str] | None:
    """The values the project gives a field, in a namespace's environment (None: not enumerable)."""
    labels = [lab for ns, sets in chart().labels.items() if namespace in (None, ns) for lab in sets]
    label_of = {"app.component": "app.kubernetes.io/component", "app.instance": "app.kubernetes.io/instance",
                "app.name": "app.kubernetes.io/name"}
    if field_name in label_of:
        return {lab[label_of[field_name]] for lab in labels if label_of[field_name] in lab}
    if field_name == "k8s.namespace.name":
        return app_namespaces()
    if field_name == "k8s.container.name":
        return set(chart().containers)
    if field_name == "k8s.deployment.name":
        return {name for ns, objs in chart().objects.items() if namespace in (None, ns)
                for kind, name in objs if kind == "Deployment"}
    if field_name == "level":
        return set(LOG_LEVELS)
    return None


def _value_problems(ref: LogRef, namespace: str | None) -> list[str]:
    if ref.field == "logger" and ref.op in ("=", "in"):
        return [f"logger {v!r} is no logger of the app ({sorted(app_loggers())})"
                for v in ref.values if v.startswith("app.") and v not in app_loggers()]
    if ref.field == "_msg" and ref.op in ("=", "in"):
        return [f"_msg:={v!r} is no message the app logs (app/app's log calls; third-party lines: use a phrase)"
                for v in ref.values if v not in app_log_messages()]
    allowed = log_field_values(ref.field, namespace)
    if not allowed:
        return []
    if ref.op in ("=", "in", "!=", "not_in"):
        return [f"{ref.field}={v!r} matches none of {sorted(allowed)}" for v in ref.values if v not in allowed]
    if ref.op in ("~", "!~"):
        return [f"{ref.field}=~{v!r} matches none of {sorted(allowed)}" for v in ref.values
                if not any(re.search(v, a) for a in allowed)]
    return []


def logsql_problems(query: str) -> list[str]:
    """What is wrong with a runbook's LogsQL query: fields and values unknown to the project, no
    namespace, no time window (or one longer than the store keeps), an answer not bounded."""
    parsed = parse_logsql(query)
    problems = list(parsed.problems)
    namespace = logsql_namespace(query)
    if namespace is None:
        problems.append('name the namespace: k8s.namespace.name:="production" (or {k8s.namespace.name="production"})')
    elif namespace not in app_namespaces():
        problems.append(f"namespace {namespace!r} is none of the inventories' {sorted(app_namespaces())}")
    windows = [duration_seconds(r.values[0]) for r in parsed.filters
               if r.field == "_time" and r.op == "" and len(r.values) == 1]
    windows = [w for w in windows if w is not None]
    if not windows:
        problems.append("bound it in time with a window before the first pipe: _time:30m")
    elif min(windows) > log_retention_seconds():
        problems.append(f"_time window longer than the store keeps lines ({log_retention_seconds() / 86400:g}d)")
    if not BOUNDING_PIPES & set(parsed.pipes):
        problems.append("bound the answer: stats, sort ... | limit N, first/last N, top or uniq")
    for ref in parsed.filters:
        problems += _value_problems(ref, namespace)
    return problems


def logsql_queries() -> list[tuple[str, str]]:
    """(runbook name, query) of every LogsQL query of the runbooks and of their README: the
    ```logsql blocks, and the queries shell blocks send to the store with curl."""
    out = []
    for path in [*runbook_files(), RUNBOOK_DIR / "README.md"]:
        text = path.read_text()
        out += [(path.stem, b.text) for b in fenced_blocks(text) if b.lang == "logsql"]
        out += [(path.stem, q) for ctx in block_contexts(text) for q in ctx.logsql]
    return out


def logsql_intro_problems(markdown: str) -> list[str]:
    """Each ```logsql block follows a sentence (what it finds), not another block or a heading."""
    lines = markdown.splitlines()
    problems = []
    for block in fenced_blocks(markdown):
        if block.lang != "logsql":
            continue
        before = [line.strip() for line in lines[:block.line - 1] if line.strip()]
        if not before or before[-1].startswith(("```", "#")) or not re.search(r"[.:;)]$", before[-1]):
            problems.append(f"line {block.line}: say in a sentence before the block what the query finds")
    return problems


# ----------------------------------------------------------------------------- tools


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (make debs / make gotools / make venv)")
    return path


def deb_packages() -> list[str]:
    text = (ROOT / "versions.env").read_text()
    m = re.search(r"^DEB_PACKAGES=(.*)$", text, flags=re.M)
    return m.group(1).split() if m else []


def _provided(kind: str, what: str) -> bool:
    if kind == "deb":
        return what in deb_packages()
    if kind == "file":
        path, needle = what.split("::", 1)
        return needle in (ROOT / path).read_text()
    return kind == "base"


# Host executables a runbook may name, and where the project gets each one from.
HOST_TOOLS: dict[str, tuple[str, str]] = {
    "kubectl": ("file", "testbed/k8s/build.sh::kubectl"),
    "helm": ("file", "mk/20-gotools.mk::helm.sh/helm/v3/cmd/helm"),
    "ansible-playbook": ("file", "requirements-dev.txt::ansible-core=="),
    "make": ("file", "Makefile::include $(sort $(wildcard mk/*.mk))"),
    "curl": ("deb", "curl"),
    "jq": ("deb", "jq"),
    "promtool": ("deb", "prometheus"),
    "amtool": ("deb", "prometheus-alertmanager"),
    "psql": ("deb", "postgresql"),
    "redis-cli": ("deb", "redis-server"),  # Debian's redis-server depends on redis-tools (redis-cli)
    "grep": ("base", "grep"),
    "head": ("base", "coreutils"),
    "tail": ("base", "coreutils"),
    "sort": ("base", "coreutils"),
}
# Executables inside the containers, by component, and where the image gets each one from
# (`sh` comes with every Debian-based image).
_APP_TOOLS = {
    "python": ("file", "app/Dockerfile::ENV PATH=/opt/venv/bin"),
    "celery": ("file", "app/requirements.txt::celery=="),
}
CONTAINER_TOOLS: dict[str, dict[str, tuple[str, str]]] = {
    "api": _APP_TOOLS, "worker": _APP_TOOLS, "beat": _APP_TOOLS, "flower": _APP_TOOLS,
    "postgresql": {"psql": ("file", "images/postgresql/Dockerfile::postgresql-15")},
    "redis": {"redis-cli": ("file", "images/redis/Dockerfile::redis-tools")},
}


def tool_is_shipped(name: str) -> bool:
    kind, what = HOST_TOOLS[name]
    return _provided(kind, what)


@functools.cache
def help_text(tool_name: str, words: tuple[str, ...]) -> str | None:
    """`<tool> <words> --help` for kingpin tools (promtool, amtool); None if the command does not exist."""
    res = subprocess.run([tool(tool_name), *words, "--help"], capture_output=True, text=True, timeout=30)
    return None if res.returncode != 0 else res.stdout + res.stderr


def jq_compiles(program: str) -> bool:
    res = subprocess.run([tool("jq"), program], input="null", capture_output=True, text=True, timeout=30)
    return res.returncode != 3  # 3: compile error


KUBECTL_VERBS = {
    "get", "describe", "logs", "exec", "top", "rollout", "scale", "port-forward", "events", "delete", "patch",
    "set", "cordon", "uncordon", "drain", "annotate", "label", "auth", "debug",
}
KUBECTL_SUB = {
    "rollout": {"status", "history", "undo", "restart", "pause", "resume"},
    "set": {"env", "image", "resources"},
    "top": {"pod", "pods", "node", "nodes"},
    "auth": {"can-i", "whoami"},
}
KUBECTL_CLUSTER_VERBS = {"cordon", "uncordon", "drain"}
# flag -> takes a value
KUBECTL_FLAGS = {
    "-n": True, "--namespace": True, "-l": True, "--selector": True, "-o": True, "--output": True,
    "-c": True, "--container": True, "-L": True, "--label-columns": True, "-p": True, "--patch": True,
    "--type": True, "--tail": True, "--since": True, "--timeout": True, "--for": True, "--types": True,
    "--field-selector": True, "--replicas": True, "--max": False, "--prefix": False, "--previous": False,
    "--containers": False, "--list": False, "-w": False, "--watch": False, "--all-containers": False,
    "-i": False, "-t": False, "-it": False, "-A": False, "--ignore-daemonsets": False,
}
HELM_VERBS = {"history", "status", "get", "list", "ls", "rollback", "diff"}
HELM_FLAGS = {"-n": True, "--namespace": True, "--max": True, "-o": True, "--output": True, "--revision": True}
ANSIBLE_FLAGS = {"-i": True, "--inventory": True, "-e": True, "--extra-vars": True, "--check": False,
                 "--diff": False, "-v": False, "--limit": True}
PSQL_FLAGS = {"-h": True, "-U": True, "-d": True, "-c": True, "-p": True}
REDIS_FLAGS = {"-h": True, "-p": True, "-a": True, "--no-auth-warning": False, "--bigkeys": False, "-n": True}
KIND_ALIASES = {
    "deploy": "Deployment", "deployment": "Deployment", "deployments": "Deployment",
    "statefulset": "StatefulSet", "sts": "StatefulSet", "statefulsets": "StatefulSet",
    "svc": "Service", "service": "Service", "services": "Service",
    "job": "Job", "jobs": "Job", "hpa": "HorizontalPodAutoscaler", "configmap": "ConfigMap", "cm": "ConfigMap",
    "secret": "Secret", "pdb": "PodDisruptionBudget", "pvc": "PersistentVolumeClaim",
}
# Services the monitoring stack's operator creates (prometheus-operated is also in the inventories' URLs).
OPERATOR_SERVICES = {"prometheus-operated", "alertmanager-operated"}


# ----------------------------------------------------------------------------- project facts


@functools.cache
def inventories() -> dict[str, dict]:
    out = {}
    for hosts in sorted((ROOT / "inventories").glob("*/hosts.yml")):
        env_dir = hosts.parent
        group_vars = {}
        for gv in sorted((env_dir / "group_vars").glob("*/*.yml")):
            group_vars.update(yaml.safe_load(gv.read_text()) or {})
        out[env_dir.name] = group_vars
    return out


@functools.cache
def monitoring_namespaces() -> frozenset[str]:
    """Namespaces of the monitoring stack, from the inventories' Prometheus URLs."""
    found = set()
    for gv in inventories().values():
        m = re.match(r"https?://[\w-]+\.([\w-]+)\.svc", str(gv.get("release_prometheus_url", "")))
        if m:
            found.add(m.group(1))
    return frozenset(found)


@functools.cache
def release_defaults() -> dict:
    return yaml.safe_load(RELEASE_DEFAULTS.read_text())


def app_namespaces() -> set[str]:
    return {gv.get("release_namespace", release_defaults()["release_namespace"]) for gv in inventories().values()}


def playbooks() -> set[str]:
    return {p.stem for p in (ROOT / "playbooks").glob("*.yml")}


def collection_name() -> str:
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    return f"{galaxy['namespace']}.{galaxy['name']}"


@functools.cache
def make_targets() -> frozenset[str]:
    targets = set()
    for path in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]:
        for line in path.read_text().splitlines():
            m = re.match(r"^([A-Za-z0-9_.%/-]+(?:\s+[A-Za-z0-9_.%/-]+)*)\s*:(?![=:])", line)
            if m and not line.startswith("\t"):
                targets.update(m.group(1).split())
    return frozenset(targets)


@dataclass
class Chart:
    objects: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # namespace -> {(kind, name)}
    labels: dict[str, list[dict]] = field(default_factory=dict)  # namespace -> label sets (objects, pod templates)
    containers: dict[str, str] = field(default_factory=dict)  # container name -> component
    secrets: set[str] = field(default_factory=set)  # Secrets the pods reference
    values: dict[str, dict] = field(default_factory=dict)  # env -> values file


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


@functools.cache
def chart() -> Chart:
    """`helm template` of the chart for every environment (release name and namespace of its inventory)."""
    out = Chart()
    kube = (ROOT / "versions.env").read_text()
    kube_version = re.search(r"^KUBERNETES_VERSION=v?(\S+)", kube, flags=re.M).group(1)
    release = release_defaults()["release_name"]
    for env, gv in inventories().items():
        values_file = CHART_DIR / f"values-{gv.get('release_env', env)}.yaml"
        out.values[env] = yaml.safe_load(values_file.read_text()) or {}
        objects = out.objects.setdefault(gv["release_namespace"], set())
        labels = out.labels.setdefault(gv["release_namespace"], [])
        res = subprocess.run(
            [tool("helm"), "template", release, str(CHART_DIR), "--namespace", gv["release_namespace"],
             "--kube-version", kube_version, "--api-versions", "monitoring.coreos.com/v1", "-f", str(values_file)],
            capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"helm template ({env}) failed: {res.stderr}")
        for doc in yaml.safe_load_all(res.stdout):
            if not doc:
                continue
            meta = doc["metadata"]
            objects.add((doc["kind"], meta["name"]))
            labels.append(meta.get("labels", {}))
            template = doc.get("spec", {}).get("template", {})
            if "metadata" in template:
                labels.append(template["metadata"].get("labels", {}))
                component = template["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")
                for c in template.get("spec", {}).get("containers", []):
                    out.containers[c["name"]] = component
            for node in _walk(doc):
                ref = node.get("secretKeyRef") or node.get("secretRef")
                if isinstance(ref, dict) and "name" in ref:
                    out.secrets.add(ref["name"])
    return out


def object_exists(kind: str, name: str, namespace: str | None) -> bool:
    if kind == "Service" and (name in OPERATOR_SERVICES or name == log_store_service()):
        return namespace in monitoring_namespaces()
    if kind == "Secret" and name in chart().secrets:
        return True
    return (kind, name) in chart().objects.get(namespace, set())


def selector_matches(selector: str, namespace: str | None) -> bool:
    """The selector matches an object the chart renders in that namespace's environment."""
    wanted = []
    for part in selector.split(","):
        m = re.fullmatch(r"\s*([\w./-]+)\s*(=|==|!=)\s*([\w.-]*)\s*", part)
        if not m:
            return False
        wanted.append((m.group(1), m.group(2), m.group(3)))
    for labels in chart().labels.get(namespace, []):
        if all((labels.get(k) == v) if op in ("=", "==") else (labels.get(k) != v) for k, op, v in wanted):
            return True
    return False


def database_facts() -> tuple[set[str], set[str], set[str], set[str]]:
    """(PostgreSQL hosts, PostgreSQL users/databases, Redis hosts, Redis ports) from the values files."""
    pg_hosts, pg_names, redis_hosts, redis_ports = set(), set(), set(), set()
    base = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    for values in [base, *chart().values.values()]:
        for key in ("externalDatabase", "postgresql"):
            section = values.get(key) or {}
            if section.get("host"):
                pg_hosts.add(section["host"])
            pg_names.update(str(section[k]) for k in ("username", "database") if section.get(k))
        section = values.get("externalRedis") or {}
        if section.get("host"):
            redis_hosts.add(section["host"])
        if section.get("port"):
            redis_ports.add(str(section["port"]))
    return pg_hosts, pg_names, redis_hosts, redis_ports


# ----------------------------------------------------------------------------- shell


def split_commands(script: str) -> list[list[str]]:
    """Simple commands of a shell snippet: continuation lines joined, comments dropped, split at
    `|`, `||`, `&&`, `;`, `&`; redirections removed. `$(...)`, backticks and `<...>` placeholders
    are refused (write a variable instead)."""
    text = script.replace("\\\n", " ")
    if "$(" in text or re.search(r"(?<!\\)`", text):
        raise ValueError("command substitution is not allowed in a runbook command")
    commands: list[list[str]] = []
    for line in text.splitlines():
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
        lex.whitespace_split = True
        lex.commenters = "#"
        current: list[str] = []
        tokens = list(lex)
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in (";", "&", "&&", "|", "||"):
                if current:
                    commands.append(current)
                current = []
            elif tok in (">", ">>", "<", "2>", "&>"):
                if tok == "<":
                    raise ValueError(f"input redirection or a <placeholder> in {line!r}: use a variable")
                i += 1  # skip the target
            elif set(tok) <= set(";&|<>"):
                raise ValueError(f"unsupported shell operator {tok!r} in {line!r}")
            else:
                current.append(tok)
            i += 1
        if current:
            commands.append(current)
    return commands


def _options(argv: list[str], flags: dict[str, bool], tool_name: str) -> tuple[dict[str, list[str]], list[str],
                                                                                list[str]]:
    """Split argv into ({flag: [values]}, positionals, problems); stops at `--`."""
    opts: dict[str, list[str]] = {}
    pos: list[str] = []
    problems: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            pos.append("--")
            pos.extend(argv[i + 1:])
            break
        if tok.startswith("-") and len(tok) > 1 and not re.fullmatch(r"-\d+", tok):
            name, eq, value = tok.partition("=")
            if name not in flags:
                problems.append(f"{tool_name}: unknown flag {name}")
            elif flags[name] and not eq:
                if i + 1 >= len(argv):
                    problems.append(f"{tool_name}: {name} needs a value")
                    break
                value = argv[i + 1]
                i += 1
            opts.setdefault(name, []).append(value)
        else:
            pos.append(tok)
        i += 1
    return opts, pos, problems


@dataclass
class BlockContext:
    """What earlier commands of the same block set up: port-forwards (local port -> target)."""
    forwards: dict[str, str] = field(default_factory=dict)
    promql: list[str] = field(default_factory=list)  # expressions passed to promtool query
    sql: list[str] = field(default_factory=list)  # psql -c statements (host or container)
    redis: list[list[str]] = field(default_factory=list)  # redis-cli arguments (command or --bigkeys)
    logsql: list[str] = field(default_factory=list)  # LogsQL queries sent to the log store with curl
    ansible: list[list[str]] = field(default_factory=list)  # ansible-playbook arguments


def check_command(argv: list[str], ctx: BlockContext) -> list[str]:
    while argv and re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0]):
        argv = argv[1:]  # VAR=value prefix or a plain assignment
    if not argv:
        return []
    exe = argv[0]
    if exe not in HOST_TOOLS:
        return [f"{exe}: not a tool the project ships or installs ({', '.join(sorted(HOST_TOOLS))})"]
    checker = CHECKERS.get(exe)
    return checker(argv[1:], ctx) if checker else []


def check_script(script: str) -> list[str]:
    ctx = BlockContext()
    try:
        commands = split_commands(script)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    for argv in commands:
        problems += [f"{' '.join(argv)[:100]}: {p}" for p in check_command(argv, ctx)]
    return problems


def _check_kubectl(args: list[str], ctx: BlockContext) -> list[str]:
    opts, pos, problems = _options(args, KUBECTL_FLAGS, "kubectl")
    if not pos:
        return problems + ["kubectl without a verb"]
    verb = pos[0]
    if verb not in KUBECTL_VERBS:
        return problems + [f"kubectl has no verb {verb!r} here (known: {sorted(KUBECTL_VERBS)})"]
    rest = pos[1:]
    if verb in KUBECTL_SUB:
        if not rest or rest[0] not in KUBECTL_SUB[verb]:
            return problems + [f"kubectl {verb} has no subcommand {rest[:1]}"]
        rest = rest[1:]
    namespace = (opts.get("-n") or opts.get("--namespace") or [None])[-1]
    if verb not in KUBECTL_CLUSTER_VERBS:
        if namespace is None:
            problems.append("kubectl without -n: name the namespace")
        elif namespace not in app_namespaces() | monitoring_namespaces():
            problems.append(f"namespace {namespace!r} is none of the inventories' "
                            f"{sorted(app_namespaces() | monitoring_namespaces())}")
    for sel in opts.get("-l", []) + opts.get("--selector", []):
        if not selector_matches(sel, namespace):
            problems.append(f"selector {sel!r} matches no object the chart renders in {namespace}")
    for container in opts.get("-c", []) + opts.get("--container", []):
        if container not in chart().containers:
            problems.append(f"container {container!r} is in no pod of the chart ({sorted(chart().containers)})")
    inner: list[str] = []
    if "--" in rest:
        inner = rest[rest.index("--") + 1:]
        rest = rest[:rest.index("--")]
    # resource references: kind/name, or `<verb> <kind> <name...>`
    refs: list[tuple[str, str]] = []
    for tok in rest:
        m = re.fullmatch(r"([a-z]+)/([\w.-]+)", tok)
        if m:
            refs.append((m.group(1), m.group(2)))
    for value in opts.get("--for", []):
        m = re.fullmatch(r"([a-z]+)/([\w.-]+)", value)
        refs += [(m.group(1), m.group(2))] if m else []
    if verb in ("get", "describe", "patch", "delete", "scale") and rest and "/" not in rest[0]:
        kind = rest[0]
        if kind in KIND_ALIASES:
            refs += [(kind, name) for name in rest[1:] if re.fullmatch(r"[\w.-]+", name)]
    for kind, name in refs:
        if kind not in KIND_ALIASES:
            problems.append(f"unknown resource kind {kind!r}")
        elif not object_exists(KIND_ALIASES[kind], name, namespace):
            problems.append(f"{KIND_ALIASES[kind]} {name!r} is not rendered by the chart in {namespace}")
    if verb == "port-forward":
        ports = [t for t in rest if re.fullmatch(r"\d+(:\d+)?", t)]
        target = next((f"{k}/{n}" for k, n in refs), "")
        for p in ports:
            ctx.forwards[p.split(":")[0]] = target
    if verb == "exec":
        component = ""
        for _kind, name in refs:
            component = _component_of(name)
        containers = opts.get("-c", [])
        if containers:
            component = chart().containers.get(containers[-1], component)
        if not inner:
            problems.append("kubectl exec without `-- command`")
        elif inner[:2] == ["sh", "-c"] and len(inner) == 3:
            try:
                for argv in split_commands(inner[2]):
                    while argv and re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0]):
                        argv = argv[1:]
                    if argv:
                        problems += _check_in_container(component, argv, ctx)
            except ValueError as exc:
                problems.append(str(exc))
        else:
            problems += _check_in_container(component, inner, ctx)
    return problems


def _check_in_container(component: str, argv: list[str], ctx: BlockContext) -> list[str]:
    tools = CONTAINER_TOOLS.get(component, {})
    if argv[0] not in tools:
        return [f"{argv[0]!r} is not a command of the {component or '?'} container ({sorted(tools)}; "
                "or sh -c '<those>')"]
    return _check_container_command(argv, ctx)


def _component_of(name: str) -> str:
    for container, component in chart().containers.items():
        if name.endswith(f"-{container}") or name.endswith(f"-{component}") or f"-{component}-" in name:
            return component
    return ""


def _check_container_command(argv: list[str], ctx: BlockContext) -> list[str]:
    exe = argv[0]
    if exe == "python":
        if len(argv) >= 3 and argv[1] == "-m":
            module = ROOT / "app" / Path(*argv[2].split("."))
            if not (module.with_suffix(".py").is_file() or (module / "__main__.py").is_file()):
                return [f"python module {argv[2]} does not exist in app/"]
            if argv[2] == "app.probes" and argv[3:] not in (["liveness"], ["readiness"]):
                return ["python -m app.probes takes liveness|readiness"]
            return []
        return ["python in a container: use `python -m <module of app/>`"]
    if exe == "celery":
        if argv[1:3] != ["-A", "app.worker.celery_app"]:
            return ["celery needs -A app.worker.celery_app (the app's Celery application)"]
        if not (ROOT / "app" / "app" / "worker" / "celery_app.py").is_file():
            return ["app/app/worker/celery_app.py does not exist"]
        if argv[3:4] == ["inspect"] and argv[4:5] and argv[4] not in {
                "active", "ping", "stats", "reserved", "scheduled", "registered", "active_queues"}:
            return [f"celery inspect has no command {argv[4]!r}"]
        return []
    if exe == "psql":
        return _check_psql(argv[1:], ctx, in_container=True)
    if exe == "redis-cli":
        return _check_redis(argv[1:], ctx)
    return []


def _check_helm(args: list[str], ctx: BlockContext) -> list[str]:
    opts, pos, problems = _options(args, HELM_FLAGS, "helm")
    if not pos or pos[0] not in HELM_VERBS:
        return problems + [f"helm has no verb {pos[:1]} here (known: {sorted(HELM_VERBS)})"]
    namespace = (opts.get("-n") or opts.get("--namespace") or [None])[-1]
    if namespace not in app_namespaces():
        problems.append(f"helm namespace {namespace!r} is none of the inventories' {sorted(app_namespaces())}")
    release = release_defaults()["release_name"]
    if pos[0] in ("history", "status", "rollback", "get") and release not in pos[1:]:
        problems.append(f"helm {pos[0]} of a release other than {release!r}")
    return problems


def _check_ansible(args: list[str], ctx: BlockContext) -> list[str]:
    opts, pos, problems = _options(args, ANSIBLE_FLAGS, "ansible-playbook")
    ctx.ansible.append(list(args))
    inventories_ = opts.get("-i", []) + opts.get("--inventory", [])
    if not inventories_:
        problems.append("ansible-playbook without -i inventories/<env>")
    for inv in inventories_:
        if not re.fullmatch(r"inventories/[\w-]+/?", inv) or not (ROOT / inv / "hosts.yml").is_file():
            problems.append(f"inventory {inv!r} does not exist (inventories/<env>/hosts.yml)")
    prefix = collection_name() + "."
    plays = [p for p in pos if p.startswith(prefix)]
    if len(plays) != 1 or len(pos) != 1:
        problems.append(f"name exactly one playbook as {prefix}<name> (got {pos})")
    for play in plays:
        if play[len(prefix):] not in playbooks():
            problems.append(f"playbook {play} does not exist in playbooks/ ({sorted(playbooks())})")
    known = set(release_defaults())
    for extra in opts.get("-e", []) + opts.get("--extra-vars", []):
        if extra.lstrip().startswith("{"):
            try:
                keys = set(json.loads(extra))
            except json.JSONDecodeError as exc:
                problems.append(f"-e is not valid JSON: {exc}")
                continue
        else:
            keys = {kv.partition("=")[0] for kv in extra.split()}
        for key in sorted(keys - known):
            problems.append(f"-e {key}: not a variable of roles/release (defaults/main.yml)")
    return problems


def _check_make(args: list[str], ctx: BlockContext) -> list[str]:
    targets = [a for a in args if not a.startswith("-") and "=" not in a]
    if not targets:
        return ["make without a target"]
    return [f"make target {t!r} does not exist" for t in targets if t not in make_targets()]


API_PATHS = ("/health", "/ready", "/metrics", "/v1/")


def _check_url(url: str, ctx: BlockContext) -> list[str]:
    m = re.fullmatch(r"https?://(localhost|127\.0\.0\.1):(\d+)(/\S*)?", url)
    if not m:
        return [f"URL {url!r}: reach cluster services through `kubectl port-forward` to localhost"]
    port, path = m.group(2), m.group(3) or "/"
    if port not in ctx.forwards:
        return [f"localhost:{port} is not forwarded by a `kubectl port-forward` earlier in the block"]
    if ctx.forwards[port] in ("svc/agent-service", "deploy/agent-service-api") and \
            not any(path == p or (p.endswith("/") and path.startswith(p)) for p in API_PATHS):
        return [f"the API has no path {path!r} ({API_PATHS})"]
    if ctx.forwards[port] == f"svc/{log_store_service()}" and \
            not any(path == p or (p.endswith("/") and path.startswith(p)) for p in LOG_STORE_PATHS):
        return [f"the log store's runbook paths are {LOG_STORE_PATHS}, not {path!r}"]
    return []


def _check_curl(args: list[str], ctx: BlockContext) -> list[str]:
    urls = [a for a in args if re.match(r"https?://", a)]
    if len(urls) != 1:
        return ["curl needs exactly one URL"]
    problems = _check_url(urls[0], ctx)
    if re.match(r"https?://[^/]+/select/logsql/query$", urls[0]):
        data = [args[i + 1] for i in range(len(args) - 1) if args[i] in ("--data-urlencode", "-d", "--data")]
        data += [a.partition("=")[2] for a in args if a.startswith("--data-urlencode=")]
        queries = [d[len("query="):] for d in data if d.startswith("query=")]
        if not queries:
            problems.append("send the LogsQL query as --data-urlencode 'query=...'")
        ctx.logsql.extend(queries)
    return problems


def _check_kingpin(tool_name: str, args: list[str], ctx: BlockContext) -> list[str]:
    words = []
    for a in args:
        if a.startswith("-"):
            continue  # flags (global ones may come first); checked below
        if "=" in a or "://" in a:
            break  # matchers, URLs: the command's arguments begin
        words.append(a)
    if not words or help_text(tool_name, tuple(words)) is None:
        return [f"{tool_name} has no command {' '.join(words)!r}"]
    n = len(words)
    problems = []
    usage = help_text(tool_name, tuple(words[:n]))
    for a in args:
        if a.startswith("--"):
            flag = a.partition("=")[0]
            if not re.search(rf"(^|\s){re.escape(flag)}[=\s]", usage, flags=re.M):
                problems.append(f"{tool_name} {' '.join(words[:n])} has no flag {flag}")
        elif "://" in a.partition("=")[2] or re.match(r"https?://", a):
            problems += _check_url(a.partition("=")[2] if a.startswith("-") else a, ctx)
    if tool_name == "promtool" and words[:2] == ["query", "instant"]:
        rest = [a for a in args[2:] if not a.startswith("-")]
        if len(rest) != 2:
            problems.append("promtool query instant needs <server> <expr>")
        else:
            ctx.promql.append(rest[1])
    return problems


def _check_jq(args: list[str], ctx: BlockContext) -> list[str]:
    programs = [a for a in args if not a.startswith("-")]
    if not programs:
        return ["jq without a filter"]
    return [] if jq_compiles(programs[0]) else [f"jq filter {programs[0]!r} does not compile"]


def _check_psql(args: list[str], ctx: BlockContext, in_container: bool = False) -> list[str]:
    opts, pos, problems = _options(args, PSQL_FLAGS, "psql")
    pg_hosts, pg_names, _, _ = database_facts()
    for host in opts.get("-h", []):
        if host not in pg_hosts:
            problems.append(f"psql host {host!r} is no PostgreSQL host of the values files ({sorted(pg_hosts)})")
    for flag in ("-U", "-d"):
        for value in opts.get(flag, []):
            if value not in pg_names and not (in_container and value in ("$POSTGRES_USER", "$POSTGRES_DB")):
                problems.append(f"psql {flag} {value!r} is not the chart's user/database ({sorted(pg_names)})")
    if not opts.get("-c"):
        problems.append("psql without -c: give the SQL")
    ctx.sql.extend(opts.get("-c", []))
    return problems


def _check_redis(args: list[str], ctx: BlockContext) -> list[str]:
    opts, pos, problems = _options(args, REDIS_FLAGS, "redis-cli")
    _, _, redis_hosts, redis_ports = database_facts()
    for host in opts.get("-h", []):
        if host not in redis_hosts:
            problems.append(f"redis-cli host {host!r} is no Redis host of the values files ({sorted(redis_hosts)})")
    for port in opts.get("-p", []):
        if port not in redis_ports:
            problems.append(f"redis-cli port {port} is not the values files' Redis port")
    if not pos and "--bigkeys" not in opts:
        problems.append("redis-cli without a command")
    if pos and pos[0].lower() not in {"ping", "info", "config", "client", "llen", "dbsize", "memory", "slowlog"}:
        problems.append(f"redis-cli command {pos[0]!r} is not in the runbooks' read-only set")
    ctx.redis.append(["--bigkeys"] if "--bigkeys" in opts else pos)
    return problems


CHECKERS = {
    "kubectl": _check_kubectl,
    "helm": _check_helm,
    "ansible-playbook": _check_ansible,
    "make": _check_make,
    "curl": _check_curl,
    "promtool": lambda a, c: _check_kingpin("promtool", a, c),
    "amtool": lambda a, c: _check_kingpin("amtool", a, c),
    "jq": _check_jq,
    "psql": _check_psql,
    "redis-cli": _check_redis,
}


def ansible_syntax_check(args: list[str]) -> subprocess.CompletedProcess:
    """`ansible-playbook --syntax-check` of a runbook's command, the collection resolved from the checkout
    (`make collection` links it under ANSIBLE_COLLECTIONS_PATH)."""
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".cache" / "collections"))
    env.setdefault("ANSIBLE_HOME", str(ROOT / ".cache" / "ansible"))
    return subprocess.run([tool("ansible-playbook"), "--syntax-check", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)


def block_contexts(markdown: str) -> list[BlockContext]:
    """Run the command checker over every shell block and inline command, keeping what they collected."""
    out = []
    texts = [b.text for b in fenced_blocks(markdown) if b.lang in SHELL_LANGS] + inline_commands(markdown)
    for text in texts:
        ctx = BlockContext()
        try:
            commands = split_commands(text)
        except ValueError:
            continue  # reported by check_script
        for argv in commands:
            check_command(argv, ctx)
        out.append(ctx)
    return out


# ----------------------------------------------------------------------------- routing


@functools.cache
def receivers_for(labels: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    res = subprocess.run([tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                          *[f"{k}={v}" for k, v in labels]], capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        raise RuntimeError(f"amtool config routes test failed: {res.stderr}")
    return tuple(r.strip() for r in res.stdout.strip().split(",") if r.strip())
