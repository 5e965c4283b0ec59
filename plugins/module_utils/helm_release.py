# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the release pipeline asks helm about a release, on top of HelmRunner (helm.py).

- ``read_status``: the helm and helm-diff versions checked against their minimums (written
  once, here and in helm.py), the newest revision of the release and its status, the releases
  of the namespace (these reads side by side), the traffic group the release's API Service
  selects, and the chart's fullname of the release (``chart_fullname``, the rule of the chart's
  _helpers.tpl).
- ``run_diff``: ``helm template`` against the cluster's Kubernetes version (the values schema
  and the chart's own checks), the rendered workloads' hard scheduling rules against the
  cluster's nodes (``check_schedule``, scheduling.py), and the three-way ``helm diff upgrade``,
  the three side by side (they only read), then the decision whether there is anything to
  release (``release_pending``). A render that fails wins over whatever the diff said.

No AnsibleModule import: modules release_status and helm_diff are thin shells over this.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

from . import scheduling
from .helm import MIN_HELM_VERSION, PENDING_STATES, HelmError, _dotted
from .k8s_client import Forbidden

try:
    import yaml  # PyYAML: ansible-core's own dependency on the controller, where the release modules run
except ImportError:  # pragma: no cover - the sanity import test runs without it
    yaml = None

HELM_DIFF_MIN_VERSION = (3, 9, 0)
# a resource line of `helm diff upgrade`: "namespace, name, Kind (group) has changed:"
_DIFF_HEADER = re.compile(r"^[^ +-].*, .* \(.*\) has (been added|been removed|changed):")
_DIFF_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_CHART_NAME = re.compile(r"^name:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)


def _trunc(text, limit=63):
    """Sprig's ``trunc 63 | trimSuffix "-"``."""
    text = text[:limit]
    return text[:-1] if text.endswith("-") else text


def chart_fullname(release_name, chart_name, fullname_override="", name_override=""):
    """The chart's ``agent-service.fullname``: the override, else the release name when it
    contains the chart (or override) name, else ``<release>-<name>``; at most 63 characters."""
    if fullname_override:
        return _trunc(fullname_override)
    name = name_override or chart_name
    if name in release_name:
        return _trunc(release_name)
    return _trunc(f"{release_name}-{name}")


def chart_name(chart_ref):
    """The ``name`` of a chart directory's Chart.yaml."""
    path = os.path.join(chart_ref, "Chart.yaml")
    try:
        with open(path, encoding="utf-8") as handle:
            match = _CHART_NAME.search(handle.read())
    except OSError as exc:
        raise HelmError(f"cannot read {path}: {exc.strerror}") from exc
    if not match:
        raise HelmError(f"{path} has no name")
    return match.group(1)


def diff_plugin_version(runner):
    """helm-diff's version as a tuple, or None when the plugin is not installed."""
    rc, out, _err = runner.run(["diff", "version"], check_rc=False)
    match = _DIFF_VERSION.search(out or "") if rc == 0 else None
    return tuple(int(part) for part in match.groups()) if match else None


def check_versions(helm, diff, require_diff):
    """helm >= MIN_HELM_VERSION and, when required, helm-diff >= HELM_DIFF_MIN_VERSION (version tuples)."""
    problems = []
    if helm < MIN_HELM_VERSION:
        problems.append(f"helm {_dotted(helm)} is too old (need >= {_dotted(MIN_HELM_VERSION)})")
    if require_diff and (diff is None or diff < HELM_DIFF_MIN_VERSION):
        found = _dotted(diff) if diff else "missing"
        problems.append(f"helm-diff {found} (need >= {_dotted(HELM_DIFF_MIN_VERSION)}; "
                        "install the plugin, here with `make helm-diff`)")
    if problems:
        raise HelmError("; ".join(problems))
    return helm, diff


def live_traffic_group(runner, release, namespace, fullname):
    """The traffic group the release's API Service selects, by the chart's rule: with
    ``api.service.selectBy: traffic``, ``api.service.trafficGroup``, else ``api.trafficGroup``, else the
    fullname; '' when it selects by release."""
    _rc, out, _err = runner.run(["get", "values", release, "--namespace", namespace, "--all", "--output", "json"])
    try:
        api = (json.loads(out or "{}") or {}).get("api") or {}
    except ValueError as exc:
        raise HelmError(f"helm get values returned invalid JSON: {exc}") from exc
    service = api.get("service") or {}
    if service.get("selectBy", "traffic") != "traffic":
        return ""
    return _trunc(service.get("trafficGroup") or api.get("trafficGroup") or fullname)


def list_releases(runner, namespace):
    """Names of every release of the namespace, whatever its state."""
    # helm 3 lists only deployed and failed releases without --all; helm 4 lists every state and
    # has no --all
    every_state = ["--all"] if runner.version()[0] < 4 else []
    _rc, out, _err = runner.run(["list", "--namespace", namespace, *every_state, "--short"])
    return [line.strip() for line in (out or "").splitlines() if line.strip()]


def read_status(runner, params):
    """The module result of release_status (without ``changed``)."""
    release, namespace = params["release_name"], params["release_namespace"]
    helm = runner.version()  # first: it picks the other commands' flags, and a helm too old reads nothing
    check_versions(helm, None, False)
    # the reads side by side; helm-diff's version is judged before any answer about the release
    with ThreadPoolExecutor(max_workers=3) as pool:
        diff_read = pool.submit(diff_plugin_version, runner)
        history_read = pool.submit(runner.history, release, namespace, max_revisions=1)
        releases_read = pool.submit(list_releases, runner, namespace) if params.get("list_releases") else None
        helm, diff = check_versions(helm, diff_read.result(), params.get("require_diff_plugin", False))
        history = history_read.result()
        releases = releases_read.result() if releases_read else None
    latest = history[-1] if history else {}
    result = dict(
        exists=bool(latest),
        revision=int(latest["revision"]) if latest else None,
        status=latest.get("status", ""),
        pending=latest.get("status", "") in PENDING_STATES,
        chart=latest.get("chart", ""),
        app_version=latest.get("app_version", ""),
        updated=latest.get("updated", ""),
        description=latest.get("description", ""),
        helm_version=_dotted(helm),
        helm_diff_version=_dotted(diff) if diff else None,
    )
    if params.get("chart_ref"):
        result["fullname"] = chart_fullname(release, chart_name(params["chart_ref"]),
                                            params.get("fullname_override") or "", params.get("name_override") or "")
    if releases is not None:
        result["releases"] = releases
    if params.get("traffic_group"):
        if not params.get("chart_ref"):
            raise HelmError("traffic_group needs chart_ref (the group defaults to the release's fullname)")
        result["traffic_group"] = live_traffic_group(runner, release, namespace, result["fullname"]) if latest else ""
    return result


def template_args(params):
    args = ["template", params["release_name"], params["chart_ref"], "--namespace", params["release_namespace"]]
    for path in params.get("values_files") or []:
        args += ["--values", path]
    if params.get("kube_version"):
        args += ["--kube-version", params["kube_version"]]
    return args


def diff_args(params, helm_major=3):
    args = ["diff", "upgrade", params["release_name"], params["chart_ref"], "--namespace", params["release_namespace"]]
    for path in params.get("values_files") or []:
        args += ["--values", path]
    args += ["--three-way-merge", "--no-hooks", "--suppress-secrets", "--normalize-manifests", "--allow-unreleased",
             "--detailed-exitcode", "--no-color", "--context", str(params.get("context_lines", 3))]
    if helm_major >= 4:
        # helm-diff validates the render with `helm template --validate --dry-run=client`, which helm 4
        # refuses (--validate is gone, and its replacement --dry-run=server excludes other dry-run
        # flags). Validation off and --dry-run=server give helm 4's `template --dry-run=server`: the
        # same check against the API server, with the cluster access the three-way merge needs.
        args += ["--disable-validation", "--dry-run=server"]
    return args


def diff_summary(text):
    """The resource lines of a ``helm diff upgrade`` output ("ns, name, Kind (group) has changed:")."""
    return [line for line in (text or "").splitlines() if _DIFF_HEADER.match(line)]


def release_pending(differs, status):
    """Whether a release has anything to do: the diff found a change (None: no diff was made),
    or the release is not in the deployed state (absent, failed, pending-*)."""
    if status != "deployed":
        return True, f"the release is {status or 'not installed'}"
    if differs is None:
        return True, "no diff was made"
    if differs:
        return True, "the diff shows changes"
    return False, "the release already runs these values"


def check_schedule(manifest_text, nodes, upgrade):
    """The scheduling check of a rendered release: {nodes, workloads}, or HelmError naming each rule
    the nodes cannot meet (module_utils/scheduling.py)."""
    if yaml is None:
        raise HelmError("the scheduling check needs PyYAML (python3-yaml) on the host that runs the module")
    try:
        docs = [d for d in yaml.safe_load_all(manifest_text or "") if isinstance(d, dict)]
        problems = scheduling.schedule_problems(docs, nodes, upgrade=upgrade)
    except (yaml.YAMLError, scheduling.ScheduleError) as exc:
        raise HelmError(f"cannot check the rendered release's scheduling rules: {exc}") from exc
    if problems:
        raise HelmError(
            "the release cannot be scheduled on this cluster, so its pods would stay Pending until the timeout; "
            "nothing was changed on the cluster. " + " ".join(f"{p}." for p in problems)
            + " Lower the replicas, relax the rule (for example podAntiAffinityPreset: soft or whenUnsatisfiable: "
            "ScheduleAnyway), or add nodes.")
    workloads = sum(1 for d in docs if d.get("kind") in scheduling.WORKLOAD_KINDS)
    return {"nodes": len(nodes), "workloads": workloads}


def run_diff(runner, params, read_nodes=None):
    """The module result of helm_diff (``changed`` is whether the diff found a change).

    ``read_nodes``: a function returning the cluster's Node objects; with it, the rendered
    workloads' hard scheduling rules are checked against them before the decision. When it
    raises Forbidden, the check is skipped and ``schedule`` says why. The render, the node read
    and the diff run side by side; each is a read, so nothing changes whichever fails.
    """
    argv = diff_args(params, runner.version()[0]) if params.get("diff", True) else []
    with ThreadPoolExecutor(max_workers=3) as pool:
        rendering = pool.submit(runner.run, template_args(params), check_rc=False)
        diffing = pool.submit(runner.run, argv, check_rc=False) if argv else None
        reading = pool.submit(read_nodes) if read_nodes else None
        rc, manifest, err = rendering.result()
        if rc != 0:
            raise HelmError("the rendered values are invalid; nothing was changed on the cluster. helm says: "
                            + (err or "").strip(), rc=rc, stderr=err, command=runner.command(template_args(params)))
        status = params.get("status")
        if status is None:
            history = runner.history(params["release_name"], params["release_namespace"], max_revisions=1)
            status = history[-1].get("status", "") if history else ""
        schedule = None
        if reading:
            try:
                nodes = reading.result()
            except Forbidden as exc:
                schedule = {"skipped": f"{exc}: the scheduling check did not run"}
            else:
                schedule = check_schedule(manifest, nodes, upgrade=bool(status))
        differs, text = None, ""
        if diffing:
            rc, text, err = diffing.result()
            if rc not in (0, 2):
                raise HelmError(f"helm diff upgrade failed (rc={rc}): {(err or text).strip()}", rc=rc, stdout=text,
                                stderr=err, command=runner.command(argv))
            differs = rc == 2
    pending, reason = release_pending(differs, status)
    return dict(changed=bool(differs), differs=differs, pending=pending, reason=reason, summary=diff_summary(text),
                text=text, command=runner.command(argv) if argv else [], schedule=schedule)
