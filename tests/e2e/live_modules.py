"""Helpers of the live module tests: the real helm binaries, the cluster KUBECONFIG names (the
test bed by default), a tiny chart of our own, and a module run as Ansible runs it (a subprocess
fed a JSON args file). Their fixtures are in conftest.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

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


def run_module(module_name, tmp_path, /, **args):
    """Run plugins/modules/<name>.py with ``args`` (and the cluster's kubeconfig); its JSON result."""
    args_file = tmp_path / f"args-{uuid.uuid4().hex}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, kubeconfig=KUBECONFIG)}))
    proc = subprocess.run([sys.executable, str(MODULES / f"{module_name}.py"), str(args_file)], capture_output=True,
                          text=True, check=False, env=dict(os.environ, PYTHONPATH=str(COLL)), cwd=tmp_path)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout[proc.stdout.index("{"):])
