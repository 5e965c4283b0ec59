"""module_utils/scheduling.py: which hard scheduling rules a set of nodes cannot meet.

The rules come from the chart itself, rendered by the real helm with the prod values; the nodes
are Node objects shaped as the API returns them (the live check is tests/e2e/test_release_modules_live.py).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.agent_service.platform.plugins.module_utils import helm_release, scheduling

ROOT = Path(__file__).resolve().parents[4]
CHART = ROOT / "helm" / "agent-service"
HELM = Path(os.environ.get("BIN_DIR", Path.home() / ".cache/agent-service-platform/bin")) / "helm"
HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def node(name, zone=None, ready=True, unschedulable=False, taints=(), labels=None):
    meta_labels = {HOST: name, **({ZONE: zone} if zone else {}), **(labels or {})}
    return {
        "metadata": {"name": name, "labels": meta_labels},
        "spec": {"unschedulable": unschedulable, "taints": list(taints)} if unschedulable or taints else {},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def render_prod(*sets):
    argv = [str(HELM), "template", "prod", str(CHART), "--kube-version", "1.34.0",
            "--values", str(CHART / "values-prod.yaml"),
            "--set", "externalDatabase.host=db", "--set", "externalRedis.host=redis"]
    for item in sets:
        argv += ["--set", item]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def deployment(name="web", replicas=3, anti=True, spread=None, strategy=None, tolerations=None, node_selector=None):
    labels = {"app": name}
    spec = {"containers": [{"name": "c", "image": "i"}]}
    if anti:
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": HOST, "labelSelector": {"matchLabels": labels}}]}}
    if spread:
        spec["topologySpreadConstraints"] = spread
    if tolerations:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    doc = {"kind": "Deployment", "metadata": {"name": name},
           "spec": {"template": {"metadata": {"labels": labels}, "spec": spec}}}
    if replicas is not None:
        doc["spec"]["replicas"] = replicas
    if strategy:
        doc["spec"]["strategy"] = strategy
    return doc


def test_prod_on_one_node_names_the_rule_and_the_node_count():
    assert HELM.exists(), "helm is not built: run `make gotools`"
    docs = render_prod()
    problems = scheduling.schedule_problems(docs, [node("n1")])
    # the API is the prod workload with a hard preset (3 replicas from its HPA's minReplicas)
    assert len(problems) == 1, problems
    assert problems[0].startswith("Deployment prod-agent-service-api: required podAntiAffinity on " + HOST)
    assert "it needs 3 for 3 replicas" in problems[0]
    assert "the cluster has 1 node, 1 of them Ready" in problems[0] and "1 value of " + HOST in problems[0]


def test_prod_fits_three_nodes_to_install_and_four_to_roll():
    docs = render_prod()
    three = [node(f"n{i}", zone=f"z{i}") for i in range(3)]
    assert scheduling.schedule_problems(docs, three) == []
    # 3 replicas: 25% maxUnavailable rounds down to 0, so the rolling update surges into a 4th domain
    rolling = scheduling.schedule_problems(docs, three, upgrade=True)
    assert len(rolling) == 1 and "it needs 4 for 3 replicas and a rolling update" in rolling[0]
    assert scheduling.schedule_problems(docs, three + [node("n3")], upgrade=True) == []


def test_prod_with_the_soft_preset_fits_one_node():
    docs = render_prod("api.podAntiAffinityPreset=soft")
    assert scheduling.schedule_problems(docs, [node("n1")], upgrade=True) == []


def test_max_unavailable_lets_the_update_delete_first():
    doc = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    nodes = [node(f"n{i}") for i in range(3)]
    assert scheduling.schedule_problems([doc], nodes, upgrade=True) == []
    doc["spec"]["strategy"] = {"type": "Recreate"}
    assert scheduling.schedule_problems([doc], nodes, upgrade=True) == []
    doc["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}}
    assert scheduling.schedule_problems([doc], nodes, upgrade=True) == []  # floor(1.5) = 1
    doc["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "30%"}}
    assert len(scheduling.schedule_problems([doc], nodes, upgrade=True)) == 1  # floor(0.9) = 0


def test_statefulset_replaces_pods_deleting_first():
    doc = deployment(replicas=2)
    doc["kind"] = "StatefulSet"
    assert scheduling.schedule_problems([doc], [node("a"), node("b")], upgrade=True) == []


def test_replicas_come_from_the_hpa_when_the_workload_has_none():
    doc = deployment(replicas=None)
    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2}}
    assert "it needs 2 for 2 replicas" in scheduling.schedule_problems([doc, hpa], [node("a")])[0]
    assert scheduling.schedule_problems([doc], [node("a")]) == []  # neither: 1 replica


def test_only_usable_nodes_count():
    doc = deployment(replicas=2)
    usable = node("a")
    others = [node("b", ready=False), node("c", unschedulable=True),
              node("d", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])]
    problems = scheduling.schedule_problems([doc], [usable, *others])
    assert len(problems) == 1 and "the cluster has 4 nodes, 1 of them Ready" in problems[0]
    # a PreferNoSchedule taint does not keep pods off; a toleration opens the tainted node
    soft = node("e", taints=[{"key": "x", "effect": "PreferNoSchedule"}])
    assert scheduling.schedule_problems([doc], [usable, soft]) == []
    tolerant = deployment(replicas=2, tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db",
                                                    "effect": "NoSchedule"}])
    assert scheduling.schedule_problems([tolerant], [usable, *others]) == []


def test_node_selector_narrows_the_nodes():
    doc = deployment(replicas=1, node_selector={"pool": "apps"})
    problems = scheduling.schedule_problems([doc], [node("a", labels={"pool": "db"})])
    assert len(problems) == 1 and "no node can run its pods" in problems[0]
    assert scheduling.schedule_problems([doc], [node("a", labels={"pool": "apps"})]) == []


def test_anti_affinity_against_other_pods_is_no_limit_on_replicas():
    doc = deployment(replicas=3)
    affinity = doc["spec"]["template"]["spec"]["affinity"]
    term = affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    term[0]["labelSelector"] = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]}
    assert scheduling.schedule_problems([doc], [node("a")]) == []
    term[0]["labelSelector"] = {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
    assert len(scheduling.schedule_problems([doc], [node("a")])) == 1


@pytest.mark.parametrize("when,min_domains,zones,replicas,bad", [
    ("ScheduleAnyway", None, [], 3, False),
    ("DoNotSchedule", None, [], 3, True),  # no node carries the key
    ("DoNotSchedule", None, ["z1"], 3, False),  # one domain: skew is always 0
    ("DoNotSchedule", 3, ["z1"], 2, True),  # below minDomains each domain holds at most maxSkew
    ("DoNotSchedule", 3, ["z1", "z2"], 2, False),
])
def test_topology_spread(when, min_domains, zones, replicas, bad):
    constraint = {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": when,
                  "labelSelector": {"matchLabels": {"app": "web"}}}
    if min_domains:
        constraint["minDomains"] = min_domains
    doc = deployment(replicas=replicas, anti=False, spread=[constraint])
    nodes = [node(f"n{i}", zone=z) for i, z in enumerate(zones)] or [node("n0")]
    problems = scheduling.schedule_problems([doc], nodes)
    assert bool(problems) is bad, problems
    if bad:
        assert f"topologySpreadConstraint on {ZONE} (DoNotSchedule" in problems[0]


def test_check_schedule_message_and_result():
    docs = [deployment(replicas=2), {"kind": "Service", "metadata": {"name": "s"}}]
    text = yaml.safe_dump_all(docs)
    with pytest.raises(helm_release.HelmError) as err:
        helm_release.check_schedule(text, [node("a")], upgrade=False)
    msg = str(err.value)
    assert "cannot be scheduled on this cluster" in msg and "nothing was changed on the cluster" in msg
    assert "Deployment web: required podAntiAffinity on kubernetes.io/hostname" in msg
    assert helm_release.check_schedule(text, [node("a"), node("b")], upgrade=False) == {"nodes": 2, "workloads": 1}


@pytest.mark.parametrize("bad,match", [
    (yaml.safe_dump(deployment(strategy={"rollingUpdate": {"maxUnavailable": "x%"}})), "bad percentage"),
    (yaml.safe_dump(deployment(strategy={"rollingUpdate": {"maxSurge": []}})), "bad rolling update value"),
    ("a: [", "cannot check"),
])
def test_bad_manifests_are_a_clear_error(bad, match):
    with pytest.raises(helm_release.HelmError, match=match):
        helm_release.check_schedule(bad, [node("a"), node("b"), node("c"), node("d")], upgrade=True)


def test_bad_arguments_are_refused():
    with pytest.raises(scheduling.ScheduleError, match="must be lists"):
        scheduling.schedule_problems({}, [])
    selector = {"matchExpressions": [{"key": "a", "operator": "Near"}]}
    with pytest.raises(scheduling.ScheduleError, match="operator 'Near'"):
        scheduling.selector_matches(selector, {"a": "b"})
