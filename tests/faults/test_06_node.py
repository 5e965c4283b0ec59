"""Faults of the test bed's node: one component killed and restarted while a release runs, and
the whole node rebooted between two releases. They stop what every namespace on the cluster
uses, so `make test` runs them alone, after its other lanes (marker `node`, FAULTS_PART=node)."""
from __future__ import annotations

import time

import pytest
from conftest import (
    BASE_VERSION,
    RELEASE,
    WORK,
    _latest_report,
    assert_history_consistent,
    assert_invocations_kept,
    helm_history,
    helm_status,
    helm_values,
    invocation_ids,
    invoke,
    kill_session,
    reboot_node,
    restart_component,
    run_playbook,
    start_playbook,
    start_until_pending,
    template_change,
    wait_invocations,
    wait_ready,
    wait_rollout,
)

pytestmark = pytest.mark.node


def _serves_with_nothing_lost(ids_before):
    """The release answers /ready and runs a new invocation; every id of before is kept with its status."""
    wait_ready()
    new_id = invoke("calculator", "6 * 7", wait=20)["id"]
    done = wait_invocations([new_id])
    assert [r["status"] for r in done.values()] == ["succeeded"], done
    return assert_invocations_kept(ids_before)


def _finish(proc, timeout=900):
    try:
        rc = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            kill_session(proc)
        proc.log.close()
    return rc, _latest_report()


@pytest.mark.parametrize("component", ["kubelet", "kube-apiserver", "containerd"])
def test_restart_during_rollout(baseline, record, component):
    record(fault=f"SIGKILL + restart of the test bed's {component} while helm waits for the rolling update",
           expected="the rollout completes and the deploy succeeds; history consistent, nothing lost")
    ids = invocation_ids()
    rev0 = assert_history_consistent()[-1]["revision"]
    label = f"restart-{component}"
    proc = start_until_pending(label, {"release_analysis_enabled": False})
    try:
        time.sleep(3)
        at_kill = helm_status()
        seconds = restart_component(component)
    except BaseException:
        kill_session(proc)
        proc.log.close()
        raise
    rc, report = _finish(proc)
    assert at_kill == "pending-upgrade", f"the release was {at_kill} when {component} was killed"
    assert rc == 0 and report and report["verdict"] == "succeeded", \
        (rc, report, (WORK / f"{label}.log").read_text()[-3000:])
    hist = assert_history_consistent()
    assert hist[-1]["revision"] == rev0 + 1, [h["revision"] for h in hist]
    assert helm_values()["api"]["podAnnotations"]["faults/run"] == label
    after = _serves_with_nothing_lost(ids)
    record(observed=f"{at_kill} when killed; {component} serving again and node Ready in {seconds:.1f}s; deploy "
                    f"{report['verdict']} (r{rev0}->r{hist[-1]['revision']})",
           data_check=f"the {len(ids)} ids before kept with their statuses (+{len(after) - len(ids)} new); history "
                      "consecutive, last deployed, no pending")


def test_etcd_restart_during_analysis(baseline, record):
    record(fault="SIGKILL + restart of the test bed's etcd while the analysis stage measures the new version",
           expected="the analysis goes on and passes; the deploy succeeds; nothing lost")
    ids = invocation_ids()
    rev0 = assert_history_consistent()[-1]["revision"]
    proc = start_playbook("etcd-analysis", {"release_version": BASE_VERSION,
                                            "release_extra_values": template_change("etcd-analysis")})
    log, seconds = WORK / "etcd-analysis.log", None
    try:
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline and seconds is None:
            if "Analysis |" in log.read_text(errors="replace"):
                time.sleep(5)  # inside the window: the first measurement is on its way
                seconds = restart_component("etcd")
            time.sleep(0.5)
    except BaseException:
        kill_session(proc)
        proc.log.close()
        raise
    rc, report = _finish(proc)
    assert seconds is not None, f"the playbook never reached the analysis stage: {log.read_text()[-3000:]}"
    assert rc == 0 and report and report["verdict"] == "succeeded", (rc, report, log.read_text()[-3000:])
    assert report["analysis"]["passed"], report["analysis"]
    hist = assert_history_consistent()
    assert hist[-1]["revision"] == rev0 + 1, [h["revision"] for h in hist]
    after = _serves_with_nothing_lost(ids)
    record(observed=f"etcd serving again in {seconds:.1f}s during the analysis; verdict {report['verdict']}, "
                    f"analysis passed ({len(report['analysis'].get('measurements') or [])} measurements)",
           data_check=f"the {len(ids)} ids before kept with their statuses (+{len(after) - len(ids)} new); history "
                      f"r{rev0}->r{hist[-1]['revision']}, last deployed, no pending")


def test_node_reboot_between_two_releases(baseline, record):
    record(fault="the test bed's node rebooted (every component and pod stopped, then started) between two "
                 "releases of the same inputs",
           expected="everything comes back; the second deploy is a no-op (no revision, no report, changed=0)")
    inputs = {"release_version": BASE_VERSION, "release_analysis_enabled": False,
              "release_extra_values": template_change("reboot")}  # the same for both runs
    first = run_playbook("before-reboot", inputs)
    assert first.rc == 0 and first.verdict == "succeeded", f"{first}\n{first.tail()}"
    history = helm_history()
    ids = invocation_ids()
    seconds = reboot_node()
    for workload in ("deployment/" + RELEASE + "-api", "deployment/" + RELEASE + "-worker",
                     "statefulset/" + RELEASE + "-postgresql", "statefulset/" + RELEASE + "-redis"):
        wait_rollout(workload, timeout=300)
    wait_ready(timeout=300)
    assert invocation_ids() == ids, "the invocation rows changed across the reboot"
    second = run_playbook("after-reboot", inputs)
    assert second.rc == 0, f"{second}\n{second.tail()}"
    assert "nothing released" in second.out, second.tail()
    assert second.report is None, second.report
    recap = [ln for ln in second.out.splitlines() if "changed=" in ln and "ok=" in ln]
    assert recap and all(" changed=0 " in f" {ln} " for ln in recap), recap
    assert helm_history() == history, "the no-op deploy changed the helm history"
    after = _serves_with_nothing_lost(ids)
    record(observed=f"node back with every pod Ready in {seconds:.0f}s (+ rollouts); second deploy: "
                    f"nothing released, changed=0, {second.seconds:.0f}s",
           data_check=f"the {len(ids)} ids identical across the reboot; history r{history[0]['revision']}.."
                      f"r{history[-1]['revision']} unchanged; +{len(after) - len(ids)} new id after")
