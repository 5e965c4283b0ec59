"""Shared by the live module tests: the real helm binaries, the cluster KUBECONFIG names (the
test bed by default), a tiny chart of our own, a namespace per test, and a module run as Ansible
runs it (a subprocess fed a JSON args file)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLL = ROOT / ".cache" / "collections"
MODULES = ROOT / "plugins" / "modules"
BIN_DIR = Path(os.environ.get("BIN_DIR", Path.home() / ".cache/agent-service-platform/bin"))
KUBECONFIG = os.environ.get("KUBECONFIG") or str(ROOT / ".testbed" / "kubeconfig")

# a ConfigMap, plus a Deployment that can be made to never get ready; the schema refuses a
# non-string generation
CHART = {
    "values.schema.json": '{"type": "object", "properties": {"generation": {"type": "string"}}}',
    "Chart.yaml": "apiVersion: v2\nname: rollback-probe\nversion: 0.1.0\nappVersion: '1'\n",
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  generation: {{ .Values.generation | quote }}\n"),
    "templates/deployment.yaml": (
        "{{- if .Values.stuck }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  replicas: 1\n  selector: {matchLabels: {app: probe}}\n  template:\n"
        "    metadata: {labels: {app: probe}}\n    spec:\n      containers:\n"
        "        - {name: c, image: 'localhost/never-there:1', imagePullPolicy: Never}\n{{- end }}\n"),
}


def helm_bin(name):
    path = BIN_DIR / name
    assert path.exists(), f"{name} is not built: run `make gotools`"
    return str(path)


def run(argv, **kw):
    env = dict(os.environ, KUBECONFIG=KUBECONFIG)
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, **kw)


def run_module(name, tmp_path, **args):
    """Run plugins/modules/<name>.py with ``args`` (and the cluster's kubeconfig); its JSON result."""
    args_file = tmp_path / f"args-{uuid.uuid4().hex}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, kubeconfig=KUBECONFIG)}))
    proc = subprocess.run([sys.executable, str(MODULES / f"{name}.py"), str(args_file)], capture_output=True,
                          text=True, check=False, env=dict(os.environ, PYTHONPATH=str(COLL)), cwd=tmp_path)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout[proc.stdout.index("{"):])


@pytest.fixture(scope="module")
def cluster():
    assert Path(KUBECONFIG).exists(), f"no cluster: {KUBECONFIG} does not exist (make cluster)"
    proc = run([helm_bin("helm"), "list", "-A"])
    assert proc.returncode == 0, proc.stderr
    return KUBECONFIG


@pytest.fixture()
def chart(tmp_path):
    root = tmp_path / "chart"
    for rel, text in CHART.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture()
def namespace(cluster):
    name = f"e2e-modules-{uuid.uuid4().hex[:6]}"
    assert run(["kubectl", "create", "namespace", name]).returncode == 0
    yield name
    run(["kubectl", "delete", "namespace", name, "--wait=false"])
