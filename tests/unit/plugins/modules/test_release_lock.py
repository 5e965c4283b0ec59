"""release_lock refuses a bad ttl or wait before it talks to the cluster, naming each one with its value."""

from __future__ import annotations

import pytest
from ansible_collections.agent_service.platform.plugins.modules import release_lock
from module_runner import run_module

BASE = {"name": "agent-service-release-lock", "namespace": "dev", "holder": "host/run/1",
        "kubeconfig": "/nonexistent/kubeconfig"}


@pytest.mark.parametrize(("args", "msg"), [
    ({"ttl": 0}, "ttl must be at least 1 second, got 0"),
    ({"wait": -5}, "wait must not be negative, got -5"),
    ({"ttl": -1, "wait": -1}, "ttl must be at least 1 second, got -1; wait must not be negative, got -1"),
])
def test_bad_ttl_or_wait_is_named(args, msg):
    result, failed = run_module(release_lock, {**BASE, **args})
    assert failed and result["msg"] == msg
