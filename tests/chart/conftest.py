"""Shared fixtures for the chart tests: render the chart with the real helm binary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "agent-service"
ENVIRONMENTS = ("dev", "staging", "prod")
KUBE_VERSION = os.environ.get("KUBERNETES_VERSION", "v1.34.4").lstrip("v")


def helm_bin() -> str:
    path = os.environ.get("HELM_BIN") or shutil.which("helm")
    if not path:
        raise RuntimeError("helm not found: run `make gotools` or set HELM_BIN")
    return path


def helm_template(
    *args: str, values: dict | None = None, tmp_path: Path | None = None, check: bool = True, chart: Path = CHART
) -> subprocess.CompletedProcess:
    cmd = [helm_bin(), "template", "t", str(chart), "--namespace", "agents", "--kube-version", KUBE_VERSION, *args]
    if values is not None:
        assert tmp_path is not None
        f = tmp_path / "override.yaml"
        f.write_text(yaml.safe_dump(values))
        cmd += ["-f", str(f)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm template failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def kubeconform(manifests: str) -> tuple[int, dict]:
    """kubeconform -strict over the manifests with the offline schemas (make chart-schemas):
    its exit code (0 all valid, 1 some invalid) and its JSON report (resources, summary)."""
    location = os.environ.get("KUBECONFORM_SCHEMA_LOCATION")
    assert location, "KUBECONFORM_SCHEMA_LOCATION is not set: run through `make chart-pytest`"
    assert shutil.which("kubeconform"), "kubeconform is not on PATH: run `make gotools`"
    proc = subprocess.run(["kubeconform", "-strict", "-summary", "-verbose", "-output", "json",
                           "-kubernetes-version", KUBE_VERSION, "-schema-location", location],
                          input=manifests, capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), f"kubeconform exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def kube_score(manifests: str, enable: list[str], ignore: list[str]) -> list[dict]:
    """`kube-score score` over the manifests (make gotools), the optional checks `enable` on and the
    checks `ignore` off, for the test bed's Kubernetes minor; the `kube-score/ignore` annotations do
    not count, so tests/chart/kube-score.yaml stays the one place that accepts a finding. Its JSON
    report: one entry per scored object, with its checks, their grade and comments."""
    assert shutil.which("kube-score"), "kube-score is not on PATH: run `make gotools`"
    major, minor = KUBE_VERSION.split(".")[:2]
    cmd = ["kube-score", "score", "--output-format", "json", "--kubernetes-version", f"v{major}.{minor}",
           "--disable-ignore-checks-annotations"]
    for check in enable:
        cmd += ["--enable-optional-test", check]
    for check in ignore:
        cmd += ["--ignore-test", check]
    # exit code 1: some check is critical; the caller decides what that means
    proc = subprocess.run([*cmd, "-"], input=manifests, capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), f"kube-score exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


def render_env_text(env: str, *extra: str) -> str:
    """helm template's output for one environment's values file, as helm writes it."""
    return helm_template("-f", str(CHART / f"values-{env}.yaml"), *extra).stdout


def render_env(env: str, *extra: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(render_env_text(env, *extra)) if d]


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def env_rendered(request) -> tuple[str, str]:
    return request.param, render_env_text(request.param)


@pytest.fixture(scope="session")
def env_manifests(env_rendered) -> tuple[str, list[dict]]:
    env, text = env_rendered
    return env, [d for d in yaml.safe_load_all(text) if d]
