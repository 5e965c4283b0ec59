"""Fixtures for the test bed suite: kubectl against the running test bed, throwaway
namespaces, and a workload image built locally with testbed/images/build.sh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KUBECONFIG = ROOT / ".testbed" / "kubeconfig"
BIN_DIR = Path(os.environ.get("BIN_DIR", Path.home() / ".cache" / "agent-service-platform" / "bin"))
ECHO_IMAGE = "localhost/testbed/echo:test"


class Kube:
    """kubectl with the test bed's admin kubeconfig."""

    def __init__(self) -> None:
        self.kubectl = str(BIN_DIR / "kubectl")

    def run(self, *args: str, check: bool = True, input_: str | None = None, timeout: float = 120):
        res = subprocess.run([self.kubectl, f"--kubeconfig={KUBECONFIG}", *args], input=input_,
                             capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({res.returncode}):\n{res.stderr}{res.stdout}")
        return res

    def json(self, *args: str):
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(self, manifest: str, namespace: str | None = None, check: bool = True):
        ns = ["-n", namespace] if namespace else []
        return self.run(*ns, "apply", "-f", "-", input_=manifest, check=check)

    def wait_for(self, what: str, probe, timeout: float = 120, interval: float = 1.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")

    def pod_logs_when_done(self, namespace: str, pod: str, timeout: float = 120) -> tuple[str, str]:
        """Wait until a restartPolicy=Never pod finished; return (phase, logs)."""
        def done():
            phase = self.run("-n", namespace, "get", "pod", pod, "-o", "jsonpath={.status.phase}",
                             check=False).stdout
            return phase if phase in ("Succeeded", "Failed") else None
        phase = self.wait_for(f"pod {namespace}/{pod} to finish", done, timeout)
        return phase, self.run("-n", namespace, "logs", pod).stdout


@pytest.fixture(scope="session")
def kube() -> Kube:
    if not KUBECONFIG.exists():
        pytest.fail(f"{KUBECONFIG} missing: the test bed is not running (make cluster)")
    k = Kube()
    if k.run("get", "--raw=/readyz", check=False).returncode != 0:
        pytest.fail("the test bed's API server does not answer: run 'make cluster'")
    return k


@pytest.fixture
def namespace(kube: Kube, request):
    name = f"tb-{request.node.name.replace('_', '-')[:40].rstrip('-').lower()}-{uuid.uuid4().hex[:5]}"
    kube.run("create", "namespace", name)
    yield name
    kube.run("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def echo_image(kube: Kube) -> str:
    """Build the suite's workload image from tests/testbed/echo with the project's builder."""
    src = Path(__file__).resolve().parent / "echo"
    with tempfile.TemporaryDirectory() as ctx:
        subprocess.run(["go", "build", "-trimpath", "-o", f"{ctx}/echo", "."], cwd=src, check=True,
                       env={**os.environ, "CGO_ENABLED": "0"})
        shutil.copy(src / "Dockerfile", ctx)
        subprocess.run(["bash", str(ROOT / "testbed" / "images" / "build.sh"), ECHO_IMAGE, ctx], check=True)
    return ECHO_IMAGE


def restricted_container(name: str, image: str, args: list[str], **extra) -> dict:
    """A container spec that passes PodSecurity 'restricted'."""
    spec = {
        "name": name, "image": image, "imagePullPolicy": "Never", "args": args,
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 10001,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    spec.update(extra)
    return spec
