# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release backup: helm state, a pg_dump archive, a manifest, retention by count.

One backup is a directory ``<timestamp>-r<revision>`` holding ``values.yaml``,
``manifest.yaml``, ``history.json`` (helm's record of the release), ``db.dump``
(``pg_dump -Fc``) and ``manifest.json`` (what the backup holds, with the dump's size and
sha256; ``playbooks/restore.yml`` reads it). Every file is created mode 0600 (the values
hold secrets), the directory 0700.

The pure parts (commands, manifest, retention) are plain functions. ``run_to_files``
runs several commands side by side, each writing its stdout to a file as bytes (a dump
is binary), so that the helm reads and the dump cost one round trip, not four.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess

HELM_STATE_FILES = ("values.yaml", "manifest.yaml", "history.json")
DUMP_FILE = "db.dump"
MANIFEST_FILE = "manifest.json"
# a backup directory's name: <UTC timestamp>-r<revision>
BACKUP_DIR_RE = re.compile(r"^\d{8}T\d{6}Z-r\d+$")
# pg_dump inside the chart's PostgreSQL container, with the credentials of its own environment
POD_DUMP_SCRIPT = 'PGPASSWORD="$POSTGRES_PASSWORD" pg_dump -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Fc'


class BackupError(Exception):
    """A step of the backup failed; ``detail`` holds the command's stderr when there was one."""

    def __init__(self, msg, detail=""):
        super().__init__(msg)
        self.msg = msg
        self.detail = detail


def helm_state_commands(helm, release, namespace, revision):
    """(file name, argv) of the three helm reads that make up the release's state."""
    scope = ["--namespace", namespace]
    return [
        ("values.yaml", [helm, "get", "values", release] + scope + ["--revision", str(revision), "--output", "yaml"]),
        ("manifest.yaml", [helm, "get", "manifest", release] + scope + ["--revision", str(revision)]),
        ("history.json", [helm, "history", release] + scope + ["--output", "json"]),
    ]


def pod_lookup_command(kubectl, namespace, selector):
    """argv that lists the Running pods matching a label selector, as JSON."""
    return list(kubectl) + ["get", "pods", "--namespace", namespace, "--selector", selector,
                            "--field-selector", "status.phase=Running", "--output", "json"]


def running_pod(pods_json):
    """Name of the first pod of a ``kubectl get pods -o json`` answer, or None."""
    items = json.loads(pods_json or "{}").get("items") or []
    names = sorted(item["metadata"]["name"] for item in items if item.get("metadata", {}).get("name"))
    return names[0] if names else None


def pod_dump_command(kubectl, namespace, pod, container):
    """argv that writes ``pg_dump -Fc`` of the pod's own database to stdout."""
    return list(kubectl) + ["exec", "--namespace", namespace, pod, "-c", container, "--",
                            "sh", "-c", POD_DUMP_SCRIPT]


def retention_victims(names, keep):
    """The backup directories to delete so that only the newest ``keep`` remain.

    Names sort by their timestamp; anything that is not a backup directory is left alone.
    """
    if keep < 1:
        raise ValueError(f"retention must keep at least one backup, got {keep!r}")
    ours = sorted((n for n in names if BACKUP_DIR_RE.match(n)), reverse=True)
    return ours[keep:]


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(path, created, release, namespace, revision, metadata=None, dump=None):
    """The manifest of a backup (also the ``backup`` block of the release report)."""
    dump = dump or {}
    manifest = {
        "path": path,
        "created": created,
        "release": release,
        "namespace": namespace,
    }
    manifest.update(metadata or {})
    manifest.update({
        "revision": int(revision),
        "files": list(HELM_STATE_FILES) + ([DUMP_FILE] if dump.get("dumped") else []),
        "database": {
            "dumped": bool(dump.get("dumped")),
            "bytes": int(dump.get("bytes", 0)),
            "sha256": dump.get("sha256", ""),
            "format": "custom",
            "method": dump.get("method", "none"),
        },
    })
    return manifest


def private_file(path):
    """Open a new file for writing in binary, mode 0600."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")


def run_to_files(jobs, env=None):
    """Run ``(argv, path)`` jobs side by side, each stdout into its file (mode 0600).

    Returns the failures as ``(argv, rc, stderr)``; a command that cannot start counts
    as rc 127. Every job is waited for, whatever the others do.
    """
    running, failures = [], []
    for argv, path in jobs:
        out = None
        try:
            out = private_file(path)
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=env)
        except OSError as exc:  # the file cannot be created (read-only, full) or the command cannot start
            if out is not None:
                out.close()
            failures.append((argv, 127, f"{path}: {exc.strerror or exc}"))
            continue
        running.append((argv, proc, out))
    for argv, proc, out in running:
        err = proc.communicate()[1]
        out.close()
        if proc.returncode != 0:
            failures.append((argv, proc.returncode, err.decode("utf-8", "replace").strip()))
    return failures


def verify_dump(pg_restore, path):
    """Entries in a pg_dump custom archive (``pg_restore --list``), or None without pg_restore.

    Raises BackupError when the file is not a readable archive.
    """
    try:
        proc = subprocess.run([pg_restore, "--list", path], capture_output=True, text=True, check=False)
    except OSError:
        return None
    if proc.returncode != 0:
        raise BackupError(f"{path} is not a readable pg_dump archive", proc.stderr.strip())
    return sum(1 for line in proc.stdout.splitlines() if line and not line.startswith(";"))


def describe_failures(failures):
    return "; ".join("{} exited {}: {}".format(" ".join(argv[:3]), rc, err[-400:]) for argv, rc, err in failures)


def first_cause(failures, width=200):
    """The last line of the first failure's stderr: the cause in one line ("no space left on device")."""
    lines = [ln.strip() for ln in (failures[0][2] if failures else "").splitlines() if ln.strip()]
    return (lines[-1] if lines else f"exit status {failures[0][1]}" if failures else "")[:width]
