"""roles/monitoring_stack offline: the render phase, its promtool/amtool gate, and the manifests it applies."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import MONITORING, ROOT

ROLE = ROOT / "roles" / "monitoring_stack"


def run_render(tmp_path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".cache" / "collections"))
    env.setdefault("ANSIBLE_HOME", str(ROOT / ".cache" / "ansible"))
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    playbook = shutil.which("ansible-playbook", path=str(ROOT / ".venv" / "bin")) or "ansible-playbook"
    cmd = [playbook, "-i", "localhost,", str(ROOT / "tests" / "monitoring" / "render_role.yml"),
           "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"render_out={tmp_path}",
           "-e", f"role_dir={ROLE}", "-e", "monitoring_stack_mode=kube_prometheus_stack",
           "-e", f"monitoring_stack_source_dir={MONITORING}", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The render without its promtool/amtool gate: test_rules.py and test_alertmanager.py record those checks,
    which would otherwise fail each test that reads this render too; test_broken_rules_are_refused_before_they_land
    checks the gate."""
    out = tmp_path_factory.mktemp("render")
    proc = run_render(out, "-e", "monitoring_stack_runbook_base_url=https://runbooks.example.org/agent/",
                      "-e", '{"monitoring_stack_validate": false}')
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return out


def docs(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_rules_are_the_source_rules_with_absolute_runbooks(rendered):
    rules = json.loads((rendered / "rules.json").read_text())
    source = [g for f in ("rules.yml", "slo-rules.yml")
              for g in yaml.safe_load((MONITORING / "prometheus" / f).read_text())["groups"]]
    assert [g["name"] for g in rules["groups"]] == [g["name"] for g in source]
    urls = [r["annotations"]["runbook_url"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert urls and all(u.startswith("https://runbooks.example.org/agent/") and u.endswith(".md") for u in urls)


def test_alertmanager_config_points_at_the_mounted_templates(rendered):
    config = yaml.safe_load((rendered / "alertmanager.yaml").read_text())
    assert config["templates"] == ["/etc/alertmanager/config/*.tmpl"]
    assert config["global"]["slack_api_url_file"].startswith("/etc/alertmanager/secrets/alertmanager-notifications/")


def test_dashboards_are_shipped(rendered):
    dashboards = json.loads((rendered / "dashboards.json").read_text())
    assert set(dashboards) == {"agent-service.json"}
    assert json.loads(dashboards["agent-service.json"])["uid"] == "agent-service"


def test_operator_mode_manifests(rendered):
    prom = {d["kind"]: d for d in docs(rendered / "prometheus.yaml")}
    assert prom["Prometheus"]["spec"]["ruleSelector"] == {"matchLabels": {"release": "kube-prometheus-stack"}}
    assert prom["Prometheus"]["spec"]["image"] == "localhost/testbed/prometheus:v3.5.0"
    assert prom["Prometheus"]["spec"]["externalLabels"] == {"cluster": "local"}
    assert prom["Alertmanager"]["spec"]["configSecret"] == "alertmanager-agent-service"
    assert prom["Alertmanager"]["spec"]["secrets"] == ["alertmanager-notifications"]
    ksm = {d["kind"]: d for d in docs(rendered / "kube-state-metrics.yaml")}
    args = ksm["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert any(a.startswith("--metric-labels-allowlist=pods=[app.kubernetes.io/name,") for a in args)
    operator = {d["kind"]: d for d in docs(rendered / "operator.yaml")}
    op_args = operator["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--prometheus-config-reloader=localhost/testbed/prometheus-config-reloader:v0.85.0" in op_args
    for name in ("operator.yaml", "kube-state-metrics.yaml", "node-exporter.yaml", "kubelet.yaml", "prometheus.yaml",
                 "exporters.yaml", "external-metrics-adapter.yaml"):
        for doc in docs(rendered / name):
            if doc["kind"] in ("ServiceMonitor", "PrometheusRule"):
                assert doc["metadata"]["labels"]["release"] == "kube-prometheus-stack", (name, doc["metadata"]["name"])


def test_external_metrics_adapter_manifests(rendered):
    objs = {(d["kind"], d["metadata"]["name"]): d for d in docs(rendered / "external-metrics-adapter.yaml")}
    api = objs[("APIService", "v1beta1.external.metrics.k8s.io")]["spec"]
    assert api["group"] == "external.metrics.k8s.io" and api["version"] == "v1beta1"
    assert api["service"] == {"name": "external-metrics-adapter", "namespace": "monitoring", "port": 443}
    deploy = objs[("Deployment", "external-metrics-adapter")]
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "localhost/testbed/external-metrics-adapter:v0.1.0"
    assert "--prometheus-url=http://prometheus-operated.monitoring.svc:9090" in container["args"]
    # the metric map of the defaults, as the adapter reads it; a new map rolls the pod
    config = objs[("ConfigMap", "external-metrics-adapter")]["data"]["config.yaml"]
    query = 'max by (queue) (celery_queue_length{namespace="<<.Namespace>>",<<.Selector>>})'
    assert yaml.safe_load(config) == {"externalMetrics": {"celery_queue_length": {"query": query, "labels": ["queue"]}}}
    assert deploy["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    rbac = {k: v for k, v in objs.items() if k[0] in ("ClusterRoleBinding", "RoleBinding")}
    roles = {v["roleRef"]["name"]: v for v in rbac.values()}
    assert set(roles) == {"system:auth-delegator", "extension-apiserver-authentication-reader",
                          "agent-monitoring-external-metrics-reader"}
    assert roles["extension-apiserver-authentication-reader"]["metadata"]["namespace"] == "kube-system"
    assert roles["agent-monitoring-external-metrics-reader"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "horizontal-pod-autoscaler", "namespace": "kube-system"}]


def test_kube_prometheus_stack_values(rendered):
    values = yaml.safe_load((rendered / "kps-values.yaml").read_text())
    assert values["alertmanager"]["config"]["route"]["group_by"] == ["alertname", "cluster", "service"]
    assert "agent-service.tmpl" in values["alertmanager"]["templateFiles"]
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"
    assert values["grafana"]["sidecar"]["dashboards"]["labelValue"] == "1"
    assert any(v.startswith("pods=[") for v in values["kube-state-metrics"]["metricLabelsAllowlist"])


def test_log_store_and_agent_manifests(rendered):
    """The store on a PVC with the retention asked for, and the agent on every node reading the pod logs
    read-only, sending to the store's OTLP endpoint, rolled when its configuration changes."""
    objs = {(d["kind"], d["metadata"]["name"]): d for d in docs(rendered / "logs.yaml")}
    store = objs[("StatefulSet", "victoria-logs")]["spec"]
    container = store["template"]["spec"]["containers"][0]
    # kube_prometheus_stack mode: the public images
    assert container["image"] == "docker.io/victoriametrics/victoria-logs:v1.52.2"
    assert {"-retentionPeriod=7d", "-storageDataPath=/data"} <= set(container["args"]), container["args"]
    assert store["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert "storageClassName" not in store["volumeClaimTemplates"][0]["spec"]
    assert objs[("Service", "victoria-logs")]["spec"]["ports"][0]["port"] == 9428

    agent = objs[("DaemonSet", "log-agent")]["spec"]["template"]
    volumes = {v["name"]: v for v in agent["spec"]["volumes"]}
    assert volumes["pod-logs"]["hostPath"] == {"path": "/var/log/pods", "type": "Directory"}
    assert volumes["state"]["hostPath"]["path"] == "/var/lib/agent-service-log-agent"
    mounts = {m["name"]: m for m in agent["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["pod-logs"]["readOnly"] is True
    assert agent["spec"]["containers"][0]["image"] == "docker.io/otel/opentelemetry-collector-contrib:0.161.0"
    text = objs[("ConfigMap", "log-agent")]["data"]["config.yaml"]
    assert agent["metadata"]["annotations"]["checksum/config"] == hashlib.sha256(text.encode()).hexdigest()
    config = yaml.safe_load(text)
    assert config["exporters"]["otlp_http/store"]["logs_endpoint"] == \
        "http://victoria-logs.monitoring.svc:9428/insert/opentelemetry/v1/logs"
    assert config["receivers"]["file_log"]["exclude"] == ["/var/log/pods/monitoring_log-agent-*/*/*.log"]
    assert config["service"]["pipelines"]["logs"] == {
        "receivers": ["file_log"], "processors": ["k8s_attributes", "batch"], "exporters": ["otlp_http/store"]}
    labels = {e["tag_name"]: e["key"] for e in config["processors"]["k8s_attributes"]["extract"]["labels"]}
    assert labels["service.version"] == "app.kubernetes.io/version"
    assert labels["app.component"] == "app.kubernetes.io/component"
    binding = objs[("ClusterRoleBinding", "agent-monitoring-log-agent")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "log-agent", "namespace": "monitoring"}]


def test_log_agent_config_is_valid_for_the_collector(rendered, tmp_path):
    """The collector the project builds (`make otelcol`, the agent's image) accepts the rendered configuration."""
    binary = Path(os.environ.get("BIN_DIR", Path.home() / ".cache" / "agent-service-platform" / "bin")) \
        / "otelcol-agent-service"
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: run `make otelcol`")
    objs = {(d["kind"], d["metadata"]["name"]): d for d in docs(rendered / "logs.yaml")}
    config = tmp_path / "config.yaml"
    config.write_text(objs[("ConfigMap", "log-agent")]["data"]["config.yaml"])
    proc = subprocess.run([str(binary), "validate", f"--config={config}"], capture_output=True, text=True,
                          env=dict(os.environ, K8S_NODE_NAME="node"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(config.read_text().replace("poll_interval:", "poll_intervall:"))
    proc = subprocess.run([str(binary), "validate", f"--config={broken}"], capture_output=True, text=True)
    assert proc.returncode != 0 and "poll_intervall" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.mark.parametrize(("variable", "value"), [
    ("monitoring_stack_logs_retention", "7 days"),
    ("monitoring_stack_logs_storage_size", "ten"),
    ("monitoring_stack_logs_pod_log_dir", "var/log/pods"),
    ("monitoring_stack_logs_public_images", {"victoria_logs": "victoria-logs"}),
])
def test_bad_log_inputs_are_refused(tmp_path, variable, value):
    proc = run_render(tmp_path, "-e", json.dumps({variable: value}))
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "monitoring_stack_logs_retention must be a VictoriaLogs duration" in proc.stdout, proc.stdout[-3000:]
    assert not (tmp_path / "logs.yaml").exists()


def test_broken_rules_are_refused_before_they_land(tmp_path):
    source = tmp_path / "monitoring"
    shutil.copytree(MONITORING, source, ignore=shutil.ignore_patterns("images"))
    rules = source / "prometheus" / "rules.yml"
    rules.write_text(rules.read_text().replace("expr: pg_up == 0", "expr: pg_up ==", 1))
    proc = run_render(tmp_path / "out", "-e", f"monitoring_stack_source_dir={source}")
    assert proc.returncode != 0
    assert "failed to validate" in proc.stdout and "PostgreSQLConnectionErrors" in proc.stdout, proc.stdout[-3000:]


def test_bad_mode_is_refused(tmp_path):
    proc = run_render(tmp_path, "-e", "monitoring_stack_mode=helm")
    assert proc.returncode != 0 and "monitoring_stack_mode must be one of" in proc.stdout


def test_operator_manifests_validate_against_the_api_schemas(rendered):
    """kubeconform -strict with the offline schemas of Kubernetes and the operator's CRDs (make chart-schemas)."""
    schemas = os.environ.get("MONITORING_KUBE_SCHEMAS", "")
    kubeconform = shutil.which("kubeconform")
    if not schemas or not Path(schemas).is_dir() or not kubeconform:
        pytest.fail("kubeconform or its schemas are missing: run `make monitoring-test` (gotools, chart-schemas)")
    names = ("operator", "kube-state-metrics", "node-exporter", "kubelet", "prometheus", "exporters",
             "external-metrics-adapter", "logs")
    stream = "".join("---\n" + (rendered / f"{n}.yaml").read_text() + "\n" for n in names)
    proc = subprocess.run([kubeconform, "-strict", "-summary", "-schema-location",
                           f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json", "-"],
                          input=stream, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Invalid: 0, Errors: 0, Skipped: 0" in proc.stdout, proc.stdout
