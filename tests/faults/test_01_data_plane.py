"""Faults in the data plane of a deployed release (no playbook run): PostgreSQL restart,
worker killed mid-task, Redis restart during invocations. Cheap: they share the baseline."""
from __future__ import annotations

import json
import time

from conftest import (
    NS,
    RELEASE,
    assert_history_consistent,
    count_rows,
    invocation,
    invoke,
    kubectl,
    psql,
    request,
    wait_invocations,
    wait_ready,
    wait_rollout,
)


def _pod(component):
    out = kubectl("get", "pods", "-n", NS, "-l", f"app.kubernetes.io/component={component}",
                  "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    assert out, f"no running {component} pod"
    return out[0]


def test_postgresql_restart(baseline, record):
    record(fault="delete the PostgreSQL pod (StatefulSet, PVC)",
           expected="/ready fails, then recovers; rows written before are still there")
    done = wait_invocations([invoke("calculator", "7 * 6", wait=20)["id"]])
    assert all(r["status"] == "succeeded" for r in done.values()), done
    ids_before = set(psql("SELECT id FROM invocations").split())
    assert ids_before
    t0 = time.monotonic()
    kubectl("delete", "pod", "-n", NS, f"{RELEASE}-postgresql-0", "--wait=false")
    # /ready must flip while the database is gone
    flipped = None
    for _ in range(60):
        status, _body = request("/ready", timeout=5)
        if status != 200:
            flipped = status
            break
        time.sleep(0.5)
    assert flipped is not None, "/ready never reported the database down"
    wait_rollout(f"statefulset/{RELEASE}-postgresql")
    recovered = wait_ready() - t0
    ids_after = set(psql("SELECT id FROM invocations").split())
    assert ids_before <= ids_after, f"rows lost: {ids_before - ids_after}"
    # and the app writes again
    done = wait_invocations([invoke("calculator", "1 + 1", wait=20)["id"]])
    assert [r["status"] for r in done.values()] == ["succeeded"], done
    assert_history_consistent()
    record(observed=f"/ready {flipped} then 200 after {recovered:.0f}s; new invocation succeeded",
           data_check=f"{len(ids_before)} rows before, all {len(ids_before)} present after (+1 new)")


def test_worker_killed_mid_task(baseline, record):
    record(fault="delete the worker pod (grace 0) while a 'sleep 15' invocation runs",
           expected="redelivered (acks_late) and completed once; exactly one row")
    rows0 = count_rows()
    inv = invoke("diagnostics", "sleep 15")
    inv_id = inv["id"]
    for _ in range(60):
        if invocation(inv_id).get("status") == "running":
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"invocation never started: {invocation(inv_id)}")
    worker = _pod("worker")
    time.sleep(2)
    kubectl("delete", "pod", "-n", NS, worker, "--grace-period=0", "--force", "--wait=false")
    done = wait_invocations([inv_id], timeout=300)
    assert inv_id in done, f"invocation never finished: {invocation(inv_id)}"
    rec = done[inv_id]
    assert rec["status"] == "succeeded", rec
    n = int(psql(f"SELECT count(*) FROM invocations WHERE id = '{inv_id}'"))
    assert n == 1, f"{n} rows for {inv_id}"
    assert count_rows() == rows0 + 1
    attempts, ran_on = psql(f"SELECT attempts, worker FROM invocations WHERE id = '{inv_id}'").split("|")
    wait_rollout(f"deployment/{RELEASE}-worker")
    assert_history_consistent()
    record(observed=f"succeeded after the kill, attempts={attempts}, killed {worker}, finished on {ran_on}",
           data_check="exactly 1 invocation row for the task; row count +1")


def test_redis_restart_during_invocations(baseline, record):
    record(fault="delete the Redis pod while 12 invocations are being submitted",
           expected="every accepted invocation completes or is reported failed; none stuck or lost")
    rows0 = count_rows()
    accepted, refused = [], []
    for i in range(12):
        if i == 4:
            kubectl("delete", "pod", "-n", NS, f"{RELEASE}-redis-0", "--wait=false")
        status, body = request("/v1/agents/calculator/invocations?wait=0", "POST", {"input": f"{i} + 1"},
                               timeout=20)
        if status in (200, 202):
            accepted.append(json.loads(body)["id"])
        else:
            refused.append(status)
        time.sleep(1)
    wait_rollout(f"statefulset/{RELEASE}-redis")
    wait_ready()
    done = wait_invocations(accepted, timeout=300)
    stuck = {i: invocation(i).get("status") for i in accepted if i not in done}
    assert not stuck, f"invocations stuck: {stuck}"
    statuses = [r["status"] for r in done.values()]
    assert count_rows() >= rows0 + len(accepted)
    for i in accepted:
        assert psql(f"SELECT count(*) FROM invocations WHERE id = '{i}'") == "1"
    assert_history_consistent()
    record(observed=f"{len(accepted)} accepted ({statuses.count('succeeded')} succeeded, "
                    f"{len(statuses) - statuses.count('succeeded')} failed/timeout), {len(refused)} refused {refused}",
           data_check="every accepted invocation has exactly one row and a final status")
