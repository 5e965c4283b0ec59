"""Faults that stop a deploy before its upgrade: PostgreSQL down at backup time, a backup
directory that is full or read-only, and the deployer's credentials revoked mid-run. Each run
must fail with its cause in one line, leave the release deployed at the same revision (nothing
pending), and lose no invocation."""
from __future__ import annotations

import contextlib
import json
import subprocess
import time

import pytest
from conftest import (
    BASE_VERSION,
    KUBECONFIG,
    NS,
    RELEASE,
    WORK,
    assert_invocations_kept,
    failure_message,
    helm_history,
    helm_status,
    invocation_ids,
    kill_session,
    kubectl,
    run_playbook,
    sh,
    start_playbook,
    template_change,
    wait_ready,
    wait_rollout,
)


def _change(label):
    """A deploy of the baseline version with a changed pod template: something to release."""
    return {"release_version": BASE_VERSION, "release_analysis_enabled": False,
            "release_extra_values": template_change(label)}


def _assert_stopped_before_upgrade(run, history, ids):
    """The run failed; the release is deployed at the revision it had, nothing pending, no id lost."""
    assert run.rc != 0, f"{run}\n{run.tail()}"
    assert helm_history() == history, f"the helm history changed: {history[-1]} -> {helm_history()[-1]}"
    assert helm_status() == "deployed"
    return assert_invocations_kept(ids)


def _data_check(history, ids):
    return (f"helm history identical (r{history[-1]['revision']} deployed, nothing pending); the {len(ids)} "
            "ids before kept with their statuses")


def test_postgresql_down_at_backup_time(baseline, record):
    record(fault="the PostgreSQL StatefulSet scaled to 0 before a deploy, so the backup cannot reach the database",
           expected="the run fails in the backup stage, before the upgrade, saying why; nothing changes")
    history, ids = helm_history(), invocation_ids()
    sts = f"statefulset/{RELEASE}-postgresql"
    kubectl("scale", sts, "-n", NS, "--replicas=0")
    try:
        kubectl("wait", "--for=delete", "pod", f"{RELEASE}-postgresql-0", "-n", NS, "--timeout=120s", timeout=150)
        run = run_playbook("pg-down", _change("pg-down"))
        message = failure_message(run)
    finally:
        kubectl("scale", sts, "-n", NS, "--replicas=1")
        wait_rollout(sts)
        wait_ready()
    assert "Backup |" in run.out and "Upgrade |" not in run.out, run.tail()
    assert "backup" in message.lower() and ("connect" in message.lower() or "postgresql" in message.lower()), message
    _assert_stopped_before_upgrade(run, history, ids)
    record(observed=f"rc {run.rc} in {run.seconds:.0f}s: {message[:200]}", data_check=_data_check(history, ids))


@contextlib.contextmanager
def _mounted_tmpfs(name, options):
    """A tmpfs at WORK/<name> with `options` (root ignores file modes; a mount does not)."""
    path = WORK / name
    path.mkdir(parents=True, exist_ok=True)
    sh(["mount", "-t", "tmpfs", "-o", options, f"faults-{name}", str(path)])
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


@pytest.mark.parametrize(("case", "options", "cause"), [
    ("full", "size=256k,mode=0700", "No space left on device"),
    ("read-only", "ro,size=1m,mode=0700", "Read-only file system"),
])
def test_backup_directory_unusable(baseline, record, case, options, cause):
    record(fault=f"the backup directory is {case} (a tmpfs mounted {options})",
           expected="the run fails before the upgrade, naming the directory and the cause; nothing changes")
    history, ids = helm_history(), invocation_ids()
    with _mounted_tmpfs(f"backups-{case}", options) as path:
        if case == "full":  # every block taken
            subprocess.run(["dd", "if=/dev/zero", f"of={path / 'filler'}", "bs=4k"], capture_output=True, check=False)
        run = run_playbook(f"backup-{case}", {**_change(f"backup-{case}"), "release_backup_dir": str(path)})
        message = failure_message(run)
    assert "Upgrade |" not in run.out, run.tail()
    assert cause.lower() in message.lower() and str(path) in message, message
    _assert_stopped_before_upgrade(run, history, ids)
    record(observed=f"rc {run.rc} in {run.seconds:.0f}s: {message[:200]}", data_check=_data_check(history, ids))


DEPLOYER = "faults-deployer"


@pytest.fixture
def deployer():
    """A ServiceAccount bound to cluster-admin, and a kubeconfig with its token: the deployer's
    credentials. Yields (kubeconfig, revoke); revoking deletes the binding."""
    binding = f"{NS}-{DEPLOYER}"
    kubectl("create", "serviceaccount", DEPLOYER, "-n", NS)
    kubectl("create", "clusterrolebinding", binding, "--clusterrole=cluster-admin",
            f"--serviceaccount={NS}:{DEPLOYER}")
    token = kubectl("create", "token", DEPLOYER, "-n", NS, "--duration=1h").stdout.strip()
    config = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
    config["users"] = [{"name": DEPLOYER, "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = DEPLOYER
    path = WORK / "deployer.kubeconfig"
    path.write_text(json.dumps(config))
    path.chmod(0o600)

    def revoke():
        kubectl("delete", "clusterrolebinding", binding)

    yield str(path), revoke
    kubectl("delete", "clusterrolebinding", binding, "--ignore-not-found")
    kubectl("delete", "serviceaccount", DEPLOYER, "-n", NS, "--ignore-not-found")


def test_credentials_revoked_mid_run(baseline, deployer, record):
    record(fault="the deployer's RBAC binding deleted once its run reaches the backup stage",
           expected="the run stops with the cause (forbidden) and the release is not left pending; nothing changes")
    kubeconfig, revoke = deployer
    history, ids = helm_history(), invocation_ids()
    proc = start_playbook("revoked", {**_change("revoked"), "release_kubeconfig": kubeconfig})
    log, revoked = WORK / "revoked.log", None
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline and revoked is None:
            if "Backup |" in log.read_text(errors="replace"):
                revoke()
                revoked = helm_status()
            time.sleep(0.1)
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            kill_session(proc)
        proc.log.close()
    out = log.read_text(errors="replace")
    assert revoked is not None, f"the run never reached the backup stage: {out[-3000:]}"
    message = failure_message(out)
    assert proc.returncode != 0 and message, out[-3000:]
    assert "forbidden" in message.lower() and DEPLOYER in message, message
    assert helm_history() == history, f"the helm history changed: {history[-1]} -> {helm_history()[-1]}"
    assert helm_status() == "deployed"
    assert_invocations_kept(ids)
    assert KUBECONFIG not in out
    record(observed=f"revoked while the release was {revoked}; rc {proc.returncode}: {message[:240]}",
           data_check=_data_check(history, ids))
