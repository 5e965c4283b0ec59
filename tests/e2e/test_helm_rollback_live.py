"""helm_rollback against a real API server (the test bed, or the cluster KUBECONFIG names).

A tiny chart of our own (a ConfigMap, plus a Deployment that can be made to never get
ready) is installed with the real helm; the module runs as Ansible runs it (a subprocess
fed a JSON args file) for both Helm 3 and Helm 4.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from live_modules import KUBECONFIG, helm_bin, run, run_module


def configmap_generation(namespace, name="probe"):
    proc = run(["kubectl", "-n", namespace, "get", "configmap", name, "-o", "jsonpath={.data.generation}"])
    return proc.stdout


def history(helm, namespace, name="probe"):
    return json.loads(run([helm, "history", name, "-n", namespace, "-o", "json"]).stdout)


@pytest.mark.parametrize("helm_name", ["helm", "helm4"])
def test_rollback_to_last_deployed_then_to_a_given_revision(helm_name, namespace, chart, tmp_path):
    helm = helm_bin(helm_name)
    for gen in ("one", "two", "three"):
        proc = run([helm, "upgrade", "--install", "probe", str(chart), "-n", namespace, "--set", f"generation={gen}"])
        assert proc.returncode == 0, proc.stderr
    assert configmap_generation(namespace) == "three"

    plan = run_module("helm_rollback", tmp_path, name="probe", namespace=namespace, binary_path=helm,
                      _ansible_check_mode=True)
    assert plan["changed"] and plan["rolled_back_to"] == 2 and plan["revision"] == 3
    assert configmap_generation(namespace) == "three" and len(history(helm, namespace)) == 3

    result = run_module("helm_rollback", tmp_path, name="probe", namespace=namespace, binary_path=helm, timeout="60s")
    assert result["changed"] and (result["rolled_back_from"], result["rolled_back_to"]) == (3, 2)
    assert (result["revision"], result["status"]) == (4, "deployed")
    assert configmap_generation(namespace) == "two"

    result = run_module("helm_rollback", tmp_path, name="probe", namespace=namespace, binary_path=helm, revision=1)
    assert result["changed"] and result["revision"] == 5 and configmap_generation(namespace) == "one"
    again = run_module("helm_rollback", tmp_path, name="probe", namespace=namespace, binary_path=helm, revision=1)
    assert again["changed"] is False and len(history(helm, namespace)) == 5


def test_pending_upgrade_left_by_a_killed_helm_is_recovered(namespace, chart, tmp_path):
    helm = helm_bin("helm")
    assert run([helm, "install", "probe", str(chart), "-n", namespace, "--set", "generation=good"]).returncode == 0
    env = dict(os.environ, KUBECONFIG=KUBECONFIG)
    stuck = subprocess.Popen([helm, "upgrade", "probe", str(chart), "-n", namespace, "--set", "generation=bad",
                              "--set", "stuck=true", "--wait", "--timeout", "5m"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and history(helm, namespace)[-1]["status"] != "pending-upgrade":
        time.sleep(0.5)
    time.sleep(1)
    stuck.send_signal(signal.SIGKILL)
    stuck.wait()
    assert history(helm, namespace)[-1]["status"] == "pending-upgrade"
    blocked = run([helm, "upgrade", "probe", str(chart), "-n", namespace, "--set", "generation=next"])
    assert blocked.returncode != 0 and "another operation" in blocked.stderr

    result = run_module("helm_rollback", tmp_path, name="probe", namespace=namespace, binary_path=helm, timeout="90s")
    assert result["plan"]["current_status"] == "pending-upgrade" and result["rolled_back_to"] == 1
    assert result["status"] == "deployed" and configmap_generation(namespace) == "good"
    # the stuck revision is marked failed in helm's own record: no pending revision is left
    assert result["marked_failed"]["revision"] == 2 and result["marked_failed"]["status_before"] == "pending-upgrade"
    assert [(e["revision"], e["status"]) for e in history(helm, namespace)] == [
        (1, "superseded"), (2, "failed"), (3, "deployed")]
    assert "marked failed after the rollback to 1" in history(helm, namespace)[1]["description"]
    label = run(["kubectl", "-n", namespace, "get", "secret", "sh.helm.release.v1.probe.v2",
                 "-o", "jsonpath={.metadata.labels.status}"])
    assert label.stdout == "failed", label.stderr
    assert run([helm, "upgrade", "probe", str(chart), "-n", namespace, "--set", "generation=next"]).returncode == 0
    assert [e["status"] for e in history(helm, namespace)][-2:] == ["superseded", "deployed"]


def test_unknown_release_on_a_real_cluster(namespace, tmp_path):
    result = run_module("helm_rollback", tmp_path, name="nothing-here", namespace=namespace,
                        binary_path=helm_bin("helm"))
    assert result["failed"] and "release not found" in result["msg"]
