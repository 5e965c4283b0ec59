"""The test bed's kubelet killed and restarted while the deploy playbook waits for a rollout."""
from __future__ import annotations

import time

from conftest import (
    BASE_VERSION,
    assert_history_consistent,
    count_rows,
    helm_values,
    invoke,
    kill_session,
    restart_kubelet,
    start_playbook,
    wait_for_helm_status,
    wait_invocations,
    wait_ready,
)


def test_kubelet_restart_during_rollout(baseline, record):
    record(fault="SIGKILL + restart of the test bed's kubelet while helm waits for the rolling update",
           expected="the rollout completes, deploy succeeds; history consistent, rows kept")
    rows0 = count_rows()
    rev0 = assert_history_consistent()[-1]["revision"]
    proc = start_playbook("kubelet", {"release_version": BASE_VERSION, "release_analysis_enabled": False,
                                      "release_extra_values": {"config": {"logLevel": "WARNING"}}})
    try:
        wait_for_helm_status(proc, "pending-upgrade")
        time.sleep(3)
        kubelet_s = restart_kubelet()
        proc.wait(timeout=900)
    finally:
        if proc.poll() is None:
            kill_session(proc)
        proc.log.close()
    from conftest import _latest_report
    report = _latest_report()
    assert proc.returncode == 0 and report and report["verdict"] == "succeeded", (proc.returncode, report)
    hist = assert_history_consistent()
    assert hist[-1]["revision"] == rev0 + 1, [h["revision"] for h in hist]
    assert helm_values()["config"]["logLevel"] == "WARNING"
    wait_ready()
    done = wait_invocations([invoke("calculator", "6 * 7", wait=20)["id"]])
    assert [r["status"] for r in done.values()] == ["succeeded"], done
    rows = count_rows()
    assert rows >= rows0
    record(observed=f"kubelet back and node Ready in {kubelet_s:.0f}s; deploy {report['verdict']} "
                    f"(r{rev0}->r{hist[-1]['revision']})",
           data_check=f"rows {rows0}->{rows}; history consecutive, last deployed, no pending")
