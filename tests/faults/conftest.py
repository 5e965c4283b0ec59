"""Fault matrix on the test bed (issue 9): shared helpers and fixtures.

Every case runs against its own namespace `faults` release (a session-wide deployed baseline,
re-checked before each case), drives the collection's real playbooks (ansible-playbook
playbooks/deploy.yml -e @vars.json, as molecule/shared/tasks/run.yml does) and kubectl/helm.
A host Prometheus (Debian's) on 127.0.0.1:59170 scrapes the test bed's API pods, found by
molecule/shared/files/pod_sd.py; a webhook receiver listens on 59171.
Each case records a row (case, fault, expected, observed, seconds, data check) that is written
to bench/results/faults.json and faults.md at the end of the session (merged by case name).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KUBECONFIG = str(Path(os.environ.get("KUBECONFIG") or ROOT / ".testbed" / "kubeconfig").resolve())
BIN_DIR = Path(os.environ.get("BIN_DIR") or Path.home() / ".cache" / "agent-service-platform" / "bin")
NS = os.environ.get("FAULTS_NAMESPACE", "faults")
RELEASE = "agent-service"
WORK = ROOT / ".cache" / "faults"
PROM_PORT = 59170
WEBHOOK_PORT = 59171
PROM_URL = f"http://127.0.0.1:{PROM_PORT}"
# image tags of the app image (make faults-images tags and imports them)
BASE_VERSION = os.environ.get("FAULTS_BASE_VERSION", "2.9.0")
BAD_VERSION = os.environ.get("FAULTS_BAD_VERSION", "3.9.0")
SECRETS = ["faults-postgres-password", "faults-redis-password"]
RESULTS_DIR = ROOT / "bench" / "results"
PY = sys.executable
SERVICE_REQUEST = ROOT / "roles" / "release" / "files" / "service_request.py"
_PATH = f"{BIN_DIR}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
ENV = {**os.environ, "KUBECONFIG": KUBECONFIG, "PATH": _PATH,
       "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".cache" / "collections"),
       "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}


# ----------------------------------------------------------------------------- commands
def sh(argv, check=True, timeout=300, **kw):
    res = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=timeout, check=False, **kw)
    if check and res.returncode != 0:
        raise AssertionError(f"{argv!r} rc={res.returncode}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res


def kubectl(*args, check=True, timeout=120):
    return sh(["kubectl", "--kubeconfig", KUBECONFIG, *args], check=check, timeout=timeout)


def helm(*args, check=True, timeout=120):
    return sh(["helm", "--kubeconfig", KUBECONFIG, *args], check=check, timeout=timeout)


def helm_history(ns=NS):
    res = helm("history", RELEASE, "-n", ns, "--max", "100", "-o", "json", check=False)
    return json.loads(res.stdout) if res.returncode == 0 else []


def helm_status(ns=NS):
    """The release's status now (deployed, pending-upgrade, ...)."""
    return json.loads(helm("status", RELEASE, "-n", ns, "-o", "json").stdout)["info"]["status"]


def helm_values(ns=NS):
    return json.loads(helm("get", "values", RELEASE, "-n", ns, "-o", "json").stdout)


def assert_history_consistent(ns=NS):
    """The last revision is deployed, none is pending-*, at most one is deployed, revisions consecutive."""
    hist = helm_history(ns)
    assert hist, "no helm history"
    revs = [h["revision"] for h in hist]
    statuses = [h["status"] for h in hist]
    pairs = [f"r{h['revision']}:{h['status']}" for h in hist]
    assert revs == list(range(revs[0], revs[0] + len(revs))), f"revisions not consecutive: {revs}"
    assert statuses[-1] == "deployed", f"last revision not deployed: {pairs}"
    assert not [s for s in statuses if s.startswith("pending")], f"pending revision left: {pairs}"
    assert statuses.count("deployed") == 1, f"more than one deployed revision: {pairs}"
    return hist


def request(path, method="GET", body=None, timeout=30.0, ns=NS):
    """HTTP through the API server's service proxy (as the role's smoke stage does): (status, body)."""
    argv = [PY, str(SERVICE_REQUEST), "--kubeconfig", KUBECONFIG, "--method", method, "--timeout", str(timeout),
            "--client-id", "faults-test",  # its own rate-limit bucket, not the pipeline's
            "--path", f"/api/v1/namespaces/{ns}/services/{RELEASE}:http/proxy{path}"]
    if body is not None:
        argv += ["--body", json.dumps(body)]
    res = sh(argv, check=False, timeout=timeout + 30)
    if res.returncode != 0:
        try:
            out = json.loads(res.stdout)
            return out.get("status", 0), out.get("body", res.stderr)
        except ValueError:
            return 0, (res.stdout + res.stderr)[-500:]
    out = json.loads(res.stdout)
    return out["status"], out["body"]


def invoke(agent, text, wait=0, ns=NS):
    status, body = request(f"/v1/agents/{agent}/invocations?wait={wait}", "POST", {"input": text}, ns=ns,
                           timeout=wait + 20)
    assert status in (200, 202), f"invoke {agent} {text!r}: {status} {body}"
    return json.loads(body)


def invocation(inv_id, ns=NS):
    status, body = request(f"/v1/invocations/{inv_id}", ns=ns)
    return json.loads(body) if status == 200 else {"status": f"http-{status}", "body": body}


def wait_invocations(ids, timeout=180, ns=NS):
    """Poll until every invocation is finished (succeeded/failed/timeout); returns {id: record}."""
    done, deadline = {}, time.monotonic() + timeout
    while time.monotonic() < deadline and len(done) < len(ids):
        for i in ids:
            if i not in done:
                rec = invocation(i, ns)
                if rec.get("status") in ("succeeded", "failed", "timeout"):
                    done[i] = rec
        if len(done) < len(ids):
            time.sleep(3)
    return done


def psql(sql, ns=NS, check=True):
    res = kubectl("exec", "-n", ns, f"{RELEASE}-postgresql-0", "-c", "postgresql", "--", "sh", "-c",
                  f'PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$POSTGRES_USER" '
                  f'-d "$POSTGRES_DB" -tAc "{sql}"', check=check)
    return res.stdout.strip()


def count_rows(ns=NS):
    return int(psql("SELECT count(*) FROM invocations", ns=ns) or 0)


FINAL = ("succeeded", "failed", "timeout")


def invocation_ids(ns=NS):
    """{invocation id: status} of every row of the invocations table."""
    rows = psql("SELECT id, status FROM invocations", ns=ns).splitlines()
    return dict(row.split("|", 1) for row in rows if row)


def assert_invocations_kept(before, ns=NS):
    """Every id present before is present now, and an id that had a final status still has it.

    Returns the ids now present (rows written since then are allowed: smoke tests add some)."""
    after = invocation_ids(ns)
    lost = sorted(set(before) - set(after))
    assert not lost, f"invocations lost: {lost}"
    changed = {i: (s, after[i]) for i, s in before.items() if s in FINAL and after[i] != s}
    assert not changed, f"final statuses changed: {changed}"
    return after


def secret_digests(ns=NS):
    """{Secret name: sha256 of its data and resourceVersion}: a Secret rewritten with the same data counts."""
    items = json.loads(kubectl("get", "secrets", "-n", ns, "-o", "json").stdout)["items"]
    return {s["metadata"]["name"]: hashlib.sha256(json.dumps([s.get("data"), s["metadata"]["resourceVersion"]],
                                                             sort_keys=True).encode()).hexdigest()[:16]
            for s in items if s.get("type") != "helm.sh/release.v1"}


def state(ns=NS):
    """What a refused input must leave as it was: helm history, invocation rows, Secrets."""
    return {"history": [(h["revision"], h["status"]) for h in helm_history(ns)],
            "invocations": invocation_ids(ns), "secrets": secret_digests(ns)}


def assert_unchanged(before, ns=NS):
    """Nothing changed since `before` (from state()): same revisions, rows (ids, statuses) and Secrets."""
    after = state(ns)
    for key in before:
        assert after[key] == before[key], f"{key} changed: {before[key]} -> {after[key]}"
    return after


def wait_ready(ns=NS, timeout=240):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = request("/ready", ns=ns, timeout=10)
        if last[0] == 200:
            return time.monotonic()
        time.sleep(2)
    raise AssertionError(f"/ready did not recover in {timeout}s: {last}")


def wait_rollout(kind_name, ns=NS, timeout=240):
    kubectl("rollout", "status", kind_name, "-n", ns, f"--timeout={timeout}s", timeout=timeout + 30)


# ----------------------------------------------------------------------------- playbooks
def base_vars():
    return {
        "release_kubeconfig": KUBECONFIG,
        "release_chart_path": str(ROOT / "helm" / "agent-service"),
        "release_env": "dev",
        "release_inventory_env": "dev",
        "release_name": RELEASE,
        "release_namespace": NS,
        "release_version": BASE_VERSION,
        "release_backup_dir": str(WORK / "backups"),
        "release_report_dir": str(WORK / "reports"),
        "release_prometheus_url": PROM_URL,
        "release_timeout": "4m0s",
        "release_analysis_interval": "10s",
        "release_analysis_count": 3,
        "release_analysis_window": "30s",
        "release_analysis_initial_delay": "15s",
        "release_analysis_threshold": 0.05,
        "release_smoke_delay": 2,
        "release_webhook_url": f"http://127.0.0.1:{WEBHOOK_PORT}/hook",
        "release_fail_on_rollback": False,
        "release_backup_retention": 3,
        # a short task limit gives a short Celery visibility timeout (limit + 60 s): the time after
        # which a task whose worker died is redelivered (worker-killed case)
        "release_values": {"secrets": {"postgresPassword": SECRETS[0], "redisPassword": SECRETS[1]},
                           "worker": {"taskTimeLimit": 60, "taskSoftTimeLimit": 50}},
    }


def _deep_merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _write_run_files(label, extra, playbook):
    WORK.mkdir(parents=True, exist_ok=True)
    varfile = WORK / f"{label}.vars.json"
    varfile.write_text(json.dumps(_deep_merge(base_vars(), extra or {}), indent=1))
    varfile.chmod(0o600)
    inv = WORK / "inventory.yml"
    inv.write_text("all:\n  children:\n    agent_service:\n      hosts:\n        agent-service-faults:\n"
                   f"          ansible_connection: local\n          ansible_python_interpreter: {PY}\n")
    bindir = Path(PY).parent
    return [str(bindir / "ansible-playbook"), "-v", "-i", str(inv), str(ROOT / "playbooks" / f"{playbook}.yml"),
            "-e", f"@{varfile}"]


class Run:
    def __init__(self, label, rc, out, seconds, report):
        self.label, self.rc, self.out, self.seconds, self.report = label, rc, out, seconds, report

    def __repr__(self):
        return f"Run({self.label} rc={self.rc} {self.seconds:.0f}s verdict={self.verdict})"

    @property
    def verdict(self):
        return (self.report or {}).get("verdict")

    @property
    def failure_stage(self):
        return ((self.report or {}).get("failure") or {}).get("stage")

    def tail(self, n=3000):
        return self.out[-n:]


def _reports():
    d = WORK / "reports"
    return set(d.glob("**/*.json")) if d.exists() else set()


def _report_after(before):
    """The newest release report written since `before` (a set of report paths), or None."""
    new = sorted(_reports() - before, key=lambda p: p.stat().st_mtime)
    new = [p for p in new if "values" not in p.name]
    for p in reversed(new):
        try:
            data = json.loads(p.read_text())
        except ValueError:
            continue
        if isinstance(data, dict) and "verdict" in data:
            return data
    return None


def _check_secrets(out, label):
    for s in SECRETS:
        assert s not in out, f"{label}: a secret value appears in the playbook output"


def failure_message(run):
    """The msg of the run's first failed task (`fatal: [...]: FAILED! => {...}`), or '' when none failed.
    `run`: a Run, or a playbook's output."""
    for line in (run if isinstance(run, str) else run.out).splitlines():
        if line.startswith("fatal:") and "=> " in line:
            try:
                return str(json.loads(line.split("=> ", 1)[1]).get("msg", ""))
            except ValueError:
                return line
    return ""


def run_playbook(label, extra=None, playbook="deploy", timeout=900):
    """Run a playbook to the end; returns Run (rc, output, seconds, the new report)."""
    argv = _write_run_files(label, extra, playbook)
    before = _reports()
    start = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=timeout, check=False, cwd=ROOT)
    secs = time.monotonic() - start
    out = res.stdout + "\n" + res.stderr
    (WORK / f"{label}.log").write_text(out)
    _check_secrets(out, label)
    return Run(label, res.returncode, out, secs, _report_after(before))


def start_playbook(label, extra=None, playbook="deploy"):
    """Start a playbook in its own process group; the caller waits or kills it."""
    argv = _write_run_files(label, extra, playbook)
    log = open(WORK / f"{label}.log", "w")  # noqa: SIM115 - closed by the caller through proc.log
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=ENV, cwd=ROOT, start_new_session=True)
    proc.log = log
    return proc


def _tree(root):
    """root's session members and all its descendants (helm started by the module may leave the session)."""
    parent, sid = {}, {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                parent[int(d.name)], sid[int(d.name)] = int(fields[1]), int(fields[3])
            except (OSError, ValueError, IndexError):
                pass
    found = {p for p, s in sid.items() if s == root} | {root}
    grew = True
    while grew:
        new = {p for p, pp in parent.items() if pp in found and p not in found}
        found |= new
        grew = bool(new)
    return found


def kill_session(proc, sig=signal.SIGKILL):
    """Kill the playbook and everything it started (ansible-playbook, its workers, the module's helm)."""
    victims = set()
    for _ in range(3):  # a process may fork while we look
        for pid in _tree(proc.pid) - victims:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
            victims.add(pid)
        time.sleep(0.2)
    proc.wait(timeout=30)
    survivors = [p for p in victims if Path(f"/proc/{p}").exists()
                 and Path(f"/proc/{p}/stat").read_text().split(") ")[-1][:1] != "Z"]
    assert not survivors, f"processes of the killed playbook survived: {survivors}"
    return sorted(victims)


def _latest_report():
    return _report_after(set())


def wait_for_helm_status(proc, wanted="pending-upgrade", timeout=400):
    """Poll `helm status` while `proc` runs until the release reaches `wanted`; fail otherwise."""
    status, deadline = None, time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        res = helm("status", RELEASE, "-n", NS, "-o", "json", check=False)
        if res.returncode == 0:
            status = json.loads(res.stdout)["info"]["status"]
            if status == wanted:
                return status
        time.sleep(0.5)
    raise AssertionError(f"never saw {wanted} (last {status}, rc {proc.poll()})")


def template_change(label):
    """release_extra_values that change the API's pod template on every call (the label and the
    time in annotations): a case run again, or after another, always has an upgrade to make."""
    return {"config": {"logLevel": "INFO"},
            "api": {"podAnnotations": {"faults/run": label, "faults/at": f"{time.time():.3f}"}}}


def start_until_pending(label, extra=None):
    """Start a deploy of the baseline version with a changed pod template; return it once it is pending-upgrade."""
    proc = start_playbook(label, {"release_version": BASE_VERSION, **(extra or {}),
                                  "release_extra_values": template_change(label)})
    try:
        wait_for_helm_status(proc, "pending-upgrade")
    except BaseException:
        kill_session(proc)
        proc.log.close()
        raise
    return proc


# ----------------------------------------------------------------------------- fixtures
def _http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:  # noqa: S310 - loopback only
            return r.status == 200
    except OSError:
        return False


class Helpers:
    """The host Prometheus, its pod discovery and the webhook receiver (own pids, own ports)."""

    def __init__(self):
        self.dir = WORK / "helpers"
        self.procs = {}

    def _spawn(self, name, argv):
        log = open(self.dir / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, env=ENV,
                             start_new_session=True)
        self.procs[name] = (p, log)
        (self.dir / f"{name}.pid").write_text(str(p.pid))

    def _stop_stale(self):
        for pidf in self.dir.glob("*.pid"):
            try:
                pid = int(pidf.read_text())
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                if str(self.dir) in cmd or str(PROM_PORT) in cmd or str(WEBHOOK_PORT) in cmd:
                    os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                pass
            pidf.unlink(missing_ok=True)

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        time.sleep(0.5)
        (self.dir / "pods.json").write_text("[]")
        (self.dir / "prometheus.yml").write_text(
            "global: {scrape_interval: 5s, scrape_timeout: 4s, evaluation_interval: 5s}\n"
            "scrape_configs:\n  - job_name: agent-service\n    file_sd_configs:\n"
            f"      - files: ['{self.dir}/pods.json']\n        refresh_interval: 5s\n")
        shared = ROOT / "molecule" / "shared" / "files"
        self._spawn("pod_sd", [PY, str(shared / "pod_sd.py"), "kubectl", KUBECONFIG, str(self.dir / "pods.json"), "2"])
        self.start_prometheus()
        self._spawn("webhook", [PY, str(shared / "webhook_receiver.py"), str(WEBHOOK_PORT),
                                str(self.dir / "webhook.jsonl")])
        for _ in range(60):
            if _http_ok(f"{PROM_URL}/-/ready"):
                return
            time.sleep(1)
        raise AssertionError(f"host Prometheus did not start: {(self.dir / 'prometheus.log').read_text()[-1000:]}")

    def start_prometheus(self):
        # a case that restarts Prometheus in its finally may not have stopped it: a second one
        # would fail to bind and its entry would orphan the first, which outlives the session
        running = self.procs.get("prometheus")
        if running and running[0].poll() is None:
            return
        self._spawn("prometheus", ["prometheus", f"--config.file={self.dir / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={self.dir / 'tsdb'}",
                                   f"--web.listen-address=127.0.0.1:{PROM_PORT}"])

    def stop(self, name):
        p, log = self.procs.pop(name, (None, None))
        if p is not None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()
            (self.dir / f"{name}.pid").unlink(missing_ok=True)

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)


@pytest.fixture(scope="session")
def helpers():
    if not Path(KUBECONFIG).exists():
        pytest.fail(f"no test bed: {KUBECONFIG} missing (make cluster)")
    # one fault-matrix session at a time: a second one would kill this one's helpers and
    # deploy into the same namespace mid-case
    WORK.mkdir(parents=True, exist_ok=True)
    lock = open(WORK / "session.lock", "w")  # noqa: SIM115 - held for the session
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pytest.fail(f"another fault-matrix session is running ({WORK / 'session.lock'} is locked)")
    h = Helpers()
    h.start()
    yield h
    h.stop_all()
    lock.close()


def _baseline_ok():
    hist = helm_history()
    if not hist or hist[-1]["status"] != "deployed":
        return False
    vals = helm_values()
    if (vals.get("image", {}).get("tag") != BASE_VERSION or vals.get("config", {}).get("faultErrorRate", 0)
            or vals.get("worker", {}).get("taskTimeLimit") != 60):
        return False
    return request("/ready", timeout=10)[0] == 200


@pytest.fixture(scope="session")
def deployed(helpers):
    """The baseline: BASE_VERSION deployed in NS by the deploy playbook (reused when already there)."""
    if not _baseline_ok():
        kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true", timeout=300)
        run = run_playbook("baseline", {"release_analysis_enabled": False})
        assert run.rc == 0 and run.verdict == "succeeded", f"baseline deploy failed: {run}\n{run.tail()}"
    return helpers


@pytest.fixture
def baseline(deployed):
    """Per case: the baseline serves, with a consistent history; brings it back when a case left it off."""
    try:
        assert_history_consistent()
    except AssertionError:  # a case left the history inconsistent: start this one from a fresh install
        kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true", timeout=300)
    if not _baseline_ok():
        run = run_playbook("baseline-restore", {"release_analysis_enabled": False})
        assert run.rc == 0 and _baseline_ok(), f"could not restore the baseline: {run}\n{run.tail()}"
    assert_history_consistent()
    return deployed


# ----------------------------------------------------------------------------- results
_ROWS: dict[str, dict] = {}


@pytest.fixture
def record(request):
    """record(fault=..., expected=..., observed=..., data_check=...): one row of the matrix."""
    start = time.monotonic()
    row = {"case": request.node.name, "fault": "", "expected": "", "observed": "", "data_check": ""}

    def _record(**kw):
        row.update(kw)

    yield _record
    row["seconds"] = round(time.monotonic() - start, 1)
    rep = getattr(request.node, "rep_call", None)
    row["outcome"] = "passed" if rep is not None and rep.passed else "failed"
    if rep is not None and rep.failed:
        lines = str(rep.longrepr).splitlines() if rep.longrepr else []
        errs = [ln[4:] for ln in lines if ln.startswith("E   ")]
        row["error"] = (errs[0] if errs else (lines[-1] if lines else ""))[:300]
    _ROWS[row["case"]] = row


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.rep_call = rep


def pytest_configure(config):
    config.addinivalue_line("markers", "node: stops a component of the test bed's node (run alone on the cluster)")


# Each session writes its rows to ROWS/<FAULTS_PART>.json; the table is every rows file there.
# `make faults` (and make test's faults lane) empties ROWS first, so the table holds that run's
# cases alone, whether they ran in one session or in two (the node faults run after the lanes).
ROWS = WORK / "rows"
PART = os.environ.get("FAULTS_PART", "all")


def pytest_sessionfinish(session, exitstatus):
    if not _ROWS:
        return
    ROWS.mkdir(parents=True, exist_ok=True)
    (ROWS / f"{PART}.json").write_text(json.dumps({
        "part": PART, "ended": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": list(_ROWS.values())}, indent=1) + "\n")
    write_table([json.loads(f.read_text()) for f in sorted(ROWS.glob("*.json"))])


def write_table(parts):
    """bench/results/faults.json and faults.md from the rows of `parts` (one per pytest session)."""
    rows = sorted((r for part in parts for r in part["rows"]), key=lambda r: r["case"])
    passed = sum(r["outcome"] == "passed" for r in rows)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "faults.json").write_text(json.dumps({
        "namespace": NS, "parts": {p["part"]: p["ended"] for p in parts},
        "passed": passed, "failed": len(rows) - passed, "cases": rows}, indent=1) + "\n")
    ended = ", ".join(f"{p['part']} part ended {p['ended']}" for p in parts)
    lines = ["# Fault matrix (tests/faults, `make faults`; two stages of `make test`)", "",
             f"{len(rows)} faults, {passed} passed ({ended}).",
             "", "| case | fault | expected outcome | observed | seconds | data check | result |",
             "|---|---|---|---|---:|---|---|"]
    for r in rows:
        cells = [r["case"], r["fault"], r["expected"], r["observed"] or r.get("error", ""), str(r["seconds"]),
                 r["data_check"], r["outcome"]]
        lines.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    (RESULTS_DIR / "faults.md").write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- the node
# testbed/cluster.py restarts one component (SIGKILL, then the command line `up` uses) or the
# whole node (every component and pod stopped, then started on the kept state).
CLUSTER_PY = ROOT / "testbed" / "cluster.py"


def _node_ready_since(t_wall):
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    for cond in nodes[0]["status"]["conditions"]:
        if cond["type"] == "Ready":
            hb = time.mktime(time.strptime(cond["lastHeartbeatTime"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
            return cond["status"] == "True" and hb >= t_wall - 1
    return False


def restart_component(name, timeout=180):
    """Kill one component of the test bed and start it again; wait until it serves and the node
    is Ready (for the kubelet: with a status it posted after the kill, since the Ready condition
    it posted before stays True for a while). Returns the seconds it took."""
    t0, t_wall = time.monotonic(), time.time()
    sh(["python3", str(CLUSTER_PY), "restart", name, "--timeout", str(timeout)], timeout=timeout + 60)
    deadline = time.monotonic() + timeout
    while name == "kubelet" and not _node_ready_since(t_wall):
        assert time.monotonic() < deadline, f"node not Ready {timeout}s after the {name} restart"
        time.sleep(1)
    return time.monotonic() - t0


def reboot_node(timeout=600):
    """Stop every component and pod of the test bed and start them again. Returns the seconds it took."""
    t0 = time.monotonic()
    sh(["python3", str(CLUSTER_PY), "reboot"], timeout=timeout)
    return time.monotonic() - t0
