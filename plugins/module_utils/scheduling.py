# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the hard scheduling rules of a rendered release can be met by a cluster's nodes.

A required podAntiAffinity against a workload's own pods allows one pod per topology domain
(one node for kubernetes.io/hostname), and a topologySpreadConstraint with
``whenUnsatisfiable: DoNotSchedule`` needs nodes that carry its topology key. When the nodes
cannot hold the replicas, the scheduler leaves pods Pending and ``helm upgrade --wait`` runs
into its timeout. These functions say so before anything changes, naming the rule and the
node count.

A rolling update surges before it removes: with ``maxUnavailable`` 0 (the default 25% rounds
down to 0 below 4 replicas) the first new pod needs a domain that no old pod holds, so an
upgrade needs one domain more than an install.

Pure functions on the rendered manifests and the API server's Node objects (as dicts).
What they do not model: required nodeAffinity, pod affinity, resource requests, and pods of
other releases.
"""

from __future__ import annotations

import math

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
_HARD_EFFECTS = ("NoSchedule", "NoExecute")


class ScheduleError(ValueError):
    """A manifest or a Node is not shaped as the API defines it."""


def _get(obj, *path, default=None):
    for key in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(key)
    return default if obj is None else obj


def selector_matches(selector, labels):
    """A LabelSelector (matchLabels, matchExpressions) against a label dict."""
    labels = labels or {}
    for key, value in (_get(selector, "matchLabels", default={})).items():
        if labels.get(key) != value:
            return False
    for expr in _get(selector, "matchExpressions", default=[]):
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            raise ScheduleError(f"unknown label selector operator {op!r}")
        if not ok:
            return False
    return True


def tolerates(tolerations, taint):
    """Whether one of the pod's tolerations tolerates a node taint (the scheduler's rule)."""
    for tol in tolerations or []:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator", "Equal") == "Exists":
            if not tol.get("key") or tol["key"] == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def node_ready(node):
    conditions = _get(node, "status", "conditions", default=[])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def eligible_nodes(nodes, pod_spec):
    """The Ready, schedulable nodes whose taints the pod tolerates and whose labels its nodeSelector matches."""
    selector = pod_spec.get("nodeSelector") or {}
    out = []
    for node in nodes:
        labels = _get(node, "metadata", "labels", default={})
        if _get(node, "spec", "unschedulable", default=False) or not node_ready(node):
            continue
        taints = [t for t in _get(node, "spec", "taints", default=[]) if t.get("effect") in _HARD_EFFECTS]
        if not all(tolerates(pod_spec.get("tolerations"), t) for t in taints):
            continue
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        out.append(node)
    return out


def _scaled(value, replicas, round_up, default):
    """An intstr of a rolling update (an int or "N%") resolved against the replicas."""
    value = default if value is None else value
    if isinstance(value, str) and value.endswith("%"):
        try:
            share = replicas * int(value[:-1]) / 100
        except ValueError as exc:
            raise ScheduleError(f"bad percentage {value!r}") from exc
        return math.ceil(share) if round_up else math.floor(share)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ScheduleError(f"bad rolling update value {value!r}") from exc


def replicas_of(doc, hpas):
    """spec.replicas, else the minReplicas of the HPA that scales the workload, else 1."""
    if _get(doc, "spec", "replicas") is not None:
        return int(doc["spec"]["replicas"])
    for hpa in hpas:
        ref = _get(hpa, "spec", "scaleTargetRef", default={})
        if ref.get("kind") == doc["kind"] and ref.get("name") == doc["metadata"]["name"]:
            return int(_get(hpa, "spec", "minReplicas", default=1))
    return 1


def surge_needs_a_domain(doc, replicas):
    """Whether a rolling update of the workload creates a pod before it removes one."""
    if doc["kind"] != "Deployment":
        return False  # a StatefulSet replaces its pods one by one, deleting first
    strategy = _get(doc, "spec", "strategy", default={})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return False
    rolling = strategy.get("rollingUpdate") or {}
    unavailable = _scaled(rolling.get("maxUnavailable"), replicas, round_up=False, default="25%")
    surge = _scaled(rolling.get("maxSurge"), replicas, round_up=True, default="25%")
    return unavailable == 0 and surge > 0


def _domains(nodes, key):
    return {_get(n, "metadata", "labels", default={})[key] for n in nodes
            if key in _get(n, "metadata", "labels", default={})}


def _count(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def workload_problems(doc, hpas, nodes, upgrade):
    """The hard rules of one workload that the nodes cannot meet, one sentence each."""
    kind, name = doc["kind"], doc["metadata"]["name"]
    pod = _get(doc, "spec", "template", default={})
    pod_labels = _get(pod, "metadata", "labels", default={})
    spec = pod.get("spec") or {}
    replicas = replicas_of(doc, hpas)
    if replicas < 1:
        return []
    fit = eligible_nodes(nodes, spec)
    where = (f"the cluster has {_count(len(nodes), 'node')}, {len(fit)} of them Ready, schedulable and "
             f"matching the pod's tolerations and nodeSelector")
    problems = []
    if not fit:
        problems.append(f"{kind} {name}: no node can run its pods ({where})")
        return problems
    terms = _get(spec, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", default=[])
    for term in terms:
        if not selector_matches(term.get("labelSelector"), pod_labels):
            continue  # against other pods: not a limit on its own replicas
        key = term.get("topologyKey", "")
        domains = len(_domains(fit, key))
        needed = replicas + (1 if upgrade and surge_needs_a_domain(doc, replicas) else 0)
        if needed > domains:
            why = (f"{replicas} replicas and a rolling update that adds a pod before removing one (maxUnavailable 0)"
                   if needed > replicas else f"{replicas} replicas")
            problems.append(
                f"{kind} {name}: required podAntiAffinity on {key} allows one pod per {key} value, "
                f"and it needs {needed} for {why}; {where}, with {_count(domains, 'value')} of {key}")
    for constraint in _get(spec, "topologySpreadConstraints", default=[]):
        if constraint.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        key = constraint.get("topologyKey", "")
        domains = len(_domains(fit, key))
        skew = int(constraint.get("maxSkew", 1))
        min_domains = constraint.get("minDomains")
        if domains == 0:
            problems.append(f"{kind} {name}: topologySpreadConstraint on {key} (DoNotSchedule) needs nodes "
                            f"labelled {key}; {where}, none of them labelled")
        elif min_domains and domains < int(min_domains) and replicas > domains * skew:
            problems.append(
                f"{kind} {name}: topologySpreadConstraint on {key} (DoNotSchedule, minDomains {min_domains}, "
                f"maxSkew {skew}) allows {domains * skew} pods on {_count(domains, 'value')} of {key}, "
                f"and it needs {replicas}; {where}")
    return problems


def schedule_problems(manifests, nodes, upgrade=False):
    """Every hard rule of the rendered manifests (a list of dicts) that the nodes cannot meet.

    ``upgrade``: the release exists, so its Deployments roll (see the module docstring).
    """
    if not isinstance(nodes, list) or not isinstance(manifests, list):
        raise ScheduleError("manifests and nodes must be lists of objects")
    docs = [d for d in manifests if isinstance(d, dict)]
    hpas = [d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"]
    problems = []
    for doc in docs:
        if doc.get("kind") in WORKLOAD_KINDS:
            problems.extend(workload_problems(doc, hpas, nodes, upgrade))
    return problems
