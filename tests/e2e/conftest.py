"""Fixtures of the live module tests: the cluster, the tiny chart, a namespace per test."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from live_modules import CHART, KUBECONFIG, helm_bin, run


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
