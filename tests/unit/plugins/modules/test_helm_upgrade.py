"""helm_upgrade module: run as Ansible runs it, over the stand-in helm (helm_stand_in.py).

The module has no change check of its own: one `helm upgrade --install`, then
`helm history --max 1`. The upgrade of a real release on a real cluster (and its atomic
rollback of a crashlooping release) is in the Molecule scenarios default and rollback.
"""
from __future__ import annotations

import pytest
from helm_stand_in import ROOT, make_helm, run_module_file, state

MODULE = ROOT / "plugins" / "modules" / "helm_upgrade.py"
ONE_REVISION = [(1, "deployed", "Install complete")]


def run_module(tmp_path, **args):
    params = dict(release_name="agent-service", release_namespace="dev", chart_ref="/charts/agent-service",
                  values_files=["/tmp/values.yaml"])
    params.update(args)
    return run_module_file(MODULE, tmp_path, **params)


def test_upgrade_is_one_helm_call_and_reports_the_new_revision(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION)
    result = run_module(tmp_path, binary_path=str(helm), timeout="90s", history_max=10)
    assert result["changed"] is True and not result.get("failed"), result
    assert result["command"] == [str(helm), "upgrade", "agent-service", "/charts/agent-service", "--install",
                                 "--namespace", "dev", "--values", "/tmp/values.yaml", "--reset-values", "--atomic",
                                 "--wait", "--timeout", "90s", "--history-max", "10"]
    assert result["status"] == {"name": "agent-service", "namespace": "dev", "revision": 2, "status": "deployed",
                                "chart": "agent-service-1.0.0", "app_version": "2.0.0", "updated": None}
    assert "has been upgraded" in result["stdout"]
    # no diff, no get values, no list: the caller decided that the release changes
    assert [c[0] for c in state(helm)["calls"]] == ["version", "upgrade", "history"]
    assert state(helm)["calls"][-1][-4:] == ["--max", "1", "--output", "json"]


def test_helm4_flags(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION, version="v4.3.1")
    result = run_module(tmp_path, binary_path=str(helm), wait_for_jobs=True, _ansible_check_mode=True)
    assert "--rollback-on-failure" in result["command"] and "--wait=watcher" in result["command"]
    assert "--atomic" not in result["command"] and "--wait-for-jobs" in result["command"]


def test_check_mode_runs_nothing(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION)
    result = run_module(tmp_path, binary_path=str(helm), _ansible_check_mode=True)
    assert result["changed"] is True and result["status"] == {}
    assert [c[0] for c in state(helm)["calls"]] == ["version"]


def test_first_install_without_atomic_or_wait(tmp_path):
    helm = make_helm(tmp_path, [])
    result = run_module(tmp_path, binary_path=str(helm), atomic=False, wait=False, create_namespace=True,
                        disable_hook=True)
    flags = result["command"][7:]
    assert "--atomic" not in flags and "--wait" not in flags
    assert "--create-namespace" in flags and "--no-hooks" in flags
    assert result["status"]["revision"] == 1


def test_a_failed_upgrade_reports_rc_stderr_and_command(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION, upgrade_fails=True)
    result = run_module(tmp_path, binary_path=str(helm))
    assert result["failed"] is True and result["rc"] == 1
    assert "rolled back due to atomic" in result["stderr"]
    assert result["command"][1:3] == ["upgrade", "agent-service"]


def test_an_upgrade_that_leaves_the_release_not_deployed_fails(tmp_path):
    helm = make_helm(tmp_path, ONE_REVISION, upgrade_status="pending-upgrade")
    result = run_module(tmp_path, binary_path=str(helm))
    assert result["failed"] is True and "revision 2 is pending-upgrade" in result["msg"]


@pytest.mark.parametrize("missing", ["release_name", "release_namespace", "chart_ref"])
def test_missing_required_options(tmp_path, missing):
    helm = make_helm(tmp_path, ONE_REVISION)
    params = dict(release_name="agent-service", release_namespace="dev", chart_ref="/charts/agent-service",
                  binary_path=str(helm))
    params.pop(missing)
    result = run_module_file(MODULE, tmp_path, **params)
    assert result["failed"] is True and missing in result["msg"]
    assert "calls" not in state(helm)
