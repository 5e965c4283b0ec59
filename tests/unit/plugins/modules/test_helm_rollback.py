"""helm_rollback module: run as Ansible runs it (a subprocess fed a JSON args file).

A small stand-in helm (a Python script over a JSON state file) records every
call, so the tests can assert that check mode runs nothing but `helm history`.
One test uses the real helm binary against an unreachable API server to check
the failure report. The real rollback on a real cluster is in tests/e2e.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
_COLL = ROOT / ".cache" / "collections"
_LINK = _COLL / "ansible_collections" / "agent_service" / "platform"
if not _LINK.exists():  # same layout as `make collection`
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(ROOT)

MODULE = ROOT / "plugins" / "modules" / "helm_rollback.py"
BIN_DIR = Path(os.environ.get("BIN_DIR", Path.home() / ".cache/agent-service-platform/bin"))

FAKE_HELM = r'''#!PYTHON
import json, sys
state_path = sys.argv[0] + ".json"
state = json.load(open(state_path))
state.setdefault("calls", []).append(sys.argv[1:])
args = sys.argv[1:]
out, err, rc = "", "", 0
if args[0] == "version":
    out = state["version"] + "\n"
elif args[0] == "history":
    if not state["history"]:
        err, rc = "Error: release: not found\n", 1
    else:
        out = json.dumps(state["history"])
elif args[0] == "rollback":
    if state.get("rollback_fails"):
        err, rc = "Error: timed out waiting for the condition\n", 1
    else:
        target = int(args[2])
        for entry in state["history"]:
            if entry["status"] == "deployed":
                entry["status"] = "superseded"
        state["history"].append(dict(revision=len(state["history"]) + 1, status="deployed",
                                     description="Rollback to %d" % target))
        out = "Rollback was a success! Happy Helming!\n"
json.dump(state, open(state_path, "w"))
sys.stdout.write(out); sys.stderr.write(err); sys.exit(rc)
'''


def make_helm(tmp_path, history, version="v3.22.0", **extra):
    helm = tmp_path / "helm"
    helm.write_text(FAKE_HELM.replace("PYTHON", sys.executable))
    helm.chmod(0o755)
    rows = [dict(revision=r, status=s, description=d) for r, s, d in history]
    (tmp_path / "helm.json").write_text(json.dumps(dict(version=version, history=rows, **extra)))
    return helm


def state(helm):
    return json.loads(Path(str(helm) + ".json").read_text())


def run_module(tmp_path, **args):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=str(_COLL))
    proc = subprocess.run([sys.executable, str(MODULE), str(args_file)], capture_output=True, text=True, env=env,
                          check=False, cwd=tmp_path)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout[proc.stdout.index("{"):])


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
