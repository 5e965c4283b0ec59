"""Faults in the data plane of a deployed release (no playbook run): PostgreSQL restart,
worker killed mid-task, Redis restart during invocations. Cheap: they share the baseline."""
from __future__ import annotations

import json
import time

from conftest import (
    NS,
    RELEASE,
    assert_history_consistent,
    assert_invocations_kept,
    invocation,
    invocation_ids,
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
    ids_before = invocation_ids()
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
    assert_invocations_kept(ids_before)
    # and the app writes again
    new_id = invoke("calculator", "1 + 1", wait=20)["id"]
    done = wait_invocations([new_id])
    assert [r["status"] for r in done.values()] == ["succeeded"], done
    after = assert_invocations_kept(ids_before)
    assert set(after) - set(ids_before) == {new_id}, sorted(set(after) - set(ids_before))
    assert_history_consistent()
    record(observed=f"/ready {flipped} then 200 after {recovered:.0f}s; new invocation succeeded",
           data_check=f"{len(ids_before)} ids before, each present after with its status; the one new id is "
                      "the invocation sent after")


def test_worker_killed_mid_task(baseline, record):
    record(fault="delete the worker pod (grace 0) while a 'sleep 15' invocation runs",
           expected="redelivered (acks_late) and completed once; exactly one row")
    ids_before = invocation_ids()
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
    stored = psql(f"SELECT attempts, worker FROM invocations WHERE id = '{inv_id}' AND result IS NOT NULL")
    assert len(stored.splitlines()) == 1, f"stored results for {inv_id}: {stored!r}"
    attempts, ran_on = stored.split("|")
    assert int(attempts) >= 2, f"attempts={attempts}: the task was not redelivered after the kill"
    assert ran_on != f"celery@{worker}" and worker not in ran_on, (worker, ran_on)
    after = assert_invocations_kept(ids_before)
    assert set(after) - set(ids_before) == {inv_id}, sorted(set(after) - set(ids_before))
    wait_rollout(f"deployment/{RELEASE}-worker")
    assert_history_consistent()
    record(observed=f"succeeded after the kill, attempts={attempts}, killed {worker}, finished on {ran_on}",
           data_check=f"exactly one stored result for {inv_id[:8]}; attempts {attempts} >= 2; the "
                      f"{len(ids_before)} ids before kept with their statuses, no other new id")


def _redis_ready():
    """'ready', 'not-ready' or 'gone': the state of the Redis pod now."""
    res = kubectl("get", "pod", "-n", NS, f"{RELEASE}-redis-0", "-o",
                  "jsonpath={.metadata.uid} {.status.conditions[?(@.type=='Ready')].status}", check=False, timeout=10)
    if res.returncode != 0:
        return "gone", None
    uid, _, ready = res.stdout.partition(" ")
    return ("ready" if ready.strip() == "True" else "not-ready"), uid


def test_redis_restart_during_invocations(baseline, record):
    record(fault="delete the Redis pod while 12 invocations are being submitted",
           expected="every accepted invocation completes or is reported failed; none stuck or lost")
    ids_before = invocation_ids()
    _, uid0 = _redis_ready()
    accepted, refused, seen = [], [], []
    for i in range(12):
        if i == 4:
            kubectl("delete", "pod", "-n", NS, f"{RELEASE}-redis-0", "--wait=false")
        status, body = request("/v1/agents/calculator/invocations?wait=0", "POST", {"input": f"{i} + 1"},
                               timeout=20)
        if status in (200, 202):
            accepted.append(json.loads(body)["id"])
        else:
            refused.append(status)
        if i < 11:  # the Redis pod's state between this submission and the next
            seen.append(_redis_ready())
        time.sleep(1)
    # the outage overlapped the submissions: between the first and the last one, the pod was gone,
    # not Ready, or already a new pod (another uid)
    outage = [state for state, uid in seen if state != "ready" or uid != uid0]
    assert outage, f"Redis served all along the submissions: {seen}"
    wait_rollout(f"statefulset/{RELEASE}-redis")
    wait_ready()
    done = wait_invocations(accepted, timeout=300)
    stuck = {i: invocation(i).get("status") for i in accepted if i not in done}
    assert not stuck, f"invocations stuck: {stuck}"
    statuses = [r["status"] for r in done.values()]
    after = assert_invocations_kept(ids_before)
    assert set(after) - set(ids_before) == set(accepted), "rows that were not accepted, or accepted without a row"
    assert {i: after[i] for i in accepted} == {i: r["status"] for i, r in done.items()}
    assert_history_consistent()
    record(observed=f"{len(accepted)} accepted ({statuses.count('succeeded')} succeeded, "
                    f"{len(statuses) - statuses.count('succeeded')} failed/timeout), {len(refused)} refused {refused}; "
                    f"Redis out for {len(outage)} of the {len(seen)} looks between submissions",
           data_check=f"the {len(ids_before)} ids before kept with their statuses; the new ids are exactly the "
                      f"{len(accepted)} accepted, each with a final status")
