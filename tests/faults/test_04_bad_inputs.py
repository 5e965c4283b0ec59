"""Bad input gets a clear error and changes nothing (issue 18, item 3).

A catalogue of wrong inputs, each given live to the baseline release: playbook and inventory
variables (playbooks/deploy.yml, backup.yml, restore.yml, rollback.yml), chart values through
release_values / release_extra_values, parameters of the collection's modules (ansible ad hoc
against the test bed), and requests to the running API through the API server's service proxy.
Every case asserts that the input is refused (rc != 0, or HTTP 4xx), the one line that says why
(it names the variable or field and what is expected), and that nothing changed: the helm history
(revision, status), the invocation rows (ids, statuses) and the Secrets (data, resourceVersion),
plus what is particular to the case (no task after the refusing one, no file or Lease written, no
row for a refused request). The table of what each case saw goes to bench/results/bad_inputs.md
and .json, from this run alone.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import urllib3
from conftest import (
    ENV,
    KUBECONFIG,
    NS,
    PY,
    RELEASE,
    RESULTS_DIR,
    ROOT,
    WORK,
    assert_unchanged,
    helm_history,
    kubectl,
    run_playbook,
    state,
)
from kubernetes import client, config  # the client kubernetes.core requires on the controller

# ----------------------------------------------------------------------------- the table
_ROWS: list[dict] = []


@pytest.fixture(scope="module", autouse=True)
def catalogue():
    """Collects one row per case and writes bench/results/bad_inputs.{md,json} when the module ends."""
    start = time.monotonic()
    _ROWS.clear()
    yield _ROWS
    _write_table(_ROWS, time.monotonic() - start)


@pytest.fixture
def row(request):
    """The case's row: filled by the test, its outcome taken from the call phase."""
    entry = {"case": request.node.name, "kind": "", "input": "", "message": "", "refused_by": "", "checked": ""}
    start = time.monotonic()
    yield entry
    entry["seconds"] = round(time.monotonic() - start, 1)
    rep = getattr(request.node, "rep_call", None)  # set by conftest's pytest_runtest_makereport
    entry["outcome"] = "passed" if rep is not None and rep.passed else "failed"
    if entry["outcome"] != "passed":
        _LAST.clear()  # the next case starts from conftest's baseline fixture again
    if rep is not None and rep.failed:
        lines = str(rep.longrepr).splitlines() if rep.longrepr else []
        errors = [ln[4:] for ln in lines if ln.startswith("E   ")]
        entry["error"] = (errors[0] if errors else (lines[-1] if lines else ""))[:300]
    _ROWS.append(entry)


def _write_table(rows, seconds):
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    passed = sum(r["outcome"] == "passed" for r in rows)
    (RESULTS_DIR / "bad_inputs.json").write_text(json.dumps({
        "namespace": NS, "ended": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": round(seconds),
        "cases": len(rows), "passed": passed, "failed": len(rows) - passed, "rows": rows}, indent=1) + "\n")
    lines = ["# Bad inputs (tests/faults/test_04_bad_inputs.py)", "",
             f"{len(rows)} cases, {passed} passed, in {seconds:.0f} s, against the release {RELEASE} in namespace "
             f"{NS}. Each case gives one bad input and checks that it is refused (rc != 0 or HTTP 4xx) with a one-line "
             "cause (the message below: the exact line of the failed task's msg or of the API's error), and that the "
             "helm history (revision, status), the invocation rows (ids, statuses) and the Secrets (data, "
             "resourceVersion) are the same afterwards.", "",
             "| case | input | message | checked unchanged |", "|---|---|---|---|"]
    for r in rows:
        message = r["message"] if r["outcome"] == "passed" else f"FAILED: {r.get('error', '')}"
        cells = [r["case"], r["input"], message, r["checked"]]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    (RESULTS_DIR / "bad_inputs.md").write_text("\n".join(lines) + "\n")


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


# ----------------------------------------------------------------------------- shared checks
# The fault matrix restarts test bed components in the same session: a kubectl or helm call that
# meets a restarting API server, kubelet or containerd is retried, not taken for a change.
TRANSIENT = re.compile(r"connection refused|Connection refused|ServiceUnavailable|the server is currently unable|"
                       r"TLS handshake timeout|i/o timeout|unable to upgrade connection|error dialing backend|"
                       r"context deadline exceeded|EOF")


def _cluster_ready(timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kubectl("get", "--raw", "/readyz", check=False, timeout=15).returncode == 0:
            return
        time.sleep(3)
    raise AssertionError(f"the API server did not answer /readyz within {timeout}s")


def _state():
    """state() of the baseline, retried while the test bed restarts a component (helm history [] included)."""
    last = None
    for _ in range(6):
        try:
            now = state()
            if now["history"]:
                return now
            last = "helm history is empty"
        except AssertionError as exc:  # kubectl/psql through a restarting component
            last = str(exc)[-300:]
        _cluster_ready()
        time.sleep(5)
    raise AssertionError(f"could not read the baseline's state: {last}")


# The state the last case checked, with the helm history read with it (revisions, statuses, times):
# the next case starts from it when the history is still the same (the baseline fixture installed
# nothing in between) instead of reading the invocation rows and Secrets again. Only a case that
# passed its check leaves it; each case takes it away first.
_LAST: dict = {}


def _before():
    """The baseline's state before a case (see _LAST)."""
    last = dict(_LAST)
    _LAST.clear()
    history = helm_history()
    if history and last.get("history") == history:
        return last["state"]
    return _state()


def _unchanged(before):
    """assert_unchanged(before); a read that failed on a restarting component is read again. Returns what it checked."""
    for attempt in range(4):
        try:
            after = assert_unchanged(before)
            _LAST.update(history=helm_history(), state=after)
            break
        except AssertionError as exc:
            transient = "-> []" in str(exc) or " rc=" in str(exc)
            if not transient or attempt == 3:
                raise
            _cluster_ready()
            time.sleep(5)
    rev, status = after["history"][-1]
    return (f"helm history {len(after['history'])} revision(s), last r{rev} {status}; "
            f"{len(after['invocations'])} invocation rows (ids, statuses); {len(after['secrets'])} Secret(s)")


@pytest.fixture
def kept_baseline(request, deployed):
    """conftest's `baseline` (the release deployed, its history consistent, /ready), unless the previous
    case of this module has just shown that nothing changed since that fixture last ran: the same helm
    history as its check read (see _LAST). A case that failed or changed something makes the next one
    run the fixture again."""
    if not (_LAST and _LAST.get("history") == helm_history()):
        request.getfixturevalue("baseline")
    return deployed


def _cause(lines, needles):
    """The one line among `lines` that holds every needle, or an assertion naming all of them."""
    for line in lines:
        if all(n in line for n in needles):
            return line.strip().removeprefix("- ")  # helm lists each schema error as "- at '<path>': ..."
    raise AssertionError(f"no line names {needles!r}; the error lines were:\n" + "\n".join(lines))


# ----------------------------------------------------------------------------- playbooks
def _failures(out):
    """(task name, error lines) of the run's failed tasks: each result's msg split into lines, and the
    argument spec's errors (validation of the role's arguments)."""
    failed, task = [], ""
    for line in out.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):line.rindex("]")].split(" : ", 1)[-1]
        elif line.startswith(("fatal: [", "failed: [")) and "=> {" in line:
            try:
                result = json.loads(line.split("=> ", 1)[1])
            except ValueError:
                failed.append((task, [line]))
                continue
            errors = list(result.get("argument_errors") or []) + str(result.get("msg", "")).splitlines()
            failed.append((task, [e for e in errors if e.strip()]))
    return failed


def _tasks(out):
    return [ln[len("TASK ["):ln.rindex("]")].split(" : ", 1)[-1] for ln in out.splitlines() if ln.startswith("TASK [")]


# the tasks that run after a refusal: the `always:` part that gives the release lock back
AFTER_REFUSAL = ("Give the release lock back", "Unlock | Give the release lock back")


def _leases():
    """The release locks (Leases <release>-release-lock) in the namespace."""
    res = kubectl("get", "leases", "-n", NS, "-o", "name", check=False)
    return [n for n in res.stdout.split() if n.endswith("-release-lock")]


def _run_refused(label, extra, playbook, needles):
    """Run the playbook; when it failed on a restarting test bed instead of the input, run it once more."""
    for attempt in range(3):
        run = run_playbook(label, extra, playbook=playbook, timeout=300)
        lines = [e for _task, errors in _failures(run.out) for e in errors]
        if run.rc != 0 and any(all(n in e for n in needles) for e in lines):
            return run
        if attempt == 2 or not TRANSIENT.search(run.out):
            return run
        _cluster_ready()
        time.sleep(5)
    return run


def P(case_id, inp, extra, needles, playbook="deploy"):  # noqa: N802 - a case constructor, read as a table
    return pytest.param(inp, extra, needles, playbook, id=case_id)


PLAYBOOK_CASES = [
    # --- environment and inventory
    P("env-unknown", "release_env=qa", {"release_env": "qa"},
      ("release_env", "must be one of: dev, staging, prod", "qa")),
    P("env-not-the-inventory", "release_env=staging with the dev inventory (release_inventory_env=dev)",
      {"release_env": "staging"}, ("This inventory is for dev but release_env is staging",)),
    P("name-not-a-dns-label", "release_name=Agent_Service", {"release_name": "Agent_Service"},
      ("release_name must be a DNS label", '"Agent_Service"')),
    P("namespace-not-a-dns-label", "release_namespace=Bad_NS", {"release_namespace": "Bad_NS"},
      ("release_namespace must be a DNS label", '"Bad_NS"')),
    # --- version
    P("version-not-semver", 'release_version="1.2 beta"', {"release_version": "1.2 beta"},
      ("release_version must be an image tag such as 1.4.0", '"1.2 beta"')),
    P("version-empty", 'release_version="" and no release_git_path', {"release_version": ""},
      ("Set release_version", "or release_git_path")),
    P("version-rolling-tag", "release_version=latest", {"release_version": "latest"},
      ("release_version must be an image tag", "other than the rolling tag latest", '"latest"')),
    # --- strategy, durations, thresholds, counts
    P("strategy-unknown", "release_strategy=rainbow", {"release_strategy": "rainbow"},
      ("release_strategy must be one of: rolling, canary, bluegreen", "rainbow")),
    P("timeout-in-words", 'release_timeout="5 minutes"', {"release_timeout": "5 minutes"},
      ("release_timeout must be a positive Go duration", '"5 minutes"')),
    P("analysis-interval-negative", "release_analysis_interval=-10s", {"release_analysis_interval": "-10s"},
      ("release_analysis_interval must be a duration", '"-10s"')),
    P("analysis-window-zero", "release_analysis_window=0m", {"release_analysis_window": "0m"},
      ("release_analysis_window must be a positive Prometheus duration", '"0m"')),
    P("threshold-above-one", "release_analysis_threshold=1.5", {"release_analysis_threshold": 1.5},
      ("release_analysis_threshold must be a 5xx ratio between 0 and 1", "1.5")),
    P("threshold-negative", "release_analysis_threshold=-0.1", {"release_analysis_threshold": -0.1},
      ("release_analysis_threshold must be a 5xx ratio between 0 and 1", "-0.1")),
    P("threshold-not-a-number", "release_analysis_threshold=high", {"release_analysis_threshold": "high"},
      ("release_analysis_threshold", "unable to convert to float")),
    P("analysis-count-zero", "release_analysis_count=0", {"release_analysis_count": 0},
      ("release_analysis_count must be at least 1", "0")),
    # --- paths
    P("backup-dir-relative", "release_backup_dir=backups", {"release_backup_dir": "backups"},
      ("release_backup_dir must be an absolute path", '"backups"'), "backup"),
    P("report-dir-relative", "release_report_dir=reports", {"release_report_dir": "reports"},
      ("release_report_dir must be an absolute path", '"reports"')),
    P("chart-path-missing", "release_chart_path=/nonexistent/chart", {"release_chart_path": "/nonexistent/chart"},
      ("/nonexistent/chart/Chart.yaml does not exist", "release_chart_path")),
    P("kubeconfig-missing", "release_kubeconfig=/nonexistent/kubeconfig",
      {"release_kubeconfig": "/nonexistent/kubeconfig"},
      ("No kubeconfig: file /nonexistent/kubeconfig does not exist",)),
    P("kubeconfig-not-a-kubeconfig", "release_kubeconfig=<the chart's Chart.yaml>",
      {"release_kubeconfig": str(ROOT / "helm" / "agent-service" / "Chart.yaml")},
      ("Cannot reach the cluster with the kubeconfig", "Chart.yaml", "error loading config file")),
    # --- secrets: the vault variable the inventory reads, the Secret staging and prod name
    P("vault-variable-undefined", "release_values.secrets.postgresPassword from "
      "{{ vault_agent_service_postgres_password }}, defined by no vault file",
      {"release_values": {"secrets": {"postgresPassword": "{{ vault_agent_service_postgres_password }}"}}},
      ("vault_agent_service_postgres_password", "is undefined")),
    P("existing-secret-missing", "release_extra_values.secrets.existingSecret=agent-service-secrets (as staging "
      "and prod name it), absent from the namespace",
      {"release_extra_values": {"secrets": {"existingSecret": "agent-service-secrets"}}},
      ("secrets.existingSecret", "agent-service-secrets", "does not exist", "POSTGRES_PASSWORD")),
    # --- values
    P("values-not-a-mapping", 'release_values="api.replicaCount=2" (a string)',
      {"release_values": "api.replicaCount=2"}, ("release_values must be a mapping", "api.replicaCount=2")),
    P("values-wrong-type", 'release_extra_values api.replicaCount="three"',
      {"release_extra_values": {"api": {"replicaCount": "three"}}}, ("/api/replicaCount", "want integer")),
    P("values-unknown-key", "release_extra_values worker.concurency=2 (a typo)",
      {"release_extra_values": {"worker": {"concurency": 2}}},
      ("/worker", "additional properties 'concurency' not allowed")),
    P("values-not-in-enum", "release_extra_values config.logLevel=LOUD",
      {"release_extra_values": {"config": {"logLevel": "LOUD"}}},
      ("/config/logLevel", "value must be one of", "'INFO'")),
    P("values-conflict-autoscaling", "release_extra_values api.autoscaling enabled, minReplicas 5 > maxReplicas 2",
      {"release_extra_values": {"api": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}},
      ("api.autoscaling: minReplicas (5) must not exceed maxReplicas (2)",)),
    P("values-conflict-time-limits", "release_extra_values worker.taskSoftTimeLimit=60 = taskTimeLimit=60",
      {"release_extra_values": {"worker": {"taskTimeLimit": 60, "taskSoftTimeLimit": 60}}},
      ("taskSoftTimeLimit (60) must be lower than taskTimeLimit (60)",)),
    # --- the other entry points
    P("backup-retention-zero", "release_backup_retention=0", {"release_backup_retention": 0},
      ("release_backup_retention must keep at least 1 backup", "0"), "backup"),
    P("backup-release-missing", "release_name=ghost (not installed)", {"release_name": "ghost"},
      ("Release ghost is not installed in", "nothing to back up"), "backup"),
    P("restore-backup-missing", "release_restore_backup=/nonexistent/backup",
      {"release_restore_backup": "/nonexistent/backup"},
      ("No usable backup", "/nonexistent/backup", "manifest.json"), "restore"),
    # a revision far above any the release has reached (helm keeps the last release_history_max)
    P("rollback-revision-missing", "release_rollback_revision=99999 (no such revision)",
      {"release_rollback_revision": 99999}, ("revision 99999 not found", "the release has revisions"), "rollback"),
    P("rollback-revision-negative", "release_rollback_revision=-1",
      {"release_rollback_revision": -1}, ("release_rollback_revision must be 0", "-1"), "rollback"),
]


@pytest.mark.parametrize(("inp", "extra", "needles", "playbook"), PLAYBOOK_CASES)
def test_playbook(kept_baseline, row, inp, extra, needles, playbook):
    _refused_run(row, inp, extra, needles, playbook, _before())


def test_playbook_existing_secret_without_its_keys(kept_baseline, row):
    """The Secret that secrets.existingSecret names exists but holds neither password: refused naming both."""
    name = "bad-inputs-app-secret"
    manifest = WORK / f"{name}.json"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
                                    "stringData": {"OPENAI_API_KEY": "not-a-key"}}))
    _LAST.clear()  # the Secret is new: the state is read again, with it
    kubectl("apply", "-f", str(manifest))
    try:
        _refused_run(row, f"release_extra_values.secrets.existingSecret={name}, a Secret with OPENAI_API_KEY only",
                     {"release_extra_values": {"secrets": {"existingSecret": name}}},
                     ("secrets.existingSecret", name, "lacks POSTGRES_PASSWORD, REDIS_PASSWORD"), "deploy", _before())
    finally:
        kubectl("delete", "secret", "-n", NS, name, "--ignore-not-found")
        _LAST.clear()


def _refused_run(row, inp, extra, needles, playbook, before):
    """One playbook case: the run is refused with a line holding `needles`, stops at the refusing task, and
    leaves the state `before`, no report and no release lock."""
    row.update(kind="playbook", input=f"{playbook}.yml: {inp}")
    leases = _leases()
    label = "bad-" + re.sub(r"[^a-z0-9-]+", "-", row["case"].lower()).strip("-")
    run = _run_refused(label, extra, playbook, needles)
    assert run.rc != 0, f"{run}: the input was accepted\n{run.tail()}"
    assert "Traceback" not in run.out, run.tail()
    failures = _failures(run.out)
    assert failures, f"{run}: no failed task\n{run.tail()}"
    row["message"] = _cause([e for _task, errors in failures for e in errors], needles)
    refusing = failures[0][0]
    row["refused_by"] = refusing
    # the run stopped at the refusing task: only the `always:` part that gives the lock back ran after it
    tasks = _tasks(run.out)
    later = [t for t in tasks[len(tasks) - tasks[::-1].index(refusing):] if t not in AFTER_REFUSAL]
    assert not later, f"tasks ran after {refusing!r}: {later}"
    assert run.report is None, f"a report was written: {run.report.get('verdict')}"
    checked = _unchanged(before)
    left = sorted(set(_leases()) - set(leases))
    assert not left, f"the run left a release lock: {left}"
    row["checked"] = f"{checked}; no task after '{refusing}' but the lock's release; no report; no lock left"


# ----------------------------------------------------------------------------- modules
def _module(module, args):
    """`ansible localhost -m agent_service.platform.<module> -a <json>`: (rc, the module's result, output)."""
    argv = [str(Path(PY).parent / "ansible"), "localhost", "-m", f"agent_service.platform.{module}",
            "-a", json.dumps(args), "-e", f"ansible_python_interpreter={PY}"]
    res = subprocess.run(argv, capture_output=True, text=True, env={**ENV, "PYTHONWARNINGS": "ignore"},
                         timeout=180, check=False, cwd=WORK)
    out = res.stdout + "\n" + res.stderr
    marker = re.search(r"\| (FAILED!|SUCCESS|CHANGED) => ", res.stdout)
    result = json.JSONDecoder().raw_decode(res.stdout[marker.end():])[0] if marker else {}
    result["failed"] = bool(marker) and marker.group(1) == "FAILED!"  # the callback prints it instead of the key
    return res.returncode, result, out


def _no_lease(name):
    res = kubectl("get", "lease", "-n", NS, name, check=False)
    assert res.returncode != 0 and "NotFound" in res.stderr, f"Lease {name} exists: {res.stdout}"
    return f"no Lease {name}"


def _no_path(path):
    assert not Path(path).exists(), f"{path} was created"
    return f"{path} not created"


def _bad_values_file():
    path = WORK / "bad-inputs-values.yaml"
    path.write_text('api:\n  replicaCount: "three"\n')
    return str(path)


PROBE_LOCK = "bad-inputs-probe-lock"
NO_BACKUP = str(WORK / "bad-inputs-backup-never")


def M(case_id, module, args, needles, after=None):  # noqa: N802 - a case constructor, read as a table
    return pytest.param(module, args, needles, after, id=case_id)


MODULE_CASES = [
    M("helm_rollback-revision-negative", "helm_rollback",
      {"release_name": RELEASE, "release_namespace": NS, "revision": -3},
      ("revision must be 0 (previous) or a positive revision number",)),
    M("helm_rollback-revision-missing", "helm_rollback",
      {"release_name": RELEASE, "release_namespace": NS, "revision": 99999},
      ("revision 99999 not found", "the release has revisions")),
    M("helm_upgrade-timeout-in-words", "helm_upgrade",
      {"release_name": RELEASE, "release_namespace": NS, "chart_ref": str(ROOT / "helm" / "agent-service"),
       "timeout": "5 minutes"},
      ('invalid argument "5 minutes" for "--timeout" flag',)),
    M("helm_upgrade-values-file-missing", "helm_upgrade",
      {"release_name": RELEASE, "release_namespace": NS, "chart_ref": str(ROOT / "helm" / "agent-service"),
       "values_files": ["/nonexistent/values.yaml"]},
      ("/nonexistent/values.yaml", "no such file or directory")),
    M("helm_upgrade-chart-missing", "helm_upgrade",
      {"release_name": RELEASE, "release_namespace": NS, "chart_ref": "/nonexistent/chart"},
      ('path "/nonexistent/chart" not found',)),
    M("helm_diff-schema-invalid", "helm_diff",
      {"release_name": RELEASE, "release_namespace": NS, "chart_ref": str(ROOT / "helm" / "agent-service"),
       "values_files": ["<WORK>/bad-inputs-values.yaml"], "kube_version": "1.34.0"},
      ("/api/replicaCount", "got string, want integer")),
    M("release_backup-retention-zero", "release_backup",
      {"path": NO_BACKUP, "release_name": RELEASE, "release_namespace": NS, "revision": 1, "retention": 0},
      ("retention must keep at least 1 backup, got 0",), lambda: _no_path(NO_BACKUP)),
    M("release_backup-path-exists", "release_backup",
      {"path": "<WORK>", "release_name": RELEASE, "release_namespace": NS, "revision": 1},
      ("already exists: a backup directory is never overwritten",)),
    M("release_lock-ttl-zero", "release_lock",
      {"name": PROBE_LOCK, "namespace": NS, "holder": "bad-inputs", "ttl": 0, "kubeconfig": KUBECONFIG},
      ("ttl must be at least 1 second, got 0",), lambda: _no_lease(PROBE_LOCK)),
    M("release_lock-state-unknown", "release_lock",
      {"name": PROBE_LOCK, "namespace": NS, "holder": "bad-inputs", "state": "grabbed", "kubeconfig": KUBECONFIG},
      ("value of state must be one of: present, absent, got: grabbed",), lambda: _no_lease(PROBE_LOCK)),
    M("error_rate_check-interval-negative", "error_rate_check",
      {"prometheus_url": "http://127.0.0.1:9", "namespace": NS, "threshold": 0.05, "interval": "-10s"},
      ("interval '-10s' is not a duration",)),
    M("error_rate_check-window-in-words", "error_rate_check",
      {"prometheus_url": "http://127.0.0.1:9", "namespace": NS, "threshold": 0.05, "window": "5minutes"},
      ("window '5minutes' is not a PromQL duration",)),
    M("error_rate_check-namespace-missing", "error_rate_check",
      {"prometheus_url": "http://127.0.0.1:9", "threshold": 0.05},
      ("check is error_ratio but all of the following are missing: namespace",)),
    M("semver_next-path-missing", "semver_next", {"path": "/nonexistent"},
      ("path /nonexistent does not exist or is not a directory",)),
]


@pytest.mark.parametrize(("module", "args", "needles", "after"), MODULE_CASES)
def test_module(kept_baseline, row, module, args, needles, after):
    if module == "helm_diff":
        _bad_values_file()
    args = json.loads(json.dumps(args).replace("<WORK>", str(WORK)))
    row.update(kind="module", input=f"{module} {json.dumps({k: v for k, v in args.items() if k != 'kubeconfig'})}")
    before = _before()
    for attempt in range(3):
        rc, result, out = _module(module, args)
        lines = [e for e in str(result.get("msg", "")).splitlines() if e.strip()]
        if rc != 0 and any(all(n in e for n in needles) for e in lines) or attempt == 2 or not TRANSIENT.search(out):
            break
        _cluster_ready()
    assert rc != 0 and result.get("failed"), f"the parameters were accepted: rc {rc}\n{out[-2000:]}"
    assert "Traceback" not in out, out[-3000:]
    row["message"] = _cause(lines, needles)
    row["refused_by"] = f"agent_service.platform.{module}"
    assert not result.get("changed"), result
    checked = _unchanged(before)
    extra = after() if after else ""
    row["checked"] = f"{checked}; module result changed=false" + (f"; {extra}" if extra else "")


# ----------------------------------------------------------------------------- the API
_POOL = None


def _api(method, path, body=None, client_id=None, content_type="application/json"):
    """One request to the app through the API server's service proxy, with a raw body:
    (status, parsed JSON or text, headers). Each case has its own X-Client-ID (rate-limit bucket)."""
    global _POOL
    if _POOL is None:
        cfg = client.Configuration()
        config.load_kube_config(KUBECONFIG, client_configuration=cfg)
        headers = {}
        for setting in cfg.auth_settings().values():  # bearer token of token/exec kubeconfigs
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        pool = urllib3.PoolManager(cert_file=cfg.cert_file, key_file=cfg.key_file, ca_certs=cfg.ssl_ca_cert,
                                   cert_reqs="CERT_REQUIRED" if cfg.verify_ssl else "CERT_NONE")
        _POOL = (pool, cfg.host, headers)
    pool, host, auth = _POOL
    headers = {**auth, "Accept": "application/json", "X-Client-ID": client_id or f"bad-inputs-{uuid.uuid4().hex[:8]}"}
    if body is not None:
        headers["Content-Type"] = content_type
    url = f"{host}/api/v1/namespaces/{NS}/services/{RELEASE}:http/proxy{path}"
    for attempt in range(4):  # a restarting API server or pod answers 5xx or not at all: not the app's verdict
        try:
            resp = pool.request(method, url, body=body, headers=headers, timeout=30, retries=False)
        except urllib3.exceptions.HTTPError:
            if attempt == 3:
                raise
        else:
            if resp.status < 500 or attempt == 3:
                break
        _cluster_ready()
        time.sleep(3)
    text = resp.data.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = text
    return resp.status, data, {k.lower(): v for k, v in resp.headers.items()}


def _api_line(data):
    """The app's error as one line: `<code>: <message>` and, for a validation error, each `<loc>: <msg>`."""
    err = data.get("error", {}) if isinstance(data, dict) else {}
    line = f"{err.get('code')}: {err.get('message')}"
    for d in err.get("details") or []:
        line += f"; {'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}"
    return line


INVOKE = "/v1/agents/calculator/invocations"


def A(case_id, inp, method, path, body, status, needles):  # noqa: N802 - a case constructor, read as a table
    return pytest.param(inp, method, path, body, status, needles, id=case_id)


API_CASES = [
    A("malformed-json", 'POST invocations, body {"input": "2+2", (cut off)', "POST", INVOKE, b'{"input": "2+2",',
      422, ("validation_error", "body.16: JSON decode error")),
    A("body-not-json", "POST invocations, body input=2%2B2 (a form, not JSON)", "POST", INVOKE, b"input=2%2B2",
      422, ("validation_error", "body.0: JSON decode error")),
    A("body-not-an-object", 'POST invocations, body ["2+2"]', "POST", INVOKE, b'["2+2"]',
      422, ("body: Input should be a valid dictionary or object",)),
    A("unknown-agent", "POST /v1/agents/nope/invocations", "POST", "/v1/agents/nope/invocations",
      b'{"input": "2+2"}', 404, ("not_found: unknown agent 'nope'; see GET /v1/agents",)),
    A("agent-name-too-long", "POST /v1/agents/<65 x a>/invocations", "POST", f"/v1/agents/{'a' * 65}/invocations",
      b'{"input": "2+2"}', 422, ("path.agent: String should have at most 64 characters",)),
    A("input-oversized", "POST invocations, input of 4001 characters", "POST", INVOKE,
      json.dumps({"input": "x" * 4001}).encode(), 422, ("body.input: String should have at most 4000 characters",)),
    A("body-oversized", "POST invocations, a 1 MiB input", "POST", INVOKE,
      json.dumps({"input": "7" * (1 << 20)}).encode(), 422, ("body.input: String should have at most 4000",)),
    A("input-empty", 'POST invocations, input ""', "POST", INVOKE, b'{"input": ""}',
      422, ("body.input: String should have at least 1 character",)),
    A("unknown-field", 'POST invocations with "colour": "red"', "POST", INVOKE, b'{"input": "2+2", "colour": "red"}',
      422, ("body.colour: Extra inputs are not permitted",)),
    A("priority-unknown", 'POST invocations with "priority": "urgent"', "POST", INVOKE,
      b'{"input": "2+2", "priority": "urgent"}', 422, ("body.priority: Input should be 'normal' or 'high'",)),
    A("metadata-too-many", "POST invocations with 21 metadata entries", "POST", INVOKE,
      json.dumps({"input": "2+2", "metadata": {f"k{i}": "v" for i in range(21)}}).encode(),
      422, ("body.metadata: Dictionary should have at most 20 items",)),
    A("wait-out-of-range", "POST invocations?wait=31", "POST", INVOKE + "?wait=31", b'{"input": "2+2"}',
      422, ("query.wait: Input should be less than or equal to 30",)),
    A("invocation-id-not-a-uuid", "GET /v1/invocations/not-a-uuid", "GET", "/v1/invocations/not-a-uuid", None,
      422, ("path.invocation_id: Input should be a valid UUID",)),
    A("invocation-id-unknown", "GET /v1/invocations/<a random UUID>", "GET", "/v1/invocations/<uuid>", None,
      404, ("not_found: no invocation ",)),
]


@pytest.mark.parametrize(("inp", "method", "path", "body", "status", "needles"), API_CASES)
def test_api(kept_baseline, row, inp, method, path, body, status, needles):
    row.update(kind="api", input=inp)
    path = path.replace("<uuid>", str(uuid.uuid4()))
    before = _before()
    got, data, _headers = _api(method, path, body)
    assert got == status, f"{method} {path}: HTTP {got} {str(data)[:500]}"
    row["message"] = _cause([_api_line(data)], needles)
    row["refused_by"] = f"the app (HTTP {got})"
    row["checked"] = f"HTTP {got}; no invocation row added; " + _unchanged(before)


def test_api_rate_limit_exceeded(kept_baseline, row):
    """One client over the app's per-client limit (config.rateLimitPerMinute, a fixed one-minute window in
    Redis): the request over it gets 429 with Retry-After, and a refused POST writes no row."""
    client_id = f"bad-inputs-{uuid.uuid4().hex[:8]}"  # a bucket of its own: nobody else is limited
    row.update(kind="api", input=f"GET /v1/agents as X-Client-ID {client_id} until the limit, then one POST "
                                 "invocation more")
    # the window is a calendar minute: start early enough in it that the burst and the POST share it
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)
    before = _before()
    status, data, headers = _api("GET", "/v1/agents", client_id=client_id)
    assert status == 200, (status, data)
    limit = int(headers["x-ratelimit-limit"])
    for _ in range(limit + 5):
        status, data, headers = _api("GET", "/v1/agents", client_id=client_id)
        if status != 200:
            break
    assert status == 429, f"no 429 after {limit + 6} requests: {status} {data}"
    status, data, headers = _api("POST", INVOKE, b'{"input": "2+2"}', client_id=client_id)
    assert status == 429, (status, data)
    assert int(headers["retry-after"]) > 0 and headers["x-ratelimit-remaining"] == "0", headers
    row["message"] = _cause([_api_line(data)], ("rate_limited: rate limit of", f"{limit} requests per minute"))
    row["refused_by"] = "the app (HTTP 429)"
    row["checked"] = (f"HTTP 429, Retry-After {headers['retry-after']} s, X-RateLimit-Remaining 0; the refused POST "
                      "added no invocation row; " + _unchanged(before))
