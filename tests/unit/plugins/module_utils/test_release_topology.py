"""Canary and blue/green colour values, the main release's shared values, and the colour plan."""

from __future__ import annotations

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import release_topology as rt

DEV = {
    "image": {"tag": "2.0.0"},
    "secrets": {"postgresPassword": "p", "redisPassword": "r"},
    "api": {"replicaCount": 2, "autoscaling": {"enabled": True, "minReplicas": 2}, "pdb": {"create": True}},
    "worker": {"replicaCount": 3, "concurrency": 4},
    "workerPools": {"agents": {"queues": ["agents"], "replicaCount": 2}},
    "postgresql": {"enabled": True, "database": "db1", "username": "u1"},
    "redis": {"enabled": True},
    "ingress": {"enabled": True},
}


def test_canary_values_join_the_main_traffic_group_at_one_replica():
    v = rt.satellite_values(DEV, "agent-service", "agent-service-canary", "agent-service", replicas=1)
    assert v["fullnameOverride"] == "agent-service-canary"
    assert v["api"]["trafficGroup"] == "agent-service"
    assert v["api"]["service"] == {"selectBy": "release", "trafficGroup": ""}
    assert v["api"]["replicaCount"] == 1 and v["api"]["autoscaling"]["enabled"] is False
    assert v["api"]["autoscaling"]["minReplicas"] == 2  # untouched keys stay
    assert v["api"]["pdb"]["create"] is False
    assert v["worker"]["replicaCount"] == 1 and v["worker"]["concurrency"] == 4
    assert v["migration"]["enabled"] is False
    assert [v[k]["enabled"] for k in ("beat", "flower", "ingress", "postgresql", "redis")] == [False] * 5
    assert v["secrets"]["existingSecret"] == "agent-service"
    assert v["externalDatabase"] == {"host": "agent-service-postgresql", "database": "db1", "username": "u1"}
    assert v["externalRedis"] == {"host": "agent-service-redis"}
    assert DEV["api"]["replicaCount"] == 2  # the input is not modified


def test_colour_values_keep_the_environment_size_and_migrate():
    v = rt.satellite_values(DEV, "agent-service", "agent-service-blue", "agent-service-blue", migrate=True)
    assert v["api"]["trafficGroup"] == "agent-service-blue"
    assert v["api"]["replicaCount"] == 2 and v["api"]["autoscaling"]["enabled"] is True
    assert v["worker"]["replicaCount"] == 3
    assert v["migration"]["enabled"] is True


def test_external_services_and_existing_secret_are_kept():
    ext = {"secrets": {"existingSecret": "vault-made"}, "externalDatabase": {"host": "db.example"}}
    v = rt.satellite_values(ext, "agent-service", "agent-service-green", "agent-service-green")
    assert v["secrets"]["existingSecret"] == "vault-made"
    assert v["externalDatabase"] == {"host": "db.example"}
    assert "externalRedis" not in v


def test_shared_values_scale_api_and_every_worker_pool_to_zero():
    v = rt.shared_values(DEV, "agent-service-green")
    for block in (v["api"], v["worker"], v["workerPools"]["agents"]):
        assert block["replicaCount"] == 0
        assert block["autoscaling"]["enabled"] is False
        assert block["pdb"]["create"] is False
    assert v["workerPools"]["agents"]["queues"] == ["agents"]
    assert v["api"]["service"] == {"selectBy": "traffic", "trafficGroup": "agent-service-green"}
    assert v["postgresql"]["enabled"] is True and v["ingress"]["enabled"] is True
    assert "workerPools" not in rt.shared_values({"api": {}}, "g")


@pytest.mark.parametrize("live_group, releases, live, live_colour, target, replace", [
    (None, [], None, None, "agent-service-blue", False),
    ("agent-service", ["agent-service"], "agent-service", None, "agent-service-blue", False),
    ("agent-service-blue", ["agent-service", "agent-service-blue"],
     "agent-service-blue", "blue", "agent-service-green", False),
    ("agent-service-green", ["agent-service", "agent-service-blue", "agent-service-green"],
     "agent-service-green", "green", "agent-service-blue", True),
])
def test_bluegreen_plan(live_group, releases, live, live_colour, target, replace):
    plan = rt.bluegreen_plan("agent-service", "agent-service", live_group, releases)
    assert (plan["live"], plan["live_colour"], plan["target"], plan["replace"]) == (live, live_colour, target, replace)
    assert plan["colours"] == {"blue": "agent-service-blue", "green": "agent-service-green"}


def test_bluegreen_plan_with_a_release_name_without_the_chart_name():
    plan = rt.bluegreen_plan("shop", "shop-agent-service", "shop-agent-service", ["shop"])
    assert (plan["live"], plan["target"]) == ("shop-agent-service", "shop-blue")


@pytest.mark.parametrize("call, message", [
    (lambda: rt.bluegreen_plan("agent-service", "agent-service", "hand-made"), "neither"),
    (lambda: rt.bluegreen_plan("", "agent-service", None), "release_name"),
    (lambda: rt.shared_values({}, ""), "live_group"),
    (lambda: rt.shared_values("x", "g"), "must be a dict"),
    (lambda: rt.satellite_values({}, "m", "", "g"), "must not be empty"),
])
def test_bad_input(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
