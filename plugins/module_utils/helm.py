# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One runner for the helm CLI (and its plugins), plus the pure rollback planner.

Nothing here imports AnsibleModule: the caller hands in a ``run_command`` callable with
the signature of ``AnsibleModule.run_command`` (``argv, cwd=None, environ_update=None,
data=None -> (rc, stdout, stderr)``). Commands are argv lists, never
strings. HelmRunner is the collection's CommandRunner (module_utils/runner.py, shared
with git): the helm version is read once per binary and cached, flags that only exist
from some version on are in ``MIN_VERSIONS`` (its FLAG_GATES), and flags renamed between
Helm 3 and Helm 4 live in one table, ``RENAMED_FLAGS``.
"""

import contextlib
import copy
import json
import os
import re
import tempfile

from ansible.module_utils.basic import env_fallback

from .runner import CommandError, CommandRunner

# Shared connection options of every helm-driven module of this collection.
# Same names and environment fallbacks as kubernetes.core's helm modules so that
# one module_defaults block serves both.
HELM_AUTH_ARG_SPEC = dict(
    binary_path=dict(type="path"),
    kubeconfig=dict(type="path", aliases=["kubeconfig_path"], fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
    context=dict(type="str", aliases=["kube_context"], fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
    host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
    validate_certs=dict(type="bool", default=True, aliases=["verify_ssl"],
                        fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL"])),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT"])),
)

# The release a helm module acts on and how long it waits for it (doc fragment
# agent_service.platform.helm_release, with binary_path).
HELM_RELEASE_ARG_SPEC = dict(
    release_name=dict(type="str", required=True, aliases=["name"]),
    release_namespace=dict(type="str", required=True, aliases=["namespace"]),
    wait=dict(type="bool", default=True),
    wait_for_jobs=dict(type="bool", default=False),
    timeout=dict(type="str", default="5m0s"),
)

# Environment variables helm reads for each connection option.
_AUTH_ENV = (
    ("kubeconfig", "KUBECONFIG"),
    ("context", "HELM_KUBECONTEXT"),
    ("host", "HELM_KUBEAPISERVER"),
    ("api_key", "HELM_KUBETOKEN"),
    ("ca_cert", "HELM_KUBECAFILE"),
)

# Flags renamed between major versions: option -> ((min_major, flag), ...), newest first.
RENAMED_FLAGS = {
    "atomic": ((4, "--rollback-on-failure"), (3, "--atomic")),
    "force": ((4, "--force-replace"), (3, "--force")),
    "wait": ((4, "--wait=watcher"), (3, "--wait")),
}

# Flags that only exist from a given helm version on: flag -> (major, minor, patch)
# (the CommandRunner.FLAG_GATES table of HelmRunner).
MIN_VERSIONS = {
    "--wait-for-jobs": (3, 5, 0),
    "--recreate-pods": (3, 0, 0),
}
# Flags removed in a major version: flag -> first major without it.
REMOVED_IN = {
    "--recreate-pods": 4,
}

MIN_HELM_VERSION = (3, 8, 0)
PENDING_STATES = ("pending-install", "pending-upgrade", "pending-rollback")
GOOD_STATES = ("deployed", "superseded")

_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


class HelmError(CommandError):
    """A helm command failed, or its answer made no sense (rc, stdout, stderr, command)."""


def _dotted(version):
    return ".".join(str(part) for part in version)


def parse_version(text):
    """'v3.22.0+gabc' -> (3, 22, 0); 'v3.22' (a plain `go install` build) -> (3, 22, 0)."""
    match = _VERSION_RE.search(text or "")
    if not match:
        raise HelmError(f"cannot read a helm version from {text!r}")
    return tuple(int(part or 0) for part in match.groups())


def auth_env(params):
    """Map the HELM_AUTH_ARG_SPEC options to the environment helm reads."""
    env = {}
    for option, variable in _AUTH_ENV:
        if params.get(option):
            env[variable] = str(params[option])
    if params.get("validate_certs") is False:
        env["HELM_KUBEINSECURE_SKIP_TLS_VERIFY"] = "true"
    return env


def helm_arg_spec(release_keys=tuple(HELM_RELEASE_ARG_SPEC), **options):
    """A helm module's argument spec: the connection options, the options of HELM_RELEASE_ARG_SPEC
    named in ``release_keys`` (all by default), and the module's own ``options``."""
    spec = copy.deepcopy(HELM_AUTH_ARG_SPEC)
    spec.update({key: copy.deepcopy(HELM_RELEASE_ARG_SPEC[key]) for key in release_keys})
    spec.update(options)
    return spec


# The option of helm_diff and helm_upgrade that carries values as text (no_log: they hold
# secrets). Text, not a mapping: Ansible masks each string of a no_log mapping wherever it
# appears in the result, and a release's values hold names and numbers that the diff and the
# status must show; the whole text is one string that never appears in a result.
VALUES_ARG_SPEC = dict(values_text=dict(type="str", no_log=True))


@contextlib.contextmanager
def private_values(params):
    """``params`` with its ``values_text`` appended to ``values_files`` (the last layer wins).

    The text goes to a temporary file readable by this user only, removed when the block ends,
    so the values never sit in a file the caller has to clean up.
    """
    if not params.get("values_text"):
        yield params
        return
    fd, path = tempfile.mkstemp(prefix="helm-values-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(params["values_text"])
        yield dict(params, values_files=list(params.get("values_files") or []) + [path])
    finally:
        os.unlink(path)


def module_runner(module):
    """The HelmRunner of a helm module: its binary_path (else helm from PATH) and connection options."""
    binary = module.params["binary_path"] or module.get_bin_path("helm", required=True)
    return HelmRunner(module.run_command, binary=binary, env=auth_env(module.params))


class HelmRunner(CommandRunner):
    """The collection's CommandRunner for helm: argv lists, the version read once per binary
    (``helm version --short``), Helm 3/4 flag spellings from FLAG_GATES."""

    version_args = ("version", "--short")
    FLAG_GATES = MIN_VERSIONS

    def __init__(self, run_command, binary="helm", env=None):
        super().__init__(binary, run_command, environ_update=env)

    @property
    def env(self):
        return self.environ_update

    def command(self, args):
        return [self.binary] + [str(arg) for arg in args]

    def run(self, args, check_rc=True, **kwargs):
        try:
            return super().run(args, check=check_rc, **kwargs)
        except CommandError as exc:
            if isinstance(exc, HelmError):
                raise
            raise HelmError(exc.msg, exc.rc, exc.stdout, exc.stderr, exc.command) from exc

    def version(self):
        try:
            return super().version()
        except CommandError as exc:
            raise HelmError(exc.msg, exc.rc, exc.stdout, exc.stderr, exc.command) from exc

    def validate_version(self, minimum=MIN_HELM_VERSION):
        version = self.version()
        if version < minimum:
            raise HelmError(f"helm {_dotted(version)} is too old: {_dotted(minimum)} or newer is required")
        return version

    def flag(self, option):
        """The spelling of a renamed flag for this helm version (RENAMED_FLAGS)."""
        major = self.version()[0]
        for min_major, flag in RENAMED_FLAGS[option]:
            if major >= min_major:
                return flag
        raise HelmError(f"helm {major} has no flag for {option}")

    def supports(self, flag):
        if flag in REMOVED_IN and self.version()[0] >= REMOVED_IN[flag]:
            return False
        return super().supports(flag)

    def require(self, flag):
        if not self.supports(flag):
            raise HelmError(f"{flag} is not supported by helm {_dotted(self.version())}")
        return flag

    def history(self, release, namespace, max_revisions=256):
        """Revisions of a release, oldest first; [] when the release does not exist."""
        rc, out, err = self.run(["history", release, "--namespace", namespace, "--max", max_revisions,
                                 "--output", "json"], check_rc=False)
        if rc != 0:
            if "not found" in (err or "").lower():
                return []
            raise HelmError(f"helm history failed (rc={rc}): {err.strip()}", rc=rc, stdout=out,
                            stderr=err, command=self.command(["history", release]))
        try:
            entries = json.loads(out or "[]")
        except ValueError as exc:
            raise HelmError(f"helm history returned invalid JSON: {exc}", stdout=out) from exc
        return sorted(entries, key=lambda entry: int(entry["revision"]))


class RollbackPlan:
    """What a rollback would do: from which revision to which one, and why."""

    def __init__(self, changed, current, target, reason, current_status=None):
        self.changed = changed
        self.current = current
        self.target = target
        self.reason = reason
        self.current_status = current_status

    def as_dict(self):
        return dict(changed=self.changed, current_revision=self.current, target_revision=self.target,
                    reason=self.reason, current_status=self.current_status)


def _entry(history, revision):
    for entry in history:
        if int(entry["revision"]) == revision:
            return entry
    return None


def _is_rollback_to(entry, revision):
    return (entry.get("description") or "").strip() == f"Rollback to {revision}"


def plan_rollback(history, revision=None):
    """Decide the rollback from `helm history` (oldest first).

    Without a revision: the newest good revision (deployed or superseded) older
    than the latest one; when the latest revision is not deployed (failed,
    pending-*), the revision still marked deployed wins. With a revision, that
    one. A release whose latest revision already is a rollback to the target,
    and is deployed, needs nothing (idempotent re-runs).
    """
    if not history:
        raise HelmError("release not found: there is nothing to roll back")
    latest = history[-1]
    current = int(latest["revision"])
    status = latest.get("status")
    if revision:
        target_entry = _entry(history, revision)
        if target_entry is None:
            known = ", ".join(str(e["revision"]) for e in history)
            raise HelmError(f"revision {revision} not found; the release has revisions {known}")
        if status == "deployed" and (current == revision or _is_rollback_to(latest, revision)):
            return RollbackPlan(False, current, revision, f"revision {revision} already serves", status)
        return RollbackPlan(True, current, revision, f"rollback to requested revision {revision}", status)
    older = [e for e in history[:-1] if e.get("status") in GOOD_STATES]
    if status != "deployed":
        deployed = [e for e in older if e.get("status") == "deployed"] or older
        if not deployed:
            raise HelmError(f"release is {status} at revision {current} and has no deployed revision to roll "
                            "back to; uninstall it instead")
        target = int(deployed[-1]["revision"])
        return RollbackPlan(True, current, target, f"revision {current} is {status}; last deployed is {target}",
                            status)
    if not older:
        raise HelmError(f"revision {current} is the only good revision; there is nothing older to roll back to")
    target = int(older[-1]["revision"])
    return RollbackPlan(True, current, target, f"roll back from deployed revision {current} to {target}", status)


def wait_args(runner, options, wait):
    """The wait flags shared by upgrade and rollback (HELM_RELEASE_ARG_SPEC's wait, wait_for_jobs, timeout)."""
    args = []
    if wait:
        args.append(runner.flag("wait"))
        if options.get("wait_for_jobs"):
            args.append(runner.require("--wait-for-jobs"))
    if options.get("timeout"):
        args += ["--timeout", options["timeout"]]
    return args


def rollback_args(runner, release, namespace, target, options):
    """argv (without the binary) for `helm rollback`, flags gated per version."""
    args = ["rollback", release, str(target), "--namespace", namespace]
    args += wait_args(runner, options, options.get("wait"))
    if options.get("force"):
        args.append(runner.flag("force"))
    if options.get("cleanup_on_fail"):
        args.append("--cleanup-on-fail")
    if options.get("disable_hook"):
        args.append("--no-hooks")
    if options.get("history_max") is not None:
        args += ["--history-max", str(options["history_max"])]
    return args


def run_rollback(runner, params, check_mode=False, mark_stuck=None):
    """Plan, then (unless check mode) run `helm rollback`; return the module result.

    ``mark_stuck(revision, reason)``, when given, is called after a rollback away from a
    pending-* revision to mark that revision failed in helm's storage (helm_storage.py);
    its answer is returned as ``marked_failed``.
    """
    runner.validate_version()
    release, namespace = params["release_name"], params["release_namespace"]
    before = runner.history(release, namespace)
    plan = plan_rollback(before, params.get("revision"))
    args = rollback_args(runner, release, namespace, plan.target, params)
    result = dict(changed=plan.changed, plan=plan.as_dict(), release_name=release, release_namespace=namespace,
                  marked_failed={},
                  rolled_back_from=plan.current, rolled_back_to=plan.target, command=runner.command(args),
                  stdout="", stderr="", revision=plan.current, status=plan.current_status,
                  helm_version=_dotted(runner.version()))
    if plan.changed:
        result["diff"] = dict(before=dict(revision=plan.current, status=plan.current_status),
                              after=dict(revision=f"new revision from {plan.target}", status="deployed"))
    if check_mode or not plan.changed:
        return result
    _rc, out, err = runner.run(args)
    latest = (runner.history(release, namespace) or [{}])[-1]
    result.update(stdout=out, stderr=err, revision=int(latest.get("revision", 0)), status=latest.get("status"))
    if result["status"] != "deployed":
        raise HelmError(f"rollback to {plan.target} finished but revision {result['revision']} is {result['status']}",
                        stdout=out, stderr=err, command=result["command"])
    if mark_stuck is not None and plan.current_status in PENDING_STATES:
        result["marked_failed"] = mark_stuck(plan.current, f"{plan.current_status} when its helm process stopped; "
                                             f"marked failed after the rollback to {plan.target} "
                                             f"(revision {result['revision']})")
    return result


def upgrade_args(runner, params):
    """argv (without the binary) for `helm upgrade --install`, flags gated per version."""
    args = ["upgrade", params["release_name"], params["chart_ref"], "--install",
            "--namespace", params["release_namespace"]]
    for path in params.get("values_files") or []:
        args += ["--values", path]
    if params.get("reset_values", True):
        args.append("--reset-values")
    if params.get("atomic"):
        args.append(runner.flag("atomic"))
    args += wait_args(runner, params, params.get("wait") or params.get("atomic"))
    if params.get("history_max") is not None:
        args += ["--history-max", str(params["history_max"])]
    if params.get("disable_hook"):
        args.append("--no-hooks")
    if params.get("create_namespace"):
        args.append("--create-namespace")
    return args


def release_status(release, namespace, entry):
    """The ``status`` of a module result (the keys kubernetes.core.helm returns, without values)."""
    return dict(name=release, namespace=namespace, revision=int(entry.get("revision", 0)),
                status=entry.get("status"), chart=entry.get("chart"), app_version=entry.get("app_version"),
                updated=entry.get("updated"))


def run_upgrade(runner, params, check_mode=False):
    """`helm upgrade --install` without a change check of its own; return the module result.

    The caller has decided that the release changes (the release role's three-way
    `helm diff upgrade`), so no second diff or read of the values is spent here: one
    `helm upgrade`, then `helm history --max 1` for the revision it made.
    """
    runner.validate_version()
    release, namespace = params["release_name"], params["release_namespace"]
    args = upgrade_args(runner, params)
    result = dict(changed=True, command=runner.command(args), stdout="", stderr="", status={},
                  helm_version=_dotted(runner.version()))
    if check_mode:
        return result
    _rc, out, err = runner.run(args)
    latest = (runner.history(release, namespace, max_revisions=1) or [{}])[-1]
    result.update(stdout=out, stderr=err, status=release_status(release, namespace, latest))
    if result["status"]["status"] != "deployed":
        raise HelmError(f"helm upgrade finished but revision {result['status']['revision']} is "
                        f"{result['status']['status']}", stdout=out, stderr=err, command=result["command"])
    return result
