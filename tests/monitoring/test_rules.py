"""Prometheus rules: promtool lint + unit tests, conventions, coverage of the unit tests, SLO staleness."""
from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

import pytest
from conftest import MONITORING, PROMTOOL_TESTS, ROOT, RULE_FILES, alert_rules, load_yaml, require_tool

# Alert names per group, as the seed (spec/SYSTEM_SUMMARY.md section 3) counts them.
SEED_GROUPS = {
    "agent-service-alerts": 8,
    "celery-worker-alerts": 7,
    "database-alerts": 3,
    "redis-alerts": 3,
    "agent-business-logic-alerts": 4,
}


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_promtool_check_rules_lint_all(path):
    promtool = require_tool("promtool")
    proc = subprocess.run([promtool, "check", "rules", "--lint=all", "--lint-fatal", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout and "WARNING" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("path", PROMTOOL_TESTS, ids=[p.name for p in PROMTOOL_TESTS])
def test_promtool_unit_tests(path):
    promtool = require_tool("promtool")
    proc = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, cwd=path.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_seed_groups_and_counts():
    groups = {g["name"]: g for g in load_yaml(RULE_FILES[0])["groups"]}
    for name, count in SEED_GROUPS.items():
        names = {r["alert"] for r in groups[name]["rules"] if "alert" in r}
        assert len(names) == count, f"{name}: {sorted(names)}"


def test_alert_conventions():
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert rule["labels"].get("team"), name
        assert rule["labels"].get("service"), name
        ann = rule["annotations"]
        assert set(ann) >= {"summary", "description", "runbook_url"}, name
        assert ann["runbook_url"] == f"monitoring/runbooks/{name}.md", name
        assert name[0].isupper() and "_" not in name, name


def test_rates_use_range_selectors_only_on_counters():
    for rule in alert_rules():
        assert "irate(" not in rule["expr"], rule["alert"]


def _cases():
    fired, quiet = defaultdict(int), defaultdict(int)
    for path in PROMTOOL_TESTS:
        for test in load_yaml(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet)[case["alertname"]] += 1
    return fired, quiet


def test_every_alert_fires_in_one_case_and_stays_quiet_in_another():
    fired, quiet = _cases()
    names = {r["alert"] for r in alert_rules()}
    assert names, "no alert found"
    assert not names - set(fired), f"never shown to fire: {sorted(names - set(fired))}"
    assert not names - set(quiet), f"never shown to stay quiet: {sorted(names - set(quiet))}"
    assert not (set(fired) | set(quiet)) - names, "a test names an alert that does not exist"


def test_every_alert_tier_fires_in_a_test():
    """Alerts with several rules (severity tiers) must show each tier firing."""
    tiers = defaultdict(set)
    for rule in alert_rules():
        tiers[rule["alert"]].add(rule["labels"]["severity"])
    seen = defaultdict(set)
    for path in PROMTOOL_TESTS:
        for test in load_yaml(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                for exp in case.get("exp_alerts") or []:
                    seen[case["alertname"]].add(exp["exp_labels"]["severity"])
    for name, sevs in tiers.items():
        assert sevs <= seen[name], f"{name}: tiers {sorted(sevs - seen[name])} never fire in a test"


def test_slo_rules_are_up_to_date():
    proc = subprocess.run([sys.executable, str(MONITORING / "slo" / "generate.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_slo_generator_rejects_a_bad_spec(tmp_path):
    spec = tmp_path / "slo.yml"
    spec.write_text("service: x\nperiod_days: 30\nby: [namespace]\nslos:\n"
                    "  - {name: a, objective: 100, alert: XBurn,\n"
                    "     error_query: 'e[{{window}}]', total_query: 't[{{window}}]'}\n")
    proc = subprocess.run([sys.executable, str(MONITORING / "slo" / "generate.py"), "--spec", str(spec),
                           "--out", str(tmp_path / "out.yml")], capture_output=True, text=True)
    assert proc.returncode == 2 and "strictly between 0 and 100" in proc.stderr
    assert not (tmp_path / "out.yml").exists()


def test_slo_generator_detects_a_stale_file(tmp_path):
    out = tmp_path / "slo-rules.yml"
    out.write_text((MONITORING / "prometheus" / "slo-rules.yml").read_text().replace("14.4", "14.5", 1) + "\n")
    proc = subprocess.run([sys.executable, str(MONITORING / "slo" / "generate.py"), "--out", str(out), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "stale" in proc.stderr


def test_slo_burn_thresholds_follow_the_workbook():
    rules = [r for r in alert_rules() if r["_file"] == "slo-rules.yml"]
    avail = {r["labels"]["severity"]: r["expr"] for r in rules if r["labels"]["slo"] == "availability"}
    assert "> 0.0144" in avail["critical"] and "> 0.006" in avail["critical"]
    assert "> 0.003" in avail["warning"] and "> 0.001" in avail["warning"]
    for window in ("rate1h", "rate5m", "rate6h", "rate30m"):
        assert window in avail["critical"]
    for window in ("rate1d", "rate2h", "rate3d", "rate6h"):
        assert window in avail["warning"]


def test_real_prometheus_loads_every_rule_group(prometheus):
    loaded = {g["name"]: g for g in prometheus.get("/api/v1/rules")["data"]["groups"]}
    expected = {g["name"] for path in RULE_FILES for g in load_yaml(path)["groups"]}
    assert expected == set(loaded)
    for group in loaded.values():
        for rule in group["rules"]:
            assert rule["health"] != "err", rule
