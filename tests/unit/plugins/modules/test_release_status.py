"""release_status and helm_diff: the tool checks, over the stand-in helm (helm_stand_in.py).

The stand-in has no diff plugin (it answers `helm diff version` with nothing). The modules on a
real cluster, with the real helm and helm-diff, are in tests/e2e/test_release_modules_live.py.
"""
from __future__ import annotations

import pytest
from helm_stand_in import ROOT, make_helm, run_module_file, state

MODULES = ROOT / "plugins" / "modules"
ONE_REVISION = [(1, "deployed", "Install complete")]


def test_too_old_helm_is_refused_before_any_read(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION, version="v3.7.2")
    result = run_module_file(MODULES / "release_status.py", tmp_path, release_name="r", release_namespace="ns",
                             binary_path=str(helm))
    assert result["failed"] and "helm 3.7.2 is too old (need >= 3.8.0)" in result["msg"]
    assert "history" not in [call[0] for call in state(helm)["calls"]]


def test_a_missing_diff_plugin_is_refused_when_required(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION)
    result = run_module_file(MODULES / "release_status.py", tmp_path, release_name="r", release_namespace="ns",
                             binary_path=str(helm), require_diff_plugin=True)
    assert result["failed"] and "helm-diff missing (need >= 3.9.0" in result["msg"]
    allowed = run_module_file(MODULES / "release_status.py", tmp_path, release_name="r", release_namespace="ns",
                              binary_path=str(helm))
    assert not allowed.get("failed") and allowed["helm_diff_version"] is None
    assert (allowed["exists"], allowed["revision"], allowed["status"]) == (True, 1, "deployed")


def test_traffic_group_needs_the_chart(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION)
    result = run_module_file(MODULES / "release_status.py", tmp_path, release_name="r", release_namespace="ns",
                             binary_path=str(helm), traffic_group=True)
    assert result["failed"] and "traffic_group needs chart_ref" in result["msg"]


def test_helm_diff_refuses_a_too_old_helm(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION, version="v3.7.0")
    result = run_module_file(MODULES / "helm_diff.py", tmp_path, release_name="r", release_namespace="ns",
                             chart_ref=str(tmp_path), binary_path=str(helm))
    assert result["failed"] and "too old" in result["msg"]
    assert [call[0] for call in state(helm)["calls"]] == ["version"]


@pytest.mark.parametrize(("version", "flags"), [("v3.22.0", ["--all"]), ("v4.3.1", [])])
def test_every_release_of_the_namespace_with_helm_3_and_4(tmp_path, version, flags):
    helm = make_helm(tmp_path, ONE_REVISION, version=version, releases=["agent-service", "agent-service-canary"])
    result = run_module_file(MODULES / "release_status.py", tmp_path, release_name="agent-service",
                             release_namespace="ns", binary_path=str(helm), list_releases=True)
    assert not result.get("failed"), result
    assert result["releases"] == ["agent-service", "agent-service-canary"]
    assert [c for c in state(helm)["calls"] if c[0] == "list"] == [["list", "--namespace", "ns", *flags, "--short"]]
