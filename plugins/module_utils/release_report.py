# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report stage's writes in one module run (the release_report module).

- ``write_files``: the JSON report and its Markdown, side by side under one base path, each
  written to a temporary file in the same directory and renamed, so a reader never sees half a
  report; the directory is created (mode 0750) when missing.
- ``put_marker`` and ``prune_markers``: the deploy marker, a labelled ConfigMap that
  kube-state-metrics exports, and the retention of the newest ``retention`` markers of the
  release (the others are deleted, oldest first).
- ``remove_work_dir``: the run's private scratch directory (it holds values with secrets).
"""

import json
import os
import shutil
import tempfile


class ReportError(Exception):
    """A step of the report failed; ``msg`` says which and why."""

    def __init__(self, msg):
        super().__init__(msg)
        self.msg = msg


def _write_private(path, text, mode):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".report-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_files(base, report, markdown, mode=0o640):
    """Write ``<base>.json`` and ``<base>.md``; returns their paths."""
    directory = os.path.dirname(base) or "."
    try:
        os.makedirs(directory, mode=0o750, exist_ok=True)
        paths = {"json": base + ".json", "markdown": base + ".md"}
        _write_private(paths["json"], json.dumps(report, indent=4, sort_keys=True) + "\n", mode)
        _write_private(paths["markdown"], markdown if markdown.endswith("\n") else markdown + "\n", mode)
    except OSError as exc:
        raise ReportError(f"cannot write the report under {directory}: {exc.strerror or exc}") from exc
    return paths


def marker_body(name, namespace, labels, data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "data": {key: value if isinstance(value, str) else json.dumps(value) for key, value in data.items()}}


def put_marker(core_api, name, namespace, labels, data):
    """Create the marker ConfigMap (replaced when a marker of the same name exists)."""
    from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel

    body = marker_body(name, namespace, labels, data)
    try:
        core_api.create_namespaced_config_map(namespace, body)
    except ApiException as exc:
        if exc.status != 409:
            raise ReportError(f"cannot create the deploy marker {namespace}/{name}: "
                              f"HTTP {exc.status} {exc.reason}") from exc
        core_api.replace_namespaced_config_map(name, namespace, body)
    return name


def markers_to_prune(items, retention):
    """Names of the markers beyond the newest ``retention`` (items: (name, creationTimestamp))."""
    newest_first = sorted(items, key=lambda item: (item[1], item[0]), reverse=True)
    return [name for name, _created in newest_first[retention:]]


def prune_markers(core_api, namespace, selector, retention):
    """Delete the release's markers beyond the newest ``retention``; returns the deleted names."""
    from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel

    try:
        found = core_api.list_namespaced_config_map(namespace, label_selector=selector).items
        doomed = markers_to_prune([(cm.metadata.name, cm.metadata.creation_timestamp.isoformat()) for cm in found],
                                  retention)
        for name in doomed:
            try:
                core_api.delete_namespaced_config_map(name, namespace)
            except ApiException as exc:
                if exc.status != 404:
                    raise
    except ApiException as exc:
        raise ReportError(f"cannot apply the deploy marker retention in {namespace} ({selector}): "
                          f"HTTP {exc.status} {exc.reason}") from exc
    return doomed


def remove_work_dir(path):
    """Remove the run's scratch directory; returns whether there was one."""
    if not path or not os.path.isdir(path):
        return False
    shutil.rmtree(path)
    return True
