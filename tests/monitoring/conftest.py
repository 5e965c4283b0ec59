"""Shared paths and helpers for the monitoring tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
RULE_FILES = [MONITORING / "prometheus" / "rules.yml", MONITORING / "prometheus" / "slo-rules.yml"]
PROMTOOL_TESTS = sorted((MONITORING / "prometheus" / "tests").glob("*.test.yml"))
ALERTMANAGER_CONFIG = MONITORING / "alertmanager.yml"
DASHBOARD_DIR = MONITORING / "grafana" / "dashboards"


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict]:
    rules = []
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rules.append({**rule, "_group": group["name"], "_file": path.name})
    return rules


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make debs`")
    return path


def pytest_configure(config):
    config.addinivalue_line("markers", "live: needs the test bed (cluster, operator-mode monitoring stack)")
