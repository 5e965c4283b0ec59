"""module_utils/helm_release.py and release_stages.py: the pure parts.

The fullname rule is checked against the chart itself, rendered by the real helm: the Service's
name is the chart's `agent-service.fullname`.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.agent_service.platform.plugins.module_utils import (
    helm_release,
    release_stages,
    release_topology,
)

ROOT = Path(__file__).resolve().parents[4]
CHART = ROOT / "helm" / "agent-service"
HELM = Path(os.environ.get("BIN_DIR", Path.home() / ".cache/agent-service-platform/bin")) / "helm"

FULLNAME_CASES = [
    ("agent-service", "", ""),
    ("prod", "", ""),
    ("my-agent-service-blue", "", ""),
    ("x" * 53, "", ""),
    ("a" * 50 + "-b", "", ""),
    ("r", "custom-name", ""),
    ("r", "y" * 50, ""),
    ("r", "", "bot"),
    ("bot-prod", "", "bot"),
]


def _rendered_service_name(release, fullname_override, name_override):
    argv = [str(HELM), "template", release, str(CHART), "--show-only", "templates/service.yaml",
            "--values", str(CHART / "values-dev.yaml"), "--kube-version", "1.34.0"]
    if fullname_override:
        argv += ["--set", f"fullnameOverride={fullname_override}"]
    if name_override:
        argv += ["--set", f"nameOverride={name_override}"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return next(d["metadata"]["name"] for d in docs if d["kind"] == "Service" and "clusterIP" not in d["spec"])


@pytest.mark.parametrize("release,fullname_override,name_override", FULLNAME_CASES)
def test_fullname_rule_matches_the_chart(release, fullname_override, name_override):
    assert HELM.exists(), "helm is not built: run `make gotools`"
    ours = helm_release.chart_fullname(release, helm_release.chart_name(str(CHART)), fullname_override, name_override)
    assert ours == _rendered_service_name(release, fullname_override, name_override)
    assert len(ours) <= 63 and not ours.endswith("-")


def test_chart_name_reads_chart_yaml(tmp_path):
    assert helm_release.chart_name(str(CHART)) == yaml.safe_load((CHART / "Chart.yaml").read_text())["name"]
    with pytest.raises(helm_release.HelmError, match="cannot read"):
        helm_release.chart_name(str(tmp_path))


@pytest.mark.parametrize("differs,status,pending", [
    (True, "deployed", True), (False, "deployed", False), (None, "deployed", True),
    (False, "", True), (False, "failed", True), (False, "pending-upgrade", True), (True, "superseded", True),
])
def test_release_pending(differs, status, pending):
    decided, reason = helm_release.release_pending(differs, status)
    assert decided is pending
    assert reason


def test_diff_summary_keeps_the_resource_lines_only():
    text = ("agent-service, agent-service, Deployment (apps) has changed:\n"
            "  # Source: agent-service/templates/deployment.yaml\n"
            "-         image: localhost/agent-service:1.0.0\n"
            "+         image: localhost/agent-service:2.0.0\n"
            "agent-service, agent-service-extra, ConfigMap (v1) has been added:\n"
            "agent-service, old, Secret (v1) has been removed:\n")
    assert helm_release.diff_summary(text) == [
        "agent-service, agent-service, Deployment (apps) has changed:",
        "agent-service, agent-service-extra, ConfigMap (v1) has been added:",
        "agent-service, old, Secret (v1) has been removed:",
    ]
    assert helm_release.diff_summary("") == []


def test_diff_args_carry_the_three_way_flags():
    args = helm_release.diff_args(dict(release_name="r", chart_ref="/c", release_namespace="ns",
                                       values_files=["/v1", "/v2"], context_lines=5))
    assert args[:6] == ["diff", "upgrade", "r", "/c", "--namespace", "ns"]
    assert args[6:10] == ["--values", "/v1", "--values", "/v2"]
    for flag in ("--three-way-merge", "--suppress-secrets", "--detailed-exitcode", "--no-hooks", "--allow-unreleased"):
        assert flag in args
    assert args[-2:] == ["--context", "5"]
    assert "--dry-run=server" not in args and "--disable-validation" not in args


def test_diff_args_for_helm_4_validate_with_a_server_dry_run():
    params = dict(release_name="r", chart_ref="/c", release_namespace="ns")
    args = helm_release.diff_args(params, helm_major=4)
    assert args[:-2] == helm_release.diff_args(params)
    assert args[-2:] == ["--disable-validation", "--dry-run=server"]


@pytest.mark.parametrize("name,stage", [
    ("Smoke | Probe the endpoints through the Service", "smoke"),
    ("Analysis | Fail the release on a failed analysis", "analysis"),
    ("Rolling | Install or upgrade the release", "upgrade"),
    ("Upgrade | Install or upgrade the main release", "upgrade"),
    ("Canary | Require the canary to serve behind the main Service", "upgrade"),
    ("Switch | Wait until the live Service's ready endpoints are those pods only", "upgrade"),
    ("", "upgrade"),
])
def test_failed_stage(name, stage):
    assert release_stages.failed_stage(name) == stage


def test_stage_timings_run_from_one_result_to_the_next():
    results = {"preflight": {"at": 104.0}, "version": {"at": 104.5}, "render": {"at": 105.0},
               "diff": {"at": 107.25}, "backup": {"at": 108.0}, "upgrade": {"at": 120.0},
               "smoke": None, "analysis": {"at": 150.0}, "failure": {"stage": "analysis", "at": 151.0},
               "rollback": {"at": 170.0}}
    assert release_stages.stage_timings(results, 100.0) == {
        "preflight": 4.0, "version": 0.5, "render": 0.5, "diff": 2.25, "backup": 0.75, "upgrade": 12.0,
        "analysis": 30.0, "rollback": 20.0}


def test_stage_timings_charge_a_failure_to_its_stage():
    results = {"preflight": {"at": 10.0}, "upgrade": {"at": 30.0}, "failure": {"stage": "smoke", "at": 42.0},
               "rollback": {"at": 50.0}}
    assert release_stages.stage_timings(results, 0) == {"preflight": 10.0, "upgrade": 20.0, "smoke": 12.0,
                                                        "rollback": 8.0}


def test_stage_timings_charge_a_failure_inside_the_upgrade_to_it():
    results = {"preflight": {"at": 10.0}, "backup": {"at": 12.0}, "analysis": {"at": None},
               "failure": {"stage": "analysis", "at": 70.0}, "rollback": {"at": 80.0}}
    assert release_stages.stage_timings(results, 0) == {"preflight": 10.0, "backup": 2.0, "upgrade": 58.0,
                                                        "rollback": 10.0}


def test_release_plan_shapes_only_bluegreen():
    values = {"api": {"replicaCount": 3}, "worker": {"replicaCount": 2}}
    rolling = release_topology.release_plan("rolling", values, "agent-service", "agent-service")
    assert rolling == {"values": values, "plan": None}
    first = release_topology.release_plan("bluegreen", values, "agent-service", "agent-service", "", ["agent-service"])
    assert first["plan"]["live"] is None and first["plan"]["target"] == "agent-service-blue"
    assert first["values"]["api"]["service"] == {"selectBy": "traffic", "trafficGroup": "agent-service-blue"}
    assert first["values"]["api"]["replicaCount"] == 0
    live = release_topology.release_plan("bluegreen", values, "agent-service", "agent-service", "agent-service-blue",
                                         ["agent-service", "agent-service-blue", "agent-service-green"])
    assert live["plan"]["target"] == "agent-service-green" and live["plan"]["replace"]
    assert live["values"]["api"]["service"]["trafficGroup"] == "agent-service-blue"
