"""helm_rollback module: run as Ansible runs it (a subprocess fed a JSON args file).

The stand-in helm (helm_stand_in.py) records every call, so the tests can assert
that check mode runs nothing but `helm history`.
One test uses the real helm binary against an unreachable API server to check
the failure report. The real rollback on a real cluster is in tests/e2e.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helm_stand_in import ROOT, make_helm, run_module_file, state

MODULE = ROOT / "plugins" / "modules" / "helm_rollback.py"
BIN_DIR = Path(os.environ.get("BIN_DIR", Path.home() / ".cache/agent-service-platform/bin"))


def run_module(tmp_path, **args):
    return run_module_file(MODULE, tmp_path, **args)


TWO_REVISIONS = [(1, "superseded", "Install complete"), (2, "deployed", "Upgrade complete")]


def test_check_mode_returns_plan_and_command_and_runs_nothing(tmp_path):
    helm = make_helm(tmp_path, TWO_REVISIONS)
    result = run_module(tmp_path, name="agent-service", namespace="dev", binary_path=str(helm),
                        _ansible_check_mode=True)
    assert result["changed"] is True
    assert result["plan"]["target_revision"] == 1 and result["plan"]["current_revision"] == 2
    assert result["command"] == [str(helm), "rollback", "agent-service", "1", "--namespace", "dev", "--wait",
                                 "--timeout", "5m0s"]
    assert "diff" not in result
    assert [c[0] for c in state(helm)["calls"]] == ["version", "history"]


def test_rollback_runs_waits_and_reports(tmp_path):
    helm = make_helm(tmp_path, TWO_REVISIONS)
    result = run_module(tmp_path, release_name="agent-service", release_namespace="dev", binary_path=str(helm),
                        timeout="90s", _ansible_diff=True)
    assert result["changed"] is True
    assert (result["rolled_back_from"], result["rolled_back_to"], result["revision"]) == (2, 1, 3)
    assert result["status"] == "deployed"
    assert result["diff"]["before"] == {"revision": 2, "status": "deployed"}
    assert "Happy Helming" in result["stdout"]
    expected = ["rollback", "agent-service", "1", "--namespace", "dev", "--wait", "--timeout", "90s"]
    assert expected in state(helm)["calls"]


def test_explicit_revision_is_idempotent(tmp_path):
    helm = make_helm(tmp_path, TWO_REVISIONS)
    first = run_module(tmp_path, name="agent-service", namespace="dev", binary_path=str(helm), revision=1)
    second = run_module(tmp_path, name="agent-service", namespace="dev", binary_path=str(helm), revision=1)
    assert first["changed"] is True and second["changed"] is False
    assert [c[0] for c in state(helm)["calls"]].count("rollback") == 1


def test_pending_upgrade_is_unlocked(tmp_path):
    helm = make_helm(tmp_path, TWO_REVISIONS + [(3, "pending-upgrade", "Preparing upgrade")])
    result = run_module(tmp_path, name="agent-service", namespace="dev", binary_path=str(helm))
    assert result["rolled_back_to"] == 2 and result["plan"]["current_status"] == "pending-upgrade"


def test_helm4_flags(tmp_path):
    helm = make_helm(tmp_path, TWO_REVISIONS, version="v4.3.1")
    result = run_module(tmp_path, name="agent-service", namespace="dev", binary_path=str(helm), force=True,
                        _ansible_check_mode=True)
    assert "--wait=watcher" in result["command"] and "--force-replace" in result["command"]


def test_failed_rollback_reports_rc_stdout_stderr_command(tmp_path):
    helm = make_helm(tmp_path, TWO_REVISIONS, rollback_fails=True)
    result = run_module(tmp_path, name="agent-service", namespace="dev", binary_path=str(helm))
    assert result["failed"] is True and result["rc"] == 1
    assert "timed out waiting" in result["stderr"] and "timed out waiting" in result["msg"]
    assert result["command"][1:3] == ["rollback", "agent-service"]


@pytest.mark.parametrize("args, message", [
    (dict(revision=-1), "revision must be 0 (previous) or a positive revision number"),
    (dict(revision=7), "revision 7 not found; the release has revisions 1, 2"),
    (dict(name="missing"), "release not found"),
])
def test_bad_input_gives_clear_error(tmp_path, args, message):
    helm = make_helm(tmp_path, TWO_REVISIONS if "name" not in args else [])
    params = dict(dict(name="agent-service", namespace="dev", binary_path=str(helm)), **args)
    result = run_module(tmp_path, **params)
    assert result["failed"] is True and message in result["msg"]


def test_missing_required_options(tmp_path):
    result = run_module(tmp_path, name="agent-service")
    assert result["failed"] is True and "release_namespace" in result["msg"]


def test_real_helm_unreachable_cluster(tmp_path):
    helm = BIN_DIR / "helm"
    assert helm.exists(), "helm is not built: run `make gotools`"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: secret-token-xyz}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n")
    result = run_module(tmp_path, name="agent-service", namespace="dev", binary_path=str(helm),
                        kubeconfig=str(kubeconfig), api_key="secret-token-xyz")
    assert result["failed"] is True and result["rc"] == 1
    assert "helm history failed" in result["msg"] and "127.0.0.1:1" in result["stderr"]
    assert "secret-token-xyz" not in json.dumps(result)
