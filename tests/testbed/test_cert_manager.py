"""cert-manager on the test bed (testbed/ingress/cert-manager.sh install): the CA issuers that
stand in for Let's Encrypt issue certificates that verify against the test bed's CA, the
ingress-shim turns an annotated Ingress into a Certificate, and a Certificate naming a missing
issuer stays not Ready without a Secret."""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from conftest import Kube

CM_NS = "cert-manager"
CA_ISSUERS = ("testbed-ca", "letsencrypt-staging", "letsencrypt-prod")
TIMEOUT = 120


@pytest.fixture(scope="module", autouse=True)
def cert_manager(kube: Kube) -> None:
    """Fail (not skip) with the fix when cert-manager is not installed on the test bed."""
    res = kube.run("-n", CM_NS, "get", "deployment", "cert-manager", "-o", "json", check=False)
    if res.returncode != 0:
        pytest.fail("cert-manager is not installed on the test bed: run "
                    "'testbed/ingress/cert-manager.sh build && testbed/ingress/cert-manager.sh install'\n"
                    + res.stderr)
    status = json.loads(res.stdout).get("status", {})
    if status.get("availableReplicas", 0) < 1:
        pytest.fail(f"cert-manager's Deployment has no available replica: {status}")


def condition(obj: dict, kind: str = "Ready") -> dict:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), {})


def wait_ready(kube: Kube, namespace: str, what: str) -> None:
    kube.run("-n", namespace, "wait", "--for=condition=Ready", what, f"--timeout={TIMEOUT}s", timeout=TIMEOUT + 10)


def certificate(name: str, secret: str, host: str, issuer: str) -> dict:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name},
            "spec": {"secretName": secret, "dnsNames": [host],
                     "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer}}}


def secret_data(kube: Kube, namespace: str, name: str, key: str) -> bytes:
    data = kube.json("-n", namespace, "get", "secret", name)["data"]
    return base64.b64decode(data[key])


def openssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)


def subject_alt_names(cert_file: Path) -> list[str]:
    """The SAN entries of a PEM certificate, as openssl prints them (e.g. 'DNS:host')."""
    res = openssl("x509", "-in", str(cert_file), "-noout", "-ext", "subjectAltName")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    # cert-manager leaves the subject empty when a Certificate names no commonName, so the
    # extension is marked critical (RFC 5280, 4.2.1.6).
    assert lines and lines[0].strip() in ("X509v3 Subject Alternative Name:",
                                          "X509v3 Subject Alternative Name: critical"), res.stdout
    return [name.strip() for line in lines[1:] for name in line.split(",") if name.strip()]


# --------------------------------------------------------------------------- issuers

def test_ca_issuers_ready(kube: Kube):
    ca_cert = kube.json("-n", CM_NS, "get", "certificate", "testbed-ca")
    assert condition(ca_cert).get("status") == "True", ca_cert.get("status")
    assert ca_cert["spec"]["isCA"] is True
    assert ca_cert["spec"]["issuerRef"]["name"] == "selfsigned"
    for name in ("selfsigned", *CA_ISSUERS):
        issuer = kube.json("get", "clusterissuer", name)
        ready = condition(issuer)
        assert ready.get("status") == "True", (name, issuer.get("status"))
        if name != "selfsigned":
            assert issuer["spec"] == {"ca": {"secretName": "testbed-ca"}}, (name, issuer["spec"])
            # The CA issuer checked its key pair: "Signing CA verified".
            assert ready.get("reason") == "KeyPairVerified", (name, ready)
    ca = kube.json("-n", CM_NS, "get", "secret", "testbed-ca")
    assert ca["type"] == "kubernetes.io/tls"
    assert {"ca.crt", "tls.crt", "tls.key"} <= set(ca["data"]), sorted(ca["data"])


# --------------------------------------------------------------------------- issuance

def test_staging_certificate_verifies_against_testbed_ca(kube: Kube, namespace: str):
    host = "tls-check.testbed.example"
    kube.apply(json.dumps(certificate("tls-check", "tls-check-tls", host, "letsencrypt-staging")), namespace)
    wait_ready(kube, namespace, "certificate/tls-check")

    secret = kube.json("-n", namespace, "get", "secret", "tls-check-tls")
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["annotations"]["cert-manager.io/issuer-name"] == "letsencrypt-staging"
    with tempfile.TemporaryDirectory() as tmp:
        leaf, ca = Path(tmp, "tls.crt"), Path(tmp, "ca.crt")
        leaf.write_bytes(base64.b64decode(secret["data"]["tls.crt"]))
        ca.write_bytes(secret_data(kube, CM_NS, "testbed-ca", "ca.crt"))
        res = openssl("verify", "-CAfile", str(ca), str(leaf))
        assert res.returncode == 0 and res.stdout.strip() == f"{leaf}: OK", res.stdout + res.stderr
        assert subject_alt_names(leaf) == [f"DNS:{host}"]
    # The issued Secret's own ca.crt is the test bed's CA as well.
    assert base64.b64decode(secret["data"]["ca.crt"]) == secret_data(kube, CM_NS, "testbed-ca", "ca.crt")


def test_ingress_shim_creates_certificate_for_annotated_ingress(kube: Kube, namespace: str):
    host = "shim-check.testbed.example"
    ingress = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}},
        "spec": {"rules": [{"host": host, "http": {"paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}],
                 "tls": [{"secretName": "web-tls", "hosts": [host]}]},
    }
    kube.apply(json.dumps(ingress), namespace)

    def shim_certificate():
        res = kube.run("-n", namespace, "get", "certificate", "web-tls", "-o", "json", check=False)
        return json.loads(res.stdout) if res.returncode == 0 else None
    cert = kube.wait_for("the ingress-shim to create Certificate web-tls", shim_certificate, TIMEOUT)
    owners = cert["metadata"].get("ownerReferences", [])
    assert [(o["kind"], o["name"], o.get("controller")) for o in owners] == [("Ingress", "web", True)], owners
    assert cert["spec"]["dnsNames"] == [host]
    assert cert["spec"]["secretName"] == "web-tls"
    assert cert["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer",
                                         "name": "letsencrypt-prod"}, cert["spec"]["issuerRef"]

    wait_ready(kube, namespace, "certificate/web-tls")
    secret = kube.json("-n", namespace, "get", "secret", "web-tls")
    assert secret["type"] == "kubernetes.io/tls"
    assert {"tls.crt", "tls.key"} <= set(secret["data"])
    with tempfile.TemporaryDirectory() as tmp:
        leaf = Path(tmp, "tls.crt")
        leaf.write_bytes(base64.b64decode(secret["data"]["tls.crt"]))
        assert subject_alt_names(leaf) == [f"DNS:{host}"]


# --------------------------------------------------------------------------- bad input

def test_certificate_with_missing_issuer_stays_not_ready(kube: Kube, namespace: str):
    missing = f"no-such-issuer-{uuid.uuid4().hex[:6]}"
    kube.apply(json.dumps(certificate("orphan", "orphan-tls", "orphan.testbed.example", missing)), namespace)

    # cert-manager asks for the certificate (a CertificateRequest) and the request reports that
    # its issuer does not exist, naming it.
    def request_pending():
        items = kube.json("-n", namespace, "get", "certificaterequests")["items"]
        for cr in items:
            ready = condition(cr)
            if ready.get("status") == "False" and missing in ready.get("message", ""):
                return cr
        return None
    cr = kube.wait_for(f"a CertificateRequest reporting that {missing} is missing", request_pending, TIMEOUT)
    ready = condition(cr)
    assert ready["reason"] == "Pending", ready
    assert ready["message"] == (f'Referenced "ClusterIssuer" not found: '
                                f'clusterissuer.cert-manager.io "{missing}" not found'), ready
    assert [(o["kind"], o["name"]) for o in cr["metadata"]["ownerReferences"]] == [("Certificate", "orphan")]
    events = kube.json("-n", namespace, "get", "events", "--field-selector",
                       f"involvedObject.kind=CertificateRequest,involvedObject.name={cr['metadata']['name']},"
                       "reason=IssuerNotFound")["items"]
    assert events and all(missing in e["message"] for e in events), events

    # ... and the Certificate stays not Ready, without a Secret, while the issuer is missing.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        cert = kube.json("-n", namespace, "get", "certificate", "orphan")
        assert condition(cert).get("status") == "False", cert.get("status")
        res = kube.run("-n", namespace, "get", "secret", "orphan-tls", check=False)
        assert res.returncode != 0 and "NotFound" in res.stderr, res.stdout + res.stderr
        time.sleep(3)
    issuing = condition(cert, "Issuing")
    assert issuing.get("status") == "True", cert.get("status")
