"""Faults in the release pipeline: each case runs playbooks/deploy.yml against the baseline
and checks the verdict, that the baseline serves afterwards, and that nothing is lost."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import (
    BAD_VERSION,
    BASE_VERSION,
    NS,
    RELEASE,
    WORK,
    assert_history_consistent,
    assert_invocations_kept,
    helm_status,
    helm_values,
    invocation_ids,
    invoke,
    kill_session,
    kubectl,
    run_playbook,
    start_playbook,
    start_until_pending,
    template_change,
    wait_invocations,
    wait_ready,
)


def _snapshot():
    """What must survive a failed release: the invocation ids and statuses, the schema version, the history."""
    return {"ids": invocation_ids(), "alembic": _alembic(), "revision": assert_history_consistent()[-1]["revision"]}


def _alembic():
    from conftest import psql
    return psql("SELECT version_num FROM alembic_version")


def _assert_old_serves(before):
    """The baseline version serves again (values, /ready, one invocation) and no row was lost."""
    hist = assert_history_consistent()
    assert helm_values().get("image", {}).get("tag") == BASE_VERSION, helm_values().get("image")
    wait_ready(timeout=120)
    assert _alembic() == before["alembic"]
    done = wait_invocations([invoke("calculator", "2 * 21", wait=20)["id"]])
    assert [r["status"] for r in done.values()] == ["succeeded"], done
    return hist, assert_invocations_kept(before["ids"])


def _data_check(before, hist, ids):
    return (f"the {len(before['ids'])} ids before kept with their statuses (+{len(ids) - len(before['ids'])} new: "
            f"smoke tests and the check's invocation); alembic {before['alembic']} kept; history "
            f"r{hist[0]['revision']}..r{hist[-1]['revision']} consecutive, last deployed, no pending")


def _assert_rolled_back(run, stage):
    assert run.report is not None, f"no report: {run}\n{run.tail()}"
    assert run.rc == 0, f"{run}\n{run.tail()}"
    assert run.verdict == "rolled_back", f"{run} failure={run.report.get('failure')}\n{run.tail()}"
    if stage:
        assert run.failure_stage == stage, f"{run} failure={run.report.get('failure')}"
    # the rollback's own smoke test proved the old revision serves
    last_smoke = (run.report.get("smoke") or [{}])[-1]
    assert (last_smoke.get("invocation") or {}).get("status") == "succeeded", last_smoke


def test_crashlooping_release(baseline, record):
    record(fault=f"v{BAD_VERSION} whose API container exits (api.args=[crashloop-on-purpose])",
           expected="upgrade fails (atomic, 90s), rolled back; the old revision serves")
    before = _snapshot()
    run = run_playbook("crashloop", {"release_version": BAD_VERSION, "release_timeout": "90s",
                                     "release_extra_values": {"api": {"args": ["crashloop-on-purpose"]}}})
    _assert_rolled_back(run, "upgrade")
    hist, ids = _assert_old_serves(before)
    record(observed=f"verdict {run.verdict} at stage {run.failure_stage}; playbook {run.seconds:.0f}s",
           data_check=_data_check(before, hist, ids))


def test_5xx_spike(baseline, record):
    record(fault=f"v{BAD_VERSION} Ready but config.faultErrorRate=0.5",
           expected="analysis fails (error rate > 5%), rolled back; the old revision serves")
    before = _snapshot()
    run = run_playbook("5xx-spike", {"release_version": BAD_VERSION,
                                     "release_extra_values": {"config": {"faultErrorRate": 0.5}}})
    _assert_rolled_back(run, "analysis")
    assert not run.report["analysis"]["passed"]
    hist, ids = _assert_old_serves(before)
    record(observed=f"verdict {run.verdict} at stage analysis; ready->restored "
                    f"{run.report.get('seconds_ready_to_restored')}s; playbook {run.seconds:.0f}s",
           data_check=_data_check(before, hist, ids))


def test_prometheus_down_during_analysis(baseline, record):
    record(fault="the host Prometheus stopped once the analysis stage starts",
           expected="analysis fails closed (no data), rolled back; the old revision serves")
    before = _snapshot()
    proc = start_playbook("prometheus-down", {"release_version": BAD_VERSION,
                                              "release_extra_values": {"config": {"logLevel": "INFO"}}})
    log = WORK / "prometheus-down.log"
    stopped = False
    try:
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if not stopped and "Analysis |" in log.read_text(errors="replace"):
                baseline.stop("prometheus")
                stopped = True
            time.sleep(1)
        assert proc.poll() is not None, "playbook did not finish in 600s"
    finally:
        if proc.poll() is None:
            kill_session(proc)
        proc.log.close()
        baseline.start_prometheus()
    assert stopped, "the playbook never reached the analysis stage"
    from conftest import _latest_report
    report = _latest_report()
    assert proc.returncode == 0 and report and report["verdict"] == "rolled_back", (proc.returncode, report)
    assert report["failure"]["stage"] == "analysis" and not report["analysis"]["passed"], report["analysis"]
    hist, ids = _assert_old_serves(before)
    record(observed=f"verdict {report['verdict']} at stage analysis (failed closed): "
                    f"{json.dumps(report['failure'])[:160]}",
           data_check=_data_check(before, hist, ids))


def test_failing_migration_hook(baseline, record):
    record(fault=f"v{BAD_VERSION} whose migration hook Job exits 127 (migration.args=[migrate-fails-on-purpose], "
                 "backoffLimit 0)",
           expected="pre-upgrade hook fails, upgrade rolled back atomically; old revision serves; DB intact")
    before = _snapshot()
    run = run_playbook("migration-fails", {"release_version": BAD_VERSION, "release_timeout": "120s",
                                           "release_extra_values": {"migration": {
                                               "args": ["migrate-fails-on-purpose"], "backoffLimit": 0}}})
    _assert_rolled_back(run, "upgrade")
    hist, ids = _assert_old_serves(before)
    record(observed=f"verdict {run.verdict} at stage {run.failure_stage}: "
                    f"{str(run.report['failure'].get('message', ''))[:120]}",
           data_check=_data_check(before, hist, ids))


NETPOL = "faults-deny-db-egress"


@pytest.fixture
def deny_db_policy():
    """Egress of the BAD_VERSION API pods allowed everywhere except the PostgreSQL pods."""
    doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": NETPOL, "namespace": NS},
           "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "api",
                                                    "app.kubernetes.io/version": BAD_VERSION}},
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"podSelector": {"matchExpressions": [
                        {"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["postgresql"]}]}},
                        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]}]}}
    path = WORK / "netpol.json"
    path.write_text(json.dumps(doc))
    kubectl("apply", "-f", str(path))
    yield NETPOL
    kubectl("delete", "networkpolicy", "-n", NS, NETPOL, "--ignore-not-found")


def test_networkpolicy_blocks_database(baseline, deny_db_policy, record):
    record(fault=f"NetworkPolicy: v{BAD_VERSION} API pods may not reach PostgreSQL (readiness on /health, "
                 "so the pods turn Ready)",
           expected="smoke fails (/ready 503, invocation refused), rolled back; the old revision serves")
    before = _snapshot()
    run = run_playbook("netpol", {"release_version": BAD_VERSION, "release_timeout": "120s",
                                  "release_smoke_retries": 5,
                                  "release_extra_values": {"api": {"readinessProbe": {"path": "/health"}}}})
    _assert_rolled_back(run, "smoke")
    hist, ids = _assert_old_serves(before)
    record(observed=f"verdict {run.verdict} at stage {run.failure_stage}; playbook {run.seconds:.0f}s",
           data_check=_data_check(before, hist, ids))


def test_playbook_killed_mid_upgrade(baseline, record):
    record(fault="SIGKILL of ansible-playbook (and its helm) while the release is pending-upgrade",
           expected="release left pending-upgrade; the next run recovers it (rollback) and deploys")
    before = _snapshot()
    proc = start_until_pending("killed")
    try:
        time.sleep(2)
        at_kill = helm_status()
    finally:
        killed = kill_session(proc)
        proc.log.close()
    assert at_kill == "pending-upgrade", f"the release was {at_kill} just before the kill"
    assert any(Path(f"/proc/{p}").exists() is False for p in killed)
    time.sleep(2)
    left = helm_status()
    assert left == "pending-upgrade", left
    run = run_playbook("recover", {"release_version": BASE_VERSION,
                                   "release_extra_values": {"config": {"logLevel": "INFO"}},
                                   "release_analysis_enabled": False})
    assert run.rc == 0 and run.report, f"{run}\n{run.tail()}"
    assert (run.report.get("recovered") or {}).get("status") == "pending-upgrade", run.report.get("recovered")
    assert run.report["recovered"].get("marked_failed", {}).get("status") == "failed", run.report["recovered"]
    # the killed run's lock: its ansible-playbook process is gone, so the next run takes it over at once
    assert [e for e in run.report.get("events", []) if "took over the release lock" in e and "process is gone" in e], \
        run.report.get("events")
    assert run.verdict == "succeeded", run.report.get("failure")
    assert helm_values()["config"]["logLevel"] == "INFO"
    hist, ids = _assert_old_serves(before)
    record(observed=f"{at_kill} at the kill, left {left}; next run recovered it ({run.report['recovered']}) "
                    f"and deployed: {run.verdict} in {run.seconds:.0f}s",
           data_check=_data_check(before, hist, ids))


def test_second_run_during_an_upgrade_is_refused(baseline, record):
    record(fault="a second deploy starts while the first one's upgrade is pending-upgrade",
           expected="the second run fails in preflight, naming the lock holder, and touches nothing; "
                    "the first run deploys")
    before = _snapshot()
    first = start_until_pending("first", {"release_analysis_enabled": False})
    try:
        # the state and the lock holder as the second run starts; the second run's own start-up can outlast
        # the first's upgrade on a loaded machine, so the status is not read after it
        during = helm_status()
        holder = json.loads(kubectl("get", "lease", f"{RELEASE}-release-lock", "-n", NS, "-o", "json").stdout)[
            "spec"]["holderIdentity"]
        second = run_playbook("second", {"release_version": BASE_VERSION, "release_analysis_enabled": False,
                                         "release_extra_values": {"config": {"logLevel": "DEBUG"}}})
        first_rc = first.wait(timeout=900)
    finally:
        if first.poll() is None:
            kill_session(first)
        first.log.close()
    assert second.rc != 0, f"{second}\n{second.tail()}"
    assert "release-lock is held by" in second.out and "another run is releasing it" in second.out, second.tail()
    assert f"held by {holder!r}" in second.out, (holder, second.tail())
    assert during == "pending-upgrade", during
    assert first_rc == 0, (WORK / "first.log").read_text()[-3000:]
    assert helm_values()["config"]["logLevel"] == "INFO"
    hist, ids = _assert_old_serves(before)
    assert not [r for r in hist if r["revision"] > before["revision"] and "Rollback" in (r.get("description") or "")]
    lease = kubectl("get", "lease", f"{RELEASE}-release-lock", "-n", NS, check=False)
    assert lease.returncode != 0 and "NotFound" in lease.stderr, lease.stdout
    record(observed=f"second run refused in {second.seconds:.0f}s naming holder {holder} (the first run, "
                    f"{during} when the second started); first run rc "
                    f"{first_rc}, no rollback in history; lock given back",
           data_check=_data_check(before, hist, ids))


def test_webhook_down_after_a_good_release(baseline, record):
    record(fault="the Slack-compatible webhook refuses connections when the report is sent",
           expected="the release stays succeeded and the run passes; a warning names the failed notification "
                    "and its cause, without the webhook URL (it carries a token)")
    before = _snapshot()
    token = "T0KEN-never-printed"
    run = run_playbook("webhook-down", {"release_version": BASE_VERSION, "release_analysis_enabled": False,
                                        "release_webhook_url": f"http://127.0.0.1:9/hooks/{token}",
                                        "release_extra_values": template_change("webhook")})
    assert run.rc == 0 and run.verdict == "succeeded", f"{run}\n{run.tail()}"
    warning = [ln for ln in run.out.splitlines() if "WARNING: webhook notification failed" in ln]
    assert warning and "Connection refused" in warning[0], run.tail()
    assert token not in run.out
    hist, ids = _assert_old_serves(before)
    record(observed=f"verdict {run.verdict}, rc {run.rc}; {warning[0].strip()[:160]}",
           data_check=_data_check(before, hist, ids))
