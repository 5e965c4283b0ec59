"""Unit tests for plugins/module_utils/helm.py: the helm runner and the rollback planner.

Pure logic is tested with a recording stand-in for run_command; the version
probe also runs against the real helm 3 and helm 4 binaries when they are built.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import helm  # noqa: E402

BIN_DIR = Path(os.environ.get("BIN_DIR", Path.home() / ".cache/agent-service-platform/bin"))


class Recorder:
    """Answers helm commands from a table keyed by the first argument."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, cwd=None, environ_update=None, data=None):
        self.calls.append((argv, dict(environ_update or {})))
        answer = self.answers[argv[1]]
        if callable(answer):
            answer = answer(argv)
        return answer


def history(*entries):
    return [dict(revision=rev, status=status, description=desc, chart="agent-service-0.1.0", app_version="1")
            for rev, status, desc in entries]


def version_answer(text):
    return (0, text + "\n", "")


def runner_for(rec, **kwargs):
    """A runner on a binary path of its own: versions are cached per binary path."""
    return helm.HelmRunner(rec, binary=f"/fake/helm-{uuid.uuid4().hex}", **kwargs)


# --- version, flag gates -------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("v3.22.0+g1a2b3c4", (3, 22, 0)),
    ("v4.3.1", (4, 3, 1)),
    ("v3.22", (3, 22, 0)),
    ("version.BuildInfo{Version:\"v3.8.2\"}", (3, 8, 2)),
])
def test_parse_version(text, expected):
    assert helm.parse_version(text) == expected


def test_parse_version_garbage_is_a_clear_error():
    with pytest.raises(helm.HelmError, match="cannot read a helm version"):
        helm.parse_version("command not found")


def test_version_is_cached():
    rec = Recorder({"version": version_answer("v3.22.0")})
    runner = runner_for(rec)
    assert runner.version() == (3, 22, 0)
    assert helm.HelmRunner(rec, binary=runner.binary).version() == (3, 22, 0)
    assert len(rec.calls) == 1
    assert rec.calls[0][0] == [runner.binary, "version", "--short"]


@pytest.mark.parametrize("version, atomic, force, wait", [
    ("v3.22.0", "--atomic", "--force", "--wait"),
    ("v4.3.1", "--rollback-on-failure", "--force-replace", "--wait=watcher"),
])
def test_flag_gates(version, atomic, force, wait):
    runner = runner_for(Recorder({"version": version_answer(version)}))
    assert runner.flag("atomic") == atomic
    assert runner.flag("force") == force
    assert runner.flag("wait") == wait


def test_removed_and_minimum_flags():
    v3 = runner_for(Recorder({"version": version_answer("v3.4.0")}))
    assert not v3.supports("--wait-for-jobs")
    with pytest.raises(helm.HelmError, match="--wait-for-jobs is not supported by helm 3.4.0"):
        v3.require("--wait-for-jobs")
    v4 = runner_for(Recorder({"version": version_answer("v4.3.1")}))
    assert v4.supports("--wait-for-jobs")
    assert not v4.supports("--recreate-pods")


def test_too_old_helm_is_refused():
    runner = runner_for(Recorder({"version": version_answer("v3.2.0")}))
    with pytest.raises(helm.HelmError, match="helm 3.2.0 is too old: 3.8.0 or newer is required"):
        runner.validate_version()


def test_failure_reports_rc_stdout_stderr_command():
    rec = Recorder({"status": (1, "partial", "Error: boom\n")})
    runner = helm.HelmRunner(rec, binary="helm", env={"KUBECONFIG": "/k"})
    with pytest.raises(helm.HelmError) as err:
        runner.run(["status", "rel"])
    result = err.value.to_result()
    assert result == dict(msg="helm status rel... failed (rc=1): Error: boom", rc=1, stdout="partial",
                          stderr="Error: boom\n", command=["helm", "status", "rel"])
    assert rec.calls[0][1] == {"KUBECONFIG": "/k"}


def test_arguments_are_argv_not_shell():
    rec = Recorder({"history": (0, "[]", "")})
    runner = runner_for(rec)
    runner.history("rel; rm -rf /", "ns with space")
    argv = rec.calls[0][0]
    assert "rel; rm -rf /" in argv and "ns with space" in argv


def test_auth_env():
    env = helm.auth_env(dict(kubeconfig="/kc", context="ctx", host="https://h:6443", api_key="tok",
                             ca_cert="/ca", validate_certs=False))
    assert env == {"KUBECONFIG": "/kc", "HELM_KUBECONTEXT": "ctx", "HELM_KUBEAPISERVER": "https://h:6443",
                   "HELM_KUBETOKEN": "tok", "HELM_KUBECAFILE": "/ca", "HELM_KUBEINSECURE_SKIP_TLS_VERIFY": "true"}
    assert helm.auth_env(dict(validate_certs=True)) == {}


def test_auth_spec_hides_the_token():
    assert helm.HELM_AUTH_ARG_SPEC["api_key"]["no_log"] is True


# --- history --------------------------------------------------------------------

def test_history_sorted_and_missing_release():
    rows = history((2, "deployed", "Upgrade complete"), (1, "superseded", "Install complete"))
    runner = runner_for(Recorder({"history": (0, json.dumps(rows), "")}))
    assert [e["revision"] for e in runner.history("r", "n")] == [1, 2]
    missing = runner_for(Recorder({"history": (1, "", "Error: release: not found\n")}))
    assert missing.history("r", "n") == []


def test_history_other_errors_raise():
    runner = runner_for(Recorder({"history": (1, "", "Error: Kubernetes cluster unreachable\n")}))
    with pytest.raises(helm.HelmError, match="cluster unreachable") as err:
        runner.history("r", "n")
    assert err.value.rc == 1


# --- the rollback plan -------------------------------------------------------------

def test_plan_previous_when_latest_is_deployed():
    plan = helm.plan_rollback(history((1, "superseded", "Install complete"), (2, "superseded", "Upgrade complete"),
                                      (3, "deployed", "Upgrade complete")))
    assert (plan.changed, plan.current, plan.target) == (True, 3, 2)


def test_plan_skips_failed_revisions():
    plan = helm.plan_rollback(history((1, "superseded", ""), (2, "failed", ""), (3, "deployed", "")))
    assert plan.target == 1


@pytest.mark.parametrize("stuck", ["pending-upgrade", "pending-rollback", "failed"])
def test_plan_unlocks_stuck_release_to_the_deployed_revision(stuck):
    plan = helm.plan_rollback(history((1, "superseded", ""), (2, "deployed", ""), (3, stuck, "")))
    assert (plan.changed, plan.target, plan.current_status) == (True, 2, stuck)
    assert stuck in plan.reason


def test_plan_pending_install_has_nothing_to_return_to():
    with pytest.raises(helm.HelmError, match="no deployed revision to roll back to; uninstall it instead"):
        helm.plan_rollback(history((1, "pending-install", "Initial install underway")))


def test_plan_only_one_good_revision():
    with pytest.raises(helm.HelmError, match="nothing older"):
        helm.plan_rollback(history((1, "deployed", "Install complete")))


def test_plan_missing_release_and_revision():
    with pytest.raises(helm.HelmError, match="release not found"):
        helm.plan_rollback([])
    with pytest.raises(helm.HelmError, match=r"revision 9 not found; the release has revisions 1, 2"):
        helm.plan_rollback(history((1, "superseded", ""), (2, "deployed", "")), revision=9)


def test_plan_explicit_revision_is_idempotent():
    rows = history((1, "superseded", ""), (2, "superseded", ""), (3, "deployed", "Rollback to 1"))
    assert helm.plan_rollback(rows, revision=1).changed is False
    assert helm.plan_rollback(rows, revision=2).changed is True
    assert helm.plan_rollback(rows, revision=3).changed is False


def test_plan_revision_zero_means_previous():
    rows = history((1, "superseded", ""), (2, "deployed", ""))
    assert helm.plan_rollback(rows, revision=0).target == 1


# --- command building and the whole run ------------------------------------------

PARAMS = dict(release_name="agent-service", release_namespace="dev", revision=None, wait=True, wait_for_jobs=True,
              timeout="2m0s", force=True, cleanup_on_fail=True, disable_hook=True, history_max=5)


@pytest.mark.parametrize("version, wait, force", [("v3.22.0", "--wait", "--force"),
                                                  ("v4.3.1", "--wait=watcher", "--force-replace")])
def test_rollback_args_per_version(version, wait, force):
    runner = runner_for(Recorder({"version": version_answer(version)}))
    args = helm.rollback_args(runner, "agent-service", "dev", 4, PARAMS)
    assert args == ["rollback", "agent-service", "4", "--namespace", "dev", wait, "--wait-for-jobs",
                    "--timeout", "2m0s", force, "--cleanup-on-fail", "--no-hooks", "--history-max", "5"]


def _stateful_helm(rows_before, rows_after, rollback_rc=0):
    state = {"rolled": False}

    def answer_history(argv):
        return 0, json.dumps(rows_after if state["rolled"] else rows_before), ""

    def answer_rollback(argv):
        state["rolled"] = True
        return rollback_rc, "Rollback was a success! Happy Helming!\n", ""

    return Recorder({"version": version_answer("v3.22.0"), "history": answer_history, "rollback": answer_rollback})


def test_run_rollback_check_mode_runs_nothing():
    before = history((1, "superseded", ""), (2, "deployed", ""))
    rec = _stateful_helm(before, before)
    result = helm.run_rollback(runner_for(rec), dict(PARAMS, force=False, history_max=None), check_mode=True)
    assert result["changed"] is True
    assert result["command"][1:4] == ["rollback", "agent-service", "1"]
    assert result["stdout"] == "" and result["revision"] == 2
    assert [c[0][1] for c in rec.calls] == ["version", "history"]


def test_run_rollback_reports_new_revision():
    before = history((1, "superseded", ""), (2, "deployed", ""))
    after = history((1, "superseded", ""), (2, "superseded", ""), (3, "deployed", "Rollback to 1"))
    result = helm.run_rollback(runner_for(_stateful_helm(before, after)), dict(PARAMS, revision=None))
    assert (result["changed"], result["rolled_back_from"], result["rolled_back_to"]) == (True, 2, 1)
    assert (result["revision"], result["status"]) == (3, "deployed")
    assert "Happy Helming" in result["stdout"]


def test_run_rollback_not_deployed_afterwards_fails():
    before = history((1, "superseded", ""), (2, "deployed", ""))
    after = history((1, "superseded", ""), (2, "superseded", ""), (3, "failed", "Rollback \"x\" failed"))
    with pytest.raises(helm.HelmError, match="revision 3 is failed"):
        helm.run_rollback(runner_for(_stateful_helm(before, after)), PARAMS)


def test_run_rollback_helm_error_propagates():
    before = history((1, "superseded", ""), (2, "deployed", ""))
    with pytest.raises(helm.HelmError) as err:
        helm.run_rollback(runner_for(_stateful_helm(before, before, rollback_rc=1)), PARAMS)
    assert err.value.command[1] == "rollback" and err.value.rc == 1


# --- real binaries ------------------------------------------------------------------

def _real(name):
    path = BIN_DIR / name
    return str(path) if path.exists() else shutil.which(name)


def _subprocess_run(argv, cwd=None, environ_update=None, data=None):
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, **(environ_update or {})),
                          check=False, cwd=cwd, input=data)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("name, major", [("helm", 3), ("helm4", 4)])
def test_real_helm_version_and_flags(name, major):
    binary = _real(name)
    assert binary, f"{name} is not built: run `make gotools`"
    runner = helm.HelmRunner(_subprocess_run, binary=binary)
    assert runner.validate_version()[0] == major
    assert runner.flag("atomic") == ("--atomic" if major == 3 else "--rollback-on-failure")
    # each gated spelling is a flag the real binary accepts
    _rc, out, _err = runner.run(["upgrade", "--help"])
    assert runner.flag("atomic") in out
    _rc, out, _err = runner.run(["rollback", "--help"])
    assert runner.flag("force") + " " in out or runner.flag("force") + "\n" in out


# --- a stuck revision marked failed (helm_storage.py) --------------------------------

from ansible_collections.agent_service.platform.plugins.module_utils import helm_storage  # noqa: E402


def _helm_field(release):
    """A `release` field as helm writes it (json -> gzip -> base64), built independently of the codec."""
    import base64
    import gzip
    return base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()


RELEASE = {"name": "agent-service", "version": 5, "namespace": "prod",
           "info": {"status": "pending-upgrade", "description": "Preparing upgrade", "first_deployed": "x"},
           "config": {"image": {"tag": "3.0.0"}}, "manifest": "---\nkind: Service\n"}


class FakeStore:
    def __init__(self, records):
        self.records = dict(records)
        self.puts = []

    def get(self, name):
        return self.records[name], "41"

    def put(self, name, field, resource_version, labels):
        self.puts.append((name, resource_version, labels))
        self.records[name] = field


def test_record_name_is_helms():
    assert helm_storage.record_name("agent-service", "5") == "sh.helm.release.v1.agent-service.v5"


def test_decode_reads_what_helm_writes_and_encode_round_trips():
    decoded = helm_storage.decode_release(_helm_field(RELEASE))
    assert decoded == RELEASE
    assert helm_storage.decode_release(helm_storage.encode_release(decoded)) == RELEASE


def test_decode_accepts_an_uncompressed_record():
    import base64
    plain = base64.b64encode(json.dumps(RELEASE).encode()).decode()
    assert helm_storage.decode_release(plain)["version"] == 5


@pytest.mark.parametrize("field, message", [
    ("not base64!", "not base64"),
    ("H4sIAAAA", "not valid gzip"),
    ("e30=", "no 'info' section"),                # {}
    ("bm90IGpzb24=", "not JSON"),                 # "not json"
])
def test_decode_rejects_damaged_records(field, message):
    with pytest.raises(helm.HelmError, match=message):
        helm_storage.decode_release(field)


def test_mark_failed_changes_only_status_and_description():
    marked = helm_storage.mark_failed(RELEASE, "stuck")
    assert marked["info"] == dict(RELEASE["info"], status="failed", description="stuck")
    assert {k: v for k, v in marked.items() if k != "info"} == {k: v for k, v in RELEASE.items() if k != "info"}
    assert RELEASE["info"]["status"] == "pending-upgrade"  # the input is not modified


@pytest.mark.parametrize("status", ["deployed", "superseded", "failed", "uninstalled"])
def test_mark_failed_leaves_revisions_that_are_not_pending(status):
    with pytest.raises(helm.HelmError, match=f"is {status}, not pending"):
        helm_storage.mark_failed(dict(RELEASE, info={"status": status}), "x")


def test_mark_stuck_revision_writes_back_with_the_resource_version():
    name = "sh.helm.release.v1.agent-service.v5"
    store = FakeStore({name: _helm_field(RELEASE)})
    done = helm_storage.mark_stuck_revision(store, "agent-service", 5, "stuck")
    assert done == dict(revision=5, record=name, status_before="pending-upgrade", status="failed", description="stuck")
    assert store.puts == [(name, "41", {"status": "failed"})]
    assert helm_storage.decode_release(store.records[name])["info"]["status"] == "failed"


def test_unsupported_storage_driver_is_refused():
    with pytest.raises(helm.HelmError, match="driver 'sql' is not supported"):
        helm_storage.KubernetesRecordStore(None, "prod", driver="sql")


def test_run_rollback_marks_the_stuck_revision_after_the_rollback():
    before = history((1, "superseded", ""), (2, "deployed", ""), (3, "pending-upgrade", "Preparing upgrade"))
    after = history((1, "superseded", ""), (2, "superseded", ""), (3, "pending-upgrade", ""), (4, "deployed", ""))
    calls = []

    def mark(revision, reason):
        calls.append((revision, reason))
        return {"revision": revision}

    result = helm.run_rollback(runner_for(_stateful_helm(before, after)), dict(PARAMS, revision=None), mark_stuck=mark)
    assert result["marked_failed"] == {"revision": 3}
    assert calls[0][0] == 3 and "rollback to 2 (revision 4)" in calls[0][1]


def test_run_rollback_marks_nothing_after_an_ordinary_rollback_or_in_check_mode():
    calls = []
    ordinary = history((1, "superseded", ""), (2, "deployed", ""))
    after = history((1, "superseded", ""), (2, "superseded", ""), (3, "deployed", "Rollback to 1"))
    result = helm.run_rollback(runner_for(_stateful_helm(ordinary, after)), dict(PARAMS, revision=None),
                               mark_stuck=lambda *a: calls.append(a))
    stuck = history((1, "deployed", ""), (2, "pending-upgrade", ""))
    checked = helm.run_rollback(runner_for(_stateful_helm(stuck, stuck)), dict(PARAMS, revision=None),
                                check_mode=True, mark_stuck=lambda *a: calls.append(a))
    assert calls == [] and result["marked_failed"] == {} and checked["marked_failed"] == {}


def test_private_values_are_the_last_layer_and_gone_after(tmp_path):
    params = {"values_files": ["/chart/values-dev.yaml"], "values_text": '{"secrets": {"postgresPassword": "pw"}}'}
    with helm.private_values(params) as inner:
        *kept, path = inner["values_files"]
        assert kept == ["/chart/values-dev.yaml"]
        assert open(path, encoding="utf-8").read() == params["values_text"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not os.path.exists(path)
    assert params["values_files"] == ["/chart/values-dev.yaml"]  # the caller's params are left alone
    plain = {"values_files": ["/a.yaml"], "values_text": None}
    with helm.private_values(plain) as inner:
        assert inner is plain


def test_private_values_are_removed_when_the_block_fails():
    with pytest.raises(RuntimeError), helm.private_values({"values_text": "a: 1"}) as inner:
        path = inner["values_files"][0]
        raise RuntimeError("helm failed")
    assert not os.path.exists(path)
