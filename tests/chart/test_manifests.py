"""Each environment's render passes the real kube-score (KUBE_SCORE_VERSION in versions.env) with the
checks and accepted findings of tests/chart/kube-score.yaml; every rendered pod spec meets Pod
Security "restricted", every long-running container has liveness and readiness probes (kube-score
asks for them only behind a Service), and the chart's own rules hold (beat single + Recreate, worker
grace > task hard limit, rollout checksums, version label, the seed's numbers)."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ENVIRONMENTS, kube_score, render_env

POD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet"}
PSS_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
APP_COMPONENTS = {"api", "worker", "beat", "flower", "migration"}


def pods(manifests):
    for m in manifests:
        if m["kind"] in POD_KINDS:
            yield m, m["spec"]["template"]


def containers(spec):
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def effective(pod_sc: dict, c_sc: dict, key: str):
    return c_sc.get(key, pod_sc.get(key))


def pss_restricted_violations(spec: dict) -> list[str]:
    """The checks of Pod Security Standards "restricted" (baseline included) for one pod spec."""
    bad = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            bad.append(f"{key} is set")
    for vol in spec.get("volumes", []):
        kinds = set(vol) - {"name"}
        if not kinds <= PSS_VOLUME_TYPES:
            bad.append(f"volume {vol['name']} uses {sorted(kinds - PSS_VOLUME_TYPES)}")
    psc = spec.get("securityContext", {}) or {}
    if psc.get("sysctls"):
        bad.append("pod sysctls set")
    if psc.get("runAsUser") == 0:
        bad.append("pod runAsUser 0")
    for c in containers(spec):
        sc = c.get("securityContext", {}) or {}
        name = c["name"]
        if sc.get("privileged"):
            bad.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            bad.append(f"{name}: allowPrivilegeEscalation is not false")
        caps = sc.get("capabilities", {}) or {}
        if "ALL" not in (caps.get("drop") or []):
            bad.append(f"{name}: capabilities.drop lacks ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            bad.append(f"{name}: adds capabilities {caps['add']}")
        if effective(psc, sc, "runAsNonRoot") is not True:
            bad.append(f"{name}: runAsNonRoot is not true")
        if effective(psc, sc, "runAsUser") == 0:
            bad.append(f"{name}: runAsUser 0")
        seccomp = (effective(psc, sc, "seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            bad.append(f"{name}: seccompProfile {seccomp!r}")
        for port in c.get("ports", []):
            if port.get("hostPort"):
                bad.append(f"{name}: hostPort")
        if sc.get("procMount", "Default") != "Default":
            bad.append(f"{name}: procMount")
    return bad


def test_pod_security_restricted(env_manifests):
    env, manifests = env_manifests
    problems = {m["metadata"]["name"]: pss_restricted_violations(t["spec"]) for m, t in pods(manifests)}
    assert {k: v for k, v in problems.items() if v} == {}, env


def test_long_running_containers_have_probes(env_manifests):
    """kube-score asks for probes only of the pods a Service selects (beat has none), and a missing
    livenessProbe is only "almost OK" there: every container of a Deployment or StatefulSet has both."""
    env, manifests = env_manifests
    problems = {f"{m['metadata']['name']}/{c['name']}": probe
                for m, t in pods(manifests) if m["kind"] != "Job"
                for c in containers(t["spec"])
                for probe in ("livenessProbe", "readinessProbe") if not c.get(probe)}
    assert problems == {}, env


KUBE_SCORE_CONFIG = Path(__file__).with_name("kube-score.yaml")
# kube-score's grades (scorecard.Grade): 1 critical, 5 warning, 7 almost OK, 10 OK
KUBE_SCORE_WARNING = 5

# a Deployment without resource limits, which kube-score's container-resources check reports; the
# ignore annotation shows that only tests/chart/kube-score.yaml can accept a finding
NO_LIMITS_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: no-limits
  namespace: agents
  annotations:
    kube-score/ignore: container-resources
spec:
  replicas: 2
  selector:
    matchLabels: {app: no-limits}
  template:
    metadata:
      labels: {app: no-limits}
    spec:
      containers:
        - name: app
          image: registry.example/app:1.2.3
          resources:
            requests: {cpu: 100m, memory: 128Mi}
"""


def kube_score_config() -> dict:
    return yaml.safe_load(KUBE_SCORE_CONFIG.read_text())


def kube_score_findings(manifests: str) -> list[tuple[str, str, str]]:
    """kube-score's critical and warning findings with the checks kube-score.yaml turns on and off:
    (Kind/name, check id, message), one per comment."""
    config = kube_score_config()
    report = kube_score(manifests, list(config["enable-optional-test"]), list(config["ignore-test"]))
    findings = []
    for obj in report:
        name = f"{obj['type_meta']['kind']}/{obj['object_meta']['name']}"
        for result in obj["checks"] or []:
            if result["skipped"] or result["grade"] > KUBE_SCORE_WARNING:
                continue
            for comment in result["comments"] or [{"path": "", "summary": result["check"]["name"]}]:
                where = f"({comment['path']}) " if comment["path"] else ""
                findings.append((name, result["check"]["id"], where + comment["summary"]))
    return findings


def accepts(rule: dict, env: str, name: str, check: str) -> bool:
    return rule["check"] == check and env in rule["environments"] and name in rule.get("objects", [name])


def kube_score_problems(env: str, manifests: str) -> tuple[list[str], list[str]]:
    """The findings that kube-score.yaml does not accept in `env`, as "Kind/name: check: message", and
    the acceptances for `env` that match no finding (stale: the chart or kube-score changed)."""
    rules = kube_score_config()["accept"]
    findings = kube_score_findings(manifests)
    problems = sorted(f"{name}: {check}: {message}" for name, check, message in findings
                      if not any(accepts(rule, env, name, check) for rule in rules))
    stale = [f"{rule['check']} on {obj or 'any object'}"
             for rule in rules if env in rule["environments"]
             for obj in rule.get("objects", [None])
             if not any(check == rule["check"] and obj in (None, name) for name, check, _ in findings)]
    return problems, stale


def test_kube_score(env_rendered):
    env, manifests = env_rendered
    problems, stale = kube_score_problems(env, manifests)
    report = []
    if problems:
        report += [f"{env}: kube-score findings that tests/chart/kube-score.yaml does not accept:", *problems]
    if stale:
        report += [f"{env}: acceptances in tests/chart/kube-score.yaml that match no finding:", *stale]
    if report:
        pytest.fail("\n  ".join(report))


def test_kube_score_names_a_finding():
    """The check fails on a real finding and names it: object, check and kube-score's message."""
    problems, _ = kube_score_problems("prod", NO_LIMITS_DEPLOYMENT)
    assert "Deployment/no-limits: container-resources: (app) CPU limit is not set" in problems, problems
    assert "Deployment/no-limits: container-resources: (app) Memory limit is not set" in problems, problems


def test_kube_score_config_names_real_checks():
    """Every check kube-score.yaml names exists in this kube-score (an unknown id would turn nothing
    off), the optional ones are optional, and every choice gives its reason."""
    listing = subprocess.run(["kube-score", "list"], capture_output=True, text=True, check=True).stdout
    kinds = {row[0]: row[-1] for row in csv.reader(listing.splitlines()) if row}
    config = kube_score_config()
    assert {check: kinds.get(check) for check in config["enable-optional-test"]} == \
        dict.fromkeys(config["enable-optional-test"], "optional")
    assert {check: kinds.get(check) for check in config["ignore-test"]} == \
        dict.fromkeys(config["ignore-test"], "default")
    for rule in config["accept"]:
        assert rule["check"] in kinds and rule["check"] not in config["ignore-test"], rule
        assert set(rule["environments"]) <= set(ENVIRONMENTS), rule
    reasons = [*config["enable-optional-test"].values(), *config["ignore-test"].values(),
               *(rule.get("reason") for rule in config["accept"])]
    assert all(isinstance(r, str) and r.strip() for r in reasons), config


def test_every_pod_has_version_label_and_checksums(env_manifests):
    env, manifests = env_manifests
    for m, t in pods(manifests):
        labels = t["metadata"]["labels"]
        assert labels.get("app.kubernetes.io/version"), m["metadata"]["name"]
        if labels["app.kubernetes.io/component"] in APP_COMPONENTS:
            assert {"checksum/config", "checksum/secret"} <= set(t["metadata"]["annotations"]), m["metadata"]["name"]


def test_selectors_use_name_instance_component_only(env_manifests):
    env, manifests = env_manifests
    allowed = {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/component",
        "agent-service.io/worker-pool",
    }
    for m in manifests:
        if m["kind"] in {"Deployment", "StatefulSet"}:
            assert set(m["spec"]["selector"]["matchLabels"]) <= allowed, m["metadata"]["name"]


def test_beat_single_and_recreate(env_manifests):
    env, manifests = env_manifests
    beat = [m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"].endswith("-beat")]
    assert len(beat) == 1
    assert beat[0]["spec"]["replicas"] == 1
    assert beat[0]["spec"]["strategy"] == {"type": "Recreate"}


def test_beat_replicas_pinned_whatever_values_say():
    manifests = render_env("dev", "--set", "beat.replicaCount=0")
    beat = next(m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"].endswith("-beat"))
    assert beat["spec"]["replicas"] == 1


def test_worker_grace_exceeds_task_hard_limit(env_manifests):
    env, manifests = env_manifests
    workers = [t for m, t in pods(manifests) if t["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"]
    assert workers
    for t in workers:
        c = t["spec"]["containers"][0]
        envs = {e["name"]: e.get("value") for e in c["env"]}
        assert t["spec"]["terminationGracePeriodSeconds"] > int(envs["CELERY_TASK_TIME_LIMIT"])


def test_no_service_account_tokens(env_manifests):
    env, manifests = env_manifests
    for m, t in pods(manifests):
        assert t["spec"].get("automountServiceAccountToken") is False, m["metadata"]["name"]


@pytest.mark.parametrize("env,expected", [("dev", (1, 1)), ("staging", (2, 2)), ("prod", (3, 5))])
def test_seed_replicas(env, expected):
    manifests = render_env(env)
    hpas = {m["spec"]["scaleTargetRef"]["name"]: m for m in manifests if m["kind"] == "HorizontalPodAutoscaler"}
    deploy = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "Deployment"}
    for name, want in zip(("t-agent-service-api", "t-agent-service-worker"), expected, strict=False):
        if env == "dev":
            assert deploy[name]["spec"]["replicas"] == want
            assert not hpas
        else:
            assert hpas[name]["spec"]["minReplicas"] == want


@pytest.mark.parametrize("env,api,worker", [("staging", (2, 5), (2, 10)), ("prod", (3, 20), (5, 50))])
def test_seed_autoscaling_ranges(env, api, worker):
    hpas = {
        m["spec"]["scaleTargetRef"]["name"]: m["spec"]
        for m in render_env(env)
        if m["kind"] == "HorizontalPodAutoscaler"
    }
    assert (hpas["t-agent-service-api"]["minReplicas"], hpas["t-agent-service-api"]["maxReplicas"]) == api
    assert (hpas["t-agent-service-worker"]["minReplicas"], hpas["t-agent-service-worker"]["maxReplicas"]) == worker


@pytest.mark.parametrize(
    "env,cpu,memory",
    [
        ("dev", ("50m", "250m"), ("256Mi", "256Mi")),
        ("staging", ("500m", "1000m"), ("512Mi", "1Gi")),
        ("prod", ("1000m", "2000m"), ("1Gi", "2Gi")),
    ],
)
def test_seed_resources(env, cpu, memory):
    for m in render_env(env):
        if m["kind"] == "Deployment" and m["metadata"]["name"] in ("t-agent-service-api", "t-agent-service-worker"):
            res = m["spec"]["template"]["spec"]["containers"][0]["resources"]
            assert (res["requests"]["cpu"], res["limits"]["cpu"]) == cpu
            assert (res["requests"]["memory"], res["limits"]["memory"]) == memory


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_default_deny_selects_every_pod(env):
    """staging is production-like: the same default deny and allow rules as prod."""
    manifests = render_env(env)
    deny = next(
        m for m in manifests if m["kind"] == "NetworkPolicy" and m["metadata"]["name"].endswith("-default-deny")
    )
    selector = deny["spec"]["podSelector"]["matchLabels"]
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny["spec"]
    for m, t in pods(manifests):
        assert selector.items() <= t["metadata"]["labels"].items(), m["metadata"]["name"]
    # every other workload's pods are let in by a rule of their own (flower only where it runs)
    allowed = {m["metadata"]["name"].removeprefix("t-agent-service-") for m in manifests
               if m["kind"] == "NetworkPolicy"}
    workloads = {m["metadata"]["name"].removeprefix("t-agent-service-") for m, _ in pods(manifests)}
    assert {"default-deny", "app-egress", "api-ingress", "worker-ingress"} <= allowed
    assert ("flower-ingress" in allowed) == ("flower" in workloads)


def test_dev_schedules_on_one_node():
    for m, t in pods(render_env("dev")):
        anti = (t["spec"].get("affinity") or {}).get("podAntiAffinity", {})
        assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti, m["metadata"]["name"]
        for tsc in t["spec"].get("topologySpreadConstraints", []):
            assert tsc["whenUnsatisfiable"] == "ScheduleAnyway", m["metadata"]["name"]


def test_app_version_change_does_not_touch_redis_or_postgresql():
    """An upgrade or rollback of the app must not restart the bundled broker and database: their
    pod templates (labels, checksum annotations, spec) are the same for two app versions."""
    def dependency_templates(tag):
        return {m["metadata"]["name"]: m["spec"]["template"]
                for m in render_env("dev", "--set", f"image.tag={tag}", "--set", "secrets.postgresPassword=p",
                                    "--set", "secrets.redisPassword=r")
                if m["kind"] == "StatefulSet"}

    old, new = dependency_templates("1.0.0"), dependency_templates("2.0.0")
    assert len(old) == 2, old.keys()
    assert old == new
