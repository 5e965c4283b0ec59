#!/usr/bin/env python3
"""Start the runbook of a new alert: monitoring/runbooks/<alertname>.md with the title, the
five sections and the alert's rules quoted from the rule files (severity, `for`, expression).

    .venv/bin/python monitoring/runbooks/new_runbook.py AlertName [--print]

Everything else is for you to write: `make runbooks-test` fails until each section has real
content (kubectl and PromQL in Confirm, causes, a command in Mitigate, the receivers in
Escalate) and the runbook is in one of the test's two lists: with a LogsQL query in Confirm,
or without one and why. Refuses to overwrite an existing runbook.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RULE_DIR = HERE.parent / "prometheus"


def quoted_rules(alert: str) -> list[str]:
    parts = []
    for path in sorted(RULE_DIR.glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        if not isinstance(doc, dict) or "groups" not in doc:
            continue
        for group in doc["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") != alert:
                    continue
                labels = rule.get("labels", {})
                team = str(labels.get("team", "?"))
                if "{{" in team:
                    team = f"templated ({team})"
                fires = f"for `{rule['for']}`" if "for" in rule else "at once (no `for`)"
                parts.append(f"Rule in `monitoring/prometheus/{path.name}`, group `{group['name']}`: severity "
                             f"**{labels.get('severity', '?')}**, team {team}, fires {fires}.\n\n"
                             f"```promql\n{rule['expr'].strip()}\n```")
    return parts


def skeleton(alert: str) -> str:
    rules = quoted_rules(alert)
    if not rules:
        raise SystemExit(f"no alert {alert!r} in {RULE_DIR}/*.yml")
    quoted = "\n\n".join(rules)
    return f"""# {alert}

TODO: one sentence: what is broken for users.

## Meaning

TODO: what the expression measures and why the threshold matters.

{quoted}

## Confirm

TODO: kubectl for this chart's labels (see README.md) and PromQL that narrows it down.
Where the app's logs show the cause: a sentence on what it finds, then a `logsql` code block
for the log store (README.md, *Logs*: namespace, `_time` window, a bounded answer). Either
way, add {alert} to LOGSQL_RUNBOOKS or NO_LOGSQL (with the reason) in
tests/runbooks/test_runbooks.py.

## Likely causes

- TODO
- TODO

## Mitigate

TODO: steps, with the collection's playbooks where they apply.

## Escalate

TODO: the receivers Alertmanager routes the alert to (amtool config routes test), and when to go further.
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("alert")
    parser.add_argument("--print", action="store_true", help="print instead of writing the file")
    args = parser.parse_args(argv)
    text = skeleton(args.alert)
    if args.print:
        sys.stdout.write(text)
        return 0
    target = HERE / f"{args.alert}.md"
    if target.exists():
        print(f"{target} exists; edit it instead", file=sys.stderr)
        return 1
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
