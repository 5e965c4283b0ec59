#!/usr/bin/env python3
"""Generate Prometheus SLO recording rules and burn-rate alerts from monitoring/slo/slo.yml.

Usage: generate.py [--spec FILE] [--out FILE] [--check]

--check exits 1 (and prints a diff) when the checked-in output differs from what the
spec produces, so a test can catch a stale file.

For each SLO it records the error ratio over every window of the SRE Workbook's
multiwindow, multi-burn-rate recipe, as
``slo:sli_error:ratio_rate<window>{slo=<name>, service, ...}``, plus
``slo:objective:ratio`` and ``slo:error_budget:ratio``; then one alert per SLO
with a page rule (severity critical: 14.4x over 1h and 5m, or 6x over 6h and 30m) and
a ticket rule (severity warning: 3x over 1d and 2h, or 1x over 3d and 6h).
"""
from __future__ import annotations

import argparse
import difflib
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = HERE / "slo.yml"
DEFAULT_OUT = HERE.parent / "prometheus" / "slo-rules.yml"

# (severity, [(burn factor, long window, short window), ...], for) per the Workbook, table 5-8
# (30-day period) and its ticket pair 24h/2h 3x.
ALERT_TIERS = (
    ("critical", "page", ((Decimal("14.4"), "1h", "5m"), (Decimal("6"), "6h", "30m")), "2m"),
    ("warning", "ticket", ((Decimal("3"), "1d", "2h"), (Decimal("1"), "3d", "6h")), "15m"),
)
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
ALERT_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


class SpecError(ValueError):
    """The SLO spec is invalid."""


class _Dumper(yaml.SafeDumper):
    """Indent block sequences inside mappings (yamllint's default style)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> Any:
    style = "|" if "\n" in data else (">" if len(data) > 120 else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def load_spec(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read the SLO spec: {exc}") from exc
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: the SLO spec must be a mapping")
    for key in ("service", "period_days", "slos", "by"):
        if key not in spec:
            raise SpecError(f"{path}: missing key '{key}'")
    if not isinstance(spec["slos"], list) or not spec["slos"]:
        raise SpecError(f"{path}: 'slos' must be a non-empty list")
    seen: set[str] = set()
    for i, slo in enumerate(spec["slos"]):
        where = f"{path}: slos[{i}]"
        for key in ("name", "objective", "alert", "error_query", "total_query"):
            if key not in slo:
                raise SpecError(f"{where}: missing key '{key}'")
        if not NAME_RE.match(str(slo["name"])):
            raise SpecError(f"{where}: name '{slo['name']}' must match {NAME_RE.pattern}")
        if slo["name"] in seen:
            raise SpecError(f"{where}: duplicate SLO name '{slo['name']}'")
        seen.add(slo["name"])
        if not ALERT_RE.match(str(slo["alert"])):
            raise SpecError(f"{where}: alert '{slo['alert']}' must be CamelCase")
        objective = Decimal(str(slo["objective"]))
        if not Decimal("0") < objective < Decimal("100"):
            raise SpecError(f"{where}: objective {objective} must be a percentage strictly between 0 and 100")
        for key in ("error_query", "total_query"):
            if "{{window}}" not in slo[key]:
                raise SpecError(f"{where}: {key} must contain the placeholder {{{{window}}}}")
    return spec


def _query(template: str, window: str) -> str:
    return template.replace("{{window}}", window).strip()


def build(spec: dict[str, Any]) -> dict[str, Any]:
    service = spec["service"]
    base_labels = dict(spec.get("labels") or {})
    groups: list[dict[str, Any]] = []
    alert_rules: list[dict[str, Any]] = []
    for slo in spec["slos"]:
        name = slo["name"]
        objective = Decimal(str(slo["objective"])) / 100
        budget = 1 - objective
        sel = f'{{service="{service}", slo="{name}"}}'
        labels = {**base_labels, "service": service, "slo": name}
        rules: list[dict[str, Any]] = []
        for window in WINDOWS:
            total = _query(slo["total_query"], window)
            # `or 0 * total`: no error series at all means a ratio of 0, not "no data"
            expr = f"(\n(\n{_query(slo['error_query'], window)}\n)\nor\n0 * (\n{total}\n)\n)\n/\n(\n{total}\n)\n"
            rules.append({"record": f"slo:sli_error:ratio_rate{window}", "expr": expr, "labels": dict(labels)})
        rules.append({"record": "slo:objective:ratio", "expr": f"vector({_num(objective)})", "labels": dict(labels)})
        rules.append({"record": "slo:error_budget:ratio", "expr": f"vector({_num(budget)})", "labels": dict(labels)})
        groups.append({"name": f"slo-{service}-{name}-recordings", "rules": rules})
        for severity, kind, pairs, for_ in ALERT_TIERS:
            clauses = []
            for factor, long_w, short_w in pairs:
                threshold = _num(factor * budget)
                clauses.append(
                    f"(\n  slo:sli_error:ratio_rate{long_w}{sel} > {threshold}\n"
                    f"  and\n  slo:sli_error:ratio_rate{short_w}{sel} > {threshold}\n)"
                )
            burns = " or ".join(f"{_num(f)}x over {lw}/{sw}" for f, lw, sw in pairs)
            alert_rules.append({
                "alert": slo["alert"],
                "expr": "\nor\n".join(clauses) + "\n",
                "for": for_,
                "labels": {**labels, "severity": severity, "burn": kind},
                "annotations": {
                    "summary": f"{service} is burning its {name} error budget ({kind}) in {{{{ $labels.namespace }}}}.",
                    "description": (
                        f"SLO {name} ({_num(objective * 100)} % over {spec['period_days']} days: "
                        f"{slo.get('description', '').strip()}) burns its error budget at {burns} "
                        "in namespace {{ $labels.namespace }}; "
                        "the current error ratio is {{ $value | humanizePercentage }}."
                    ),
                    "runbook_url": f"monitoring/runbooks/{slo['alert']}.md",
                },
            })
    groups.append({"name": f"slo-{service}-alerts", "rules": alert_rules})
    return {"groups": groups}


def render(spec: dict[str, Any], spec_path: str) -> str:
    header = (
        "---\n"
        f"# GENERATED by monitoring/slo/generate.py from {spec_path}. Do not edit by hand:\n"
        "# change the spec and run `make monitoring-generate`.\n"
    )
    body = yaml.dump(build(spec), Dumper=_Dumper, sort_keys=False, width=140, default_flow_style=False)
    return header + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if --out is not what --spec generates")
    args = parser.parse_args(argv)
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        shown = args.spec.resolve().relative_to(HERE.parent.parent)
    except ValueError:
        shown = args.spec
    text = render(spec, str(shown))
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True), str(args.out), "generated"))
            print(f"{args.out} is stale: run `make monitoring-generate`", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
