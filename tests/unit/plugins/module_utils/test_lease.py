"""Unit tests for plugins/module_utils/lease.py: the release lock's decisions and process check."""
from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import lease  # noqa: E402

T0 = datetime.datetime(2026, 11, 27, 21, 0, 0, tzinfo=datetime.timezone.utc)  # noqa: UP017


def spec(holder="run-a", renewed=T0, ttl=600):
    return {"holderIdentity": holder, "leaseDurationSeconds": ttl, "acquireTime": lease.format_time(renewed),
            "renewTime": lease.format_time(renewed), "leaseTransitions": 0}


def later(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize("current, holder, moment, gone, expected", [
    (None, "run-a", T0, False, lease.ACQUIRE),
    (spec("run-a"), "run-a", later(30), False, lease.RENEW),
    (spec("run-a"), "run-b", later(30), False, lease.BLOCKED),
    (spec("run-a"), "run-b", later(599), False, lease.BLOCKED),
    (spec("run-a"), "run-b", later(600), False, lease.TAKE_OVER),       # expired exactly now
    (spec("run-a"), "run-b", later(30), True, lease.TAKE_OVER),         # its process is gone
    (spec(""), "run-b", later(30), False, lease.TAKE_OVER),             # released without deletion
    (dict(spec("run-a"), renewTime=None, acquireTime=None), "run-b", T0, False, lease.TAKE_OVER),
])
def test_decide_present(current, holder, moment, gone, expected):
    assert lease.decide(current, holder, moment, holder_gone=gone) == expected


@pytest.mark.parametrize("current, expected", [
    (None, lease.NOTHING), (spec("run-a"), lease.RELEASE), (spec("run-b"), lease.NOT_OURS), (spec(""), lease.NOTHING),
])
def test_decide_absent(current, expected):
    assert lease.decide(current, "run-a", later(10_000), state="absent") == expected


def test_times_round_trip_in_the_api_format():
    text = lease.format_time(T0 + datetime.timedelta(microseconds=12))
    assert text == "2026-11-27T21:00:00.000012Z"
    assert lease.parse_time(text) == T0 + datetime.timedelta(microseconds=12)
    assert lease.parse_time("2026-11-27T22:00:00+01:00") == T0
    assert lease.expires_at(spec(ttl=90)) == later(90)
    with pytest.raises(lease.LockError, match="cannot read the Lease time"):
        lease.parse_time("yesterday")


def test_lease_spec_counts_transitions_and_keeps_our_acquire_time():
    first = lease.lease_spec("run-a", 600, T0)
    assert first["leaseTransitions"] == 0 and first["acquireTime"] == first["renewTime"]
    renewed = lease.lease_spec("run-a", 600, later(60), first)
    assert renewed["acquireTime"] == first["acquireTime"] and renewed["renewTime"] == lease.format_time(later(60))
    taken = lease.lease_spec("run-b", 600, later(700), renewed)
    assert taken["leaseTransitions"] == 1 and taken["acquireTime"] == lease.format_time(later(700))


def test_describe_names_the_holder_and_the_expiry():
    text = lease.describe("agent-service-release-lock", "prod", spec("laptop/123"))
    assert "prod/agent-service-release-lock" in text and "'laptop/123'" in text
    assert "expires 2026-11-27T21:10:00.000000Z" in text


def test_owner_process_is_the_outermost_ansible_playbook_and_process_gone_sees_it_end(tmp_path):
    # a real process tree: "ansible-playbook" (a script of that name) -> sh -> python printing owner_process()
    probe = tmp_path / "probe.py"
    collections = Path(lease.__file__).parents[5]  # .../ansible_collections/agent_service/platform/plugins/module_utils
    probe.write_text(f"import sys\nsys.path.insert(0, {str(collections)!r})\n"
                     "from ansible_collections.agent_service.platform.plugins.module_utils import lease\n"
                     "print(lease.owner_process())\n")
    script = tmp_path / "ansible-playbook"
    script.write_text(f"#!/bin/sh\n{sys.executable} {probe}\n")
    script.chmod(0o755)
    proc = subprocess.run([str(script)], capture_output=True, text=True, check=True)
    recorded = proc.stdout.strip()
    host, _boot, pid, _start = recorded.split("/")
    assert host == socket.gethostname() and int(pid) > 1
    assert lease.process_gone(recorded) is True           # that ansible-playbook has exited
    assert lease.owner_process() is None or "/" in lease.owner_process()


def test_process_gone_is_false_for_a_live_process_or_another_machine():
    me = os.getpid()
    start = lease._proc_stat(me)[1]
    ours = f"{socket.gethostname()}/{lease._boot_id()}/{me}/{start}"
    assert lease.process_gone(ours) is False
    assert lease.process_gone(f"{socket.gethostname()}/{lease._boot_id()}/{me}/1") is True  # pid reused
    assert lease.process_gone(f"elsewhere/{lease._boot_id()}/{me}/{start}") is False
    assert lease.process_gone(None) is False and lease.process_gone("garbage") is False
