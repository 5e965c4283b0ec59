# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm's own release records, for the one edit helm has no command for.

A helm process killed in the middle of an upgrade leaves its revision ``pending-upgrade``
for ever: a later ``helm rollback`` creates a new deployed revision but does not touch
the stuck one, so ``helm history`` keeps showing a pending revision. Helm stores each
revision in the release's namespace as a Secret (driver ``secret``, the default) or a
ConfigMap (driver ``configmap``) named ``sh.helm.release.v1.<release>.v<revision>``,
labelled ``owner=helm``, ``name``, ``version`` and ``status``. Its ``release`` field holds
the release as JSON, gzipped and base64-encoded (a Secret adds the API's own base64 on
top). Marking the stuck revision ``failed`` is what helm itself does to a revision whose
upgrade failed.

The codec and the decision are pure functions; reading and writing the object goes
through a *store* with two methods (see ``KubernetesRecordStore``), so the logic is
tested without a cluster and the module talks to the real API server.
"""

import base64
import gzip
import json

from .helm import PENDING_STATES, HelmError

DRIVERS = ("secret", "configmap")
_GZIP_MAGIC = b"\x1f\x8b"


def record_name(release, revision):
    """Name of the Secret/ConfigMap that holds one revision."""
    return f"sh.helm.release.v1.{release}.v{int(revision)}"


def decode_release(text):
    """The ``release`` field (helm's base64 of gzipped JSON) -> the release as a dict."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise HelmError(f"helm release record is not base64: {exc}") from exc
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise HelmError(f"helm release record is not valid gzip: {exc}") from exc
    try:
        release = json.loads(raw)
    except ValueError as exc:
        raise HelmError(f"helm release record is not JSON: {exc}") from exc
    if not isinstance(release, dict) or not isinstance(release.get("info"), dict):
        raise HelmError("helm release record has no 'info' section")
    return release


def encode_release(release):
    """A release dict -> the ``release`` field, encoded the way helm writes it."""
    data = json.dumps(release, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(data, mtime=0)).decode()


def mark_failed(release, reason):
    """A copy of a pending-* release with status ``failed`` and ``reason`` as its description."""
    status = release["info"].get("status")
    if status not in PENDING_STATES:
        raise HelmError(f"revision {release.get('version')} is {status}, not pending: it is left as it is")
    return dict(release, info=dict(release["info"], status="failed", description=reason))


class KubernetesRecordStore:
    """Reads and writes helm's records through the kubernetes Python client.

    ``get(name)`` returns ``(release_field, resource_version)``; ``put(name, field,
    resource_version, labels)`` writes it back, and the resource version makes the API
    server refuse the write when helm changed the record in between (HTTP 409).
    """

    def __init__(self, api_client, namespace, driver="secret"):
        if driver not in DRIVERS:
            raise HelmError(f"helm storage driver {driver!r} is not supported here (only {', '.join(DRIVERS)})")
        from kubernetes import client  # pylint: disable=import-outside-toplevel

        self.core = client.CoreV1Api(api_client)
        self.namespace = namespace
        self.driver = driver

    def get(self, name):
        if self.driver == "secret":
            obj = self.core.read_namespaced_secret(name, self.namespace)
            field = base64.b64decode(obj.data["release"]).decode()
        else:
            obj = self.core.read_namespaced_config_map(name, self.namespace)
            field = obj.data["release"]
        return field, obj.metadata.resource_version

    def put(self, name, field, resource_version, labels):
        meta = {"resourceVersion": resource_version, "labels": labels}
        if self.driver == "secret":
            body = {"metadata": meta, "data": {"release": base64.b64encode(field.encode()).decode()}}
            self.core.patch_namespaced_secret(name, self.namespace, body)
        else:
            self.core.patch_namespaced_config_map(name, self.namespace, {"metadata": meta, "data": {"release": field}})


def mark_stuck_revision(store, release_name, revision, reason):
    """Mark one pending-* revision failed in helm's storage; return what was done."""
    name = record_name(release_name, revision)
    field, resource_version = store.get(name)
    release = decode_release(field)
    before = release["info"].get("status")
    marked = mark_failed(release, reason)
    store.put(name, encode_release(marked), resource_version, {"status": "failed"})
    return dict(revision=int(revision), record=name, status_before=before, status="failed", description=reason)
