#!/usr/bin/env python3
"""Generate the values table of helm/agent-service/README.md from values.yaml.

Descriptions come from the `# --` comments above each key. The five component blocks share one
set of keys: the table lists the api block in full and, for worker/beat/flower/migration, only the
keys whose default differs from the api block (plus their own keys).
Run: python tests/chart/gen_readme.py [--check]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[2] / "helm" / "agent-service"
START, END = "<!-- values:start -->", "<!-- values:end -->"
KEY = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):(.*)$")
COMPONENTS = ("worker", "beat", "flower", "migration")
# descriptions of keys that repeat in every probe / security context / autoscaling block
GENERIC = {
    "initialDelaySeconds": "probe: seconds before the first check",
    "periodSeconds": "probe: seconds between checks",
    "timeoutSeconds": "probe: seconds before a check times out",
    "failureThreshold": "probe: failures before the probe fails",
    "successThreshold": "probe: successes before the probe passes",
    "path": "probe: HTTP path (httpGet)",
    "port": "probe: port name or number (httpGet, tcpSocket)",
    "command": "probe: command (exec)",
    "enabled": "switch",
    "minReplicas": "HPA lower bound",
    "maxReplicas": "HPA upper bound",
    "create": "render the object",
    "minAvailable": "PDB minAvailable (wins over maxUnavailable)",
    "maxUnavailable": "PDB maxUnavailable (default 1)",
}


def descriptions(text: str) -> dict[str, str]:
    """path -> description, from `# --` comments (continued by further `#` lines)."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    collecting = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending, collecting = [stripped[4:].strip()], True
            continue
        if stripped.startswith("#"):
            if collecting and not stripped.startswith("# @") and not stripped.startswith("## "):
                pending.append(stripped[1:].strip())
            continue
        m = KEY.match(line)
        if not m or stripped.startswith("-"):
            continue
        indent, key = len(m.group(1)), m.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if pending:
            out[".".join(k for _, k in stack)] = " ".join(pending)
        pending, collecting = [], False
    return out


def leaves(node, prefix: str, docs: dict[str, str]):
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in docs:
            yield from leaves(value, path + ".", docs)
        else:
            yield path, value


def fmt(value) -> str:
    return "`" + json.dumps(value).replace("|", "\\|") + "`"


def table() -> str:
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    docs = descriptions(text)
    api = {p[len("api.") :]: v for p, v in leaves({"api": values["api"]}, "", docs)}
    rows = ["| Key | Default | Description |", "|---|---|---|"]
    for path, value in leaves(values, "", docs):
        top, _, rest = path.partition(".")
        if top in COMPONENTS and rest in api and api[rest] == value:
            continue
        desc = docs.get(path) or (docs.get(f"api.{rest}", "") if top in COMPONENTS else "")
        desc = desc or GENERIC.get(path.rsplit(".", 1)[-1], "")
        desc = desc.replace("|", "\\|")
        rows.append(f"| `{path}` | {fmt(value)} | {desc} |")
    return "\n".join(rows)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = CHART / "README.md"
    current = path.read_text()
    new = render(current)
    if "--check" in argv:
        if new != current:
            print(f"{path} values table is stale: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
