"""Every environment's values pass `helm lint --strict` with helm 3 and helm 4, and the rendered
manifests pass kubeconform in strict mode against the offline schemas of the pinned Kubernetes
and prometheus-operator (make chart-schemas; KUBECONFORM_SCHEMA_LOCATION names them)."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from conftest import CHART, ENVIRONMENTS, KUBE_VERSION, helm_template, kubeconform


def run(cmd: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    assert shutil.which(cmd[0]), f"{cmd[0]} is not on PATH: run `make chart-tools`"
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True)


@pytest.mark.parametrize("helm", ["helm", "helm4"])
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_helm_lint_strict(helm, env):
    proc = run([helm, "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION,
                "-f", str(CHART / f"values-{env}.yaml")])
    assert proc.returncode == 0, f"{helm} lint {env}:\n{proc.stdout}\n{proc.stderr}"
    assert "1 chart(s) linted, 0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kubeconform_strict(env):
    manifests = helm_template("-f", str(CHART / f"values-{env}.yaml")).stdout
    rc, report = kubeconform(manifests)
    assert rc == 0, f"kubeconform {env}:\n{json.dumps(report, indent=1)}"
    summary = report["summary"]
    assert summary["invalid"] == summary["errors"] == summary["skipped"] == 0, summary
    assert summary["valid"] == len([d for d in yaml.safe_load_all(manifests) if d]), summary
