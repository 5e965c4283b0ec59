"""release_status and helm_diff against a real API server, with the real helm and helm-diff.

The tiny chart of conftest.py is installed with helm; the modules run as Ansible runs them.
"""
from __future__ import annotations

import pytest
from live_modules import ROOT, helm_bin, run, run_module


def install(namespace, chart, generation):
    proc = run([helm_bin("helm"), "upgrade", "--install", "probe", str(chart), "-n", namespace,
                "--set-string", f"generation={generation}"])
    assert proc.returncode == 0, proc.stderr


def values_file(tmp_path, text):
    path = tmp_path / f"values-{abs(hash(text))}.yaml"
    path.write_text(text)
    return str(path)


def test_status_of_an_absent_then_installed_release(namespace, chart, tmp_path):
    helm = helm_bin("helm")
    absent = run_module("release_status", tmp_path, name="probe", namespace=namespace, binary_path=helm,
                        chart_ref=str(chart), require_diff_plugin=True, list_releases=True, traffic_group=True)
    assert not absent.get("failed"), absent
    assert (absent["exists"], absent["revision"], absent["status"], absent["pending"]) == (False, None, "", False)
    assert absent["fullname"] == "probe-rollback-probe" and absent["releases"] == [] and absent["traffic_group"] == ""
    assert absent["helm_version"].startswith("3.") and absent["helm_diff_version"]
    assert absent["changed"] is False

    install(namespace, chart, "one")
    install(namespace, chart, "two")
    found = run_module("release_status", tmp_path, name="probe", namespace=namespace, binary_path=helm,
                       chart_ref=str(chart), fullname_override="custom", list_releases=True)
    expected = run([helm, "history", "probe", "-n", namespace, "--max", "1", "-o", "json"]).stdout
    assert (found["exists"], found["revision"], found["status"]) == (True, 2, "deployed")
    assert f'"revision":{found["revision"]}' in expected.replace(" ", "")
    assert found["chart"] == "rollback-probe-0.1.0" and found["fullname"] == "custom"
    assert found["releases"] == ["probe"]


def test_diff_decides_and_bad_values_change_nothing(namespace, chart, tmp_path):
    helm = helm_bin("helm")
    install(namespace, chart, "one")
    common = dict(name="probe", namespace=namespace, binary_path=helm, chart_ref=str(chart), kube_version="1.34.0",
                  status="deployed")

    same = run_module("helm_diff", tmp_path, values_files=[values_file(tmp_path, "generation: one\n")], **common)
    assert not same.get("failed"), same
    assert (same["changed"], same["differs"], same["pending"], same["summary"]) == (False, False, False, [])

    other = run_module("helm_diff", tmp_path, values_files=[values_file(tmp_path, "generation: two\n")], **common)
    assert (other["changed"], other["differs"], other["pending"]) == (True, True, True)
    assert other["summary"] == [f"{namespace}, probe, ConfigMap (v1) has changed:"]
    assert '-   generation: one' in other["text"] and '+   generation: two' in other["text"]

    # without status the module reads it; without a diff the release is always pending
    read = run_module("helm_diff", tmp_path, values_files=[values_file(tmp_path, "generation: one\n")],
                      **dict(common, status=None, diff=False))
    assert (read["differs"], read["pending"], read["command"]) == (None, True, [])

    bad = run_module("helm_diff", tmp_path, values_files=[values_file(tmp_path, "generation: 3\n")], **common)
    assert bad["failed"] and "are invalid; nothing was changed on the cluster" in bad["msg"]
    assert "generation" in bad["msg"]
    history = run([helm, "history", "probe", "-n", namespace, "-o", "json"]).stdout
    assert history.count('"revision"') == 1
    data = run(["kubectl", "-n", namespace, "get", "configmap", "probe", "-o", "jsonpath={.data.generation}"]).stdout
    assert data == "one"


def test_a_drifted_live_object_is_a_change(namespace, chart, tmp_path):
    """The three-way diff compares with the live objects: a ConfigMap edited behind helm's back is a
    change for the same values, and a release left pending is one whatever the diff says."""
    install(namespace, chart, "one")
    common = dict(name="probe", namespace=namespace, binary_path=helm_bin("helm"), chart_ref=str(chart),
                  kube_version="1.34.0", values_text='{"generation": "one"}')
    assert run_module("helm_diff", tmp_path, status="deployed", **common)["pending"] is False
    patched = run(["kubectl", "-n", namespace, "patch", "configmap", "probe", "--type", "merge",
                   "-p", '{"data": {"generation": "edited-live"}}'])
    assert patched.returncode == 0, patched.stderr
    drifted = run_module("helm_diff", tmp_path, status="deployed", **common)
    assert (drifted["differs"], drifted["pending"], drifted["reason"]) == (True, True, "the diff shows changes")
    assert "-   generation: edited-live" in drifted["text"] and "+   generation: one" in drifted["text"]
    stuck = run_module("helm_diff", tmp_path, status="pending-upgrade",
                       **dict(common, values_text='{"generation": "edited-live"}'))
    assert (stuck["differs"], stuck["pending"], stuck["reason"]) == (False, True, "the release is pending-upgrade")


@pytest.mark.parametrize("module", ["release_status", "helm_diff"])
def test_bad_input_is_refused(module, namespace, tmp_path):
    result = run_module(module, tmp_path, namespace=namespace, binary_path=helm_bin("helm"))
    assert result["failed"] and "missing required arguments" in result["msg"] and "release_name" in result["msg"]


def test_unschedulable_release_fails_before_any_change(namespace, tmp_path):
    """The prod values on the test bed's nodes: the API's hard anti-affinity cannot place 3 replicas."""
    helm = helm_bin("helm")
    nodes = run(["kubectl", "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"]).stdout.split()
    assert nodes, "the test bed has no node"
    chart = ROOT / "helm" / "agent-service"
    common = dict(name="prod", namespace=namespace, binary_path=helm, chart_ref=str(chart), kube_version="1.34.0",
                  status="", diff=False)
    prod = [str(chart / "values-prod.yaml"),
            values_file(tmp_path, "externalDatabase: {host: db}\nexternalRedis: {host: redis}\n")]
    bad = run_module("helm_diff", tmp_path, values_files=prod, **common)
    assert bad.get("failed"), bad
    # one API pod per node: the rule, the replicas and the node count, before the upgrade could time out
    assert "cannot be scheduled on this cluster" in bad["msg"] and "nothing was changed" in bad["msg"]
    assert "Deployment prod-agent-service-api: required podAntiAffinity on kubernetes.io/hostname" in bad["msg"]
    assert f"it needs 3 for 3 replicas; the cluster has {len(nodes)} node" in bad["msg"]
    # nothing was created: no release, no object of the chart in the namespace
    assert run([helm, "list", "-n", namespace, "-q"]).stdout.strip() == ""
    left = run(["kubectl", "-n", namespace, "get", "all,configmap,secret,pdb,networkpolicy", "-o", "name"]).stdout
    assert "prod-agent-service" not in left

    soft = prod + [values_file(tmp_path, "api: {podAntiAffinityPreset: soft}\n")]
    good = run_module("helm_diff", tmp_path, values_files=soft, **common)
    assert not good.get("failed"), good
    assert good["schedule"]["nodes"] == len(nodes) and good["schedule"]["workloads"] >= 4
    off = run_module("helm_diff", tmp_path, values_files=prod, **dict(common, schedule_check=False))
    assert not off.get("failed") and off["schedule"] is None, off


def test_report_marker_and_its_retention(namespace, tmp_path):
    """release_report against the API server: the marker is created, the oldest beyond the retention go."""
    labels = {"app.kubernetes.io/component": "deploy-marker", "app.kubernetes.io/instance": "probe"}
    selector = "app.kubernetes.io/component=deploy-marker,app.kubernetes.io/instance=probe"
    work = tmp_path / ".work"
    written = []
    for i in range(3):
        work.mkdir(exist_ok=True)
        (work / "values.yaml").write_text("secrets: {postgresPassword: x}\n")
        result = run_module("release_report", tmp_path, base=str(tmp_path / "reports" / f"r{i}"),
                            report={"verdict": "succeeded", "i": i}, markdown=f"# {i}",
                            marker={"name": f"probe-deploy-{i}", "namespace": namespace, "labels": labels,
                                    "data": {"report.json": {"i": i}}, "selector": selector, "retention": 2},
                            work_dir=str(work))
        assert not result.get("failed"), result
        assert result["marker"] == f"probe-deploy-{i}" and result["work_dir_removed"] and not work.exists()
        written.append(result)
        # creationTimestamp has a one-second resolution: the next marker is strictly newer
        run(["sleep", "1.1"])
    assert [r["pruned"] for r in written] == [[], [], ["probe-deploy-0"]]
    names = run(["kubectl", "-n", namespace, "get", "configmap", "-l", selector, "-o",
                 "jsonpath={.items[*].metadata.name}"]).stdout.split()
    assert sorted(names) == ["probe-deploy-1", "probe-deploy-2"]
    data = run(["kubectl", "-n", namespace, "get", "configmap", "probe-deploy-2", "-o",
                "jsonpath={.data.report\\.json}"]).stdout
    assert data == '{"i": 2}'
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [f"r{i}.{ext}" for i in range(3)
                                                                        for ext in ("json", "md")]
