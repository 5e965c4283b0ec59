"""release_backup module: run as Ansible runs it, against a real PostgreSQL.

helm and kubectl are small stand-ins (Python scripts over a JSON state file) that record
their calls. The stand-in `kubectl exec` runs the module's own `sh -c` dump script with
the pod's environment, so the archive is a real `pg_dump -Fc` of a real PostgreSQL
(Debian's binaries, started for these tests on 127.0.0.1:59089) and the module checks it
with the real `pg_restore --list`. The module on a real cluster is in the Molecule
scenarios (default: in the pod; backup_restore: by a Job).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
# the collection's import path, linked by tests/unit/conftest.py (as by `make collection`)
_COLL = os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".cache" / "collections")).split(os.pathsep)[0]
sys.path.insert(0, str(ROOT / "app" / "tests"))
from services import Postgres, pg_bindir  # noqa: E402  (the app tests' PostgreSQL helper)

MODULE = ROOT / "plugins" / "modules" / "release_backup.py"
PG_PORT = 59089
SELECTOR = "app.kubernetes.io/instance=agent-service,app.kubernetes.io/component=postgresql"

STAND_IN = r'''#!PYTHON
import json, os, subprocess, sys
here = os.path.dirname(sys.argv[0])
state = json.load(open(os.path.join(here, "state.json")))
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.path.join(here, "calls.jsonl"), "a") as log:  # the helm reads run side by side: append only
    log.write(json.dumps([tool] + args) + "\n")
if tool == "helm":
    what = " ".join(args[:2])
    if what in state.get("helm_fails", []):
        sys.stderr.write("Error: release: not found\n"); sys.exit(1)
    sys.stdout.write({"get values": "secrets:\n  postgresPassword: s3cret\n", "get manifest": "kind: Deployment\n"}
                     .get(what, json.dumps([{"revision": 3, "status": "deployed"}])))
elif args[0] == "get":
    if state.get("get_forbidden"):
        sys.stderr.write('Error from server (Forbidden): pods is forbidden: User "deployer" cannot list resource\n')
        sys.exit(1)
    print(json.dumps({"items": [{"metadata": {"name": p}} for p in state["pods"]]}))
elif args[0] == "exec":
    script = args[args.index("--") + 3]
    env = dict(os.environ, **state["pod_env"])
    sys.exit(subprocess.call(["sh", "-c", script], env=env))
'''


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres(port=PG_PORT)
    pg.init()
    pg.admin("CREATE DATABASE agents")
    pg.admin("CREATE TABLE invocations (id serial PRIMARY KEY, agent text); "
             "INSERT INTO invocations (agent) SELECT 'assistant' FROM generate_series(1, 50)", dbname="agents")
    yield pg
    pg.destroy()


@pytest.fixture
def tools(tmp_path, postgres):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("helm", "kubectl"):
        path = bindir / name
        path.write_text(STAND_IN.replace("PYTHON", sys.executable))
        path.chmod(0o755)
    env = {"POSTGRES_USER": postgres.user, "POSTGRES_PASSWORD": postgres.password, "POSTGRES_DB": "agents",
           "PGPORT": str(PG_PORT), "PATH": f"{pg_bindir()}:{os.environ['PATH']}"}
    (bindir / "state.json").write_text(json.dumps({"pods": ["agent-service-postgresql-0"], "pod_env": env}))
    return bindir


def state(tools):
    calls = tools / "calls.jsonl"
    current = json.loads((tools / "state.json").read_text())
    if calls.exists():
        current["calls"] = [json.loads(line) for line in calls.read_text().splitlines()]
    return current


def set_state(tools, **changes):
    current = state(tools)
    current.update(changes)
    (tools / "state.json").write_text(json.dumps(current))


def run(tools, path, **args):
    params = dict(path=str(path), release_name="agent-service", release_namespace="dev", revision=3,
                  pod_selector=SELECTOR, helm_binary=str(tools / "helm"), kubectl=[str(tools / "kubectl")],
                  pg_restore_binary=str(pg_bindir() / "pg_restore"), metadata={"env": "dev"})
    params.update(args)
    args_file = path.parent.parent / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    proc = subprocess.run([sys.executable, str(MODULE), str(args_file)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(_COLL)), check=False)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout[proc.stdout.index("{"):])


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_dump_in_the_pod_with_helm_state_manifest_and_private_files(tmp_path, tools):
    target = tmp_path / "backups" / "20261128T101500Z-r3"
    result = run(tools, target)
    assert result.get("changed") and not result.get("failed"), result
    assert result["database"]["method"] == "exec" and result["database"]["pod"] == "agent-service-postgresql-0"
    assert result["database"]["entries"] >= 3  # the table, its sequence, its data
    assert sorted(p.name for p in target.iterdir()) == ["db.dump", "history.json", "manifest.json", "manifest.yaml",
                                                        "values.yaml"]
    assert mode(target) == 0o700 and {mode(p) for p in target.iterdir()} == {0o600}
    assert "s3cret" in (target / "values.yaml").read_text()
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest == result["manifest"]
    dump = (target / "db.dump").read_bytes()
    assert dump.startswith(b"PGDMP")
    assert manifest["database"]["bytes"] == len(dump) and manifest["database"]["dumped"] is True
    assert manifest["database"]["sha256"] == __import__("hashlib").sha256(dump).hexdigest()
    assert (manifest["revision"], manifest["env"], manifest["files"][-1]) == (3, "dev", "db.dump")
    listed = subprocess.run([str(pg_bindir() / "pg_restore"), "--list", str(target / "db.dump")],
                            capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public invocations" in listed
    calls = [c[:3] for c in state(tools)["calls"]]
    assert ["kubectl", "get", "pods"] in calls and ["kubectl", "exec", "--namespace"] in calls
    helm_calls = {tuple(c[:3]) for c in calls if c[0] == "helm"}
    assert helm_calls == {("helm", "get", "values"), ("helm", "get", "manifest"), ("helm", "history", "agent-service")}


def test_no_pod_leaves_the_dump_to_a_job_then_completes_with_its_file(tmp_path, tools):
    set_state(tools, pods=[])
    target = tmp_path / "backups" / "20261128T101500Z-r3"
    first = run(tools, target)
    assert first["database"] == {"method": "pending", "pending": True, "pod": None, "entries": None}
    assert first["manifest"] == {} and not (target / "manifest.json").exists()
    assert sorted(p.name for p in target.iterdir()) == ["history.json", "manifest.yaml", "values.yaml"]
    # what the Job would have copied out: a real archive of the same database
    env = dict(os.environ, **state(tools)["pod_env"])
    with open(target / "db.dump", "wb") as out:
        subprocess.run(["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" pg_dump -h 127.0.0.1 -U "$POSTGRES_USER" '
                        '-d "$POSTGRES_DB" -Fc'], env=env, stdout=out, check=True)
    calls_before = len(state(tools)["calls"])
    second = run(tools, target, database="file", helm_state=False)
    assert second["database"]["method"] == "job" and second["manifest"]["database"]["method"] == "job"
    assert second["manifest"]["database"]["dumped"] is True and (target / "manifest.json").exists()
    assert len(state(tools)["calls"]) == calls_before  # no helm or kubectl call the second time


def test_exec_without_a_pod_fails_clearly_and_writes_nothing(tmp_path, tools):
    set_state(tools, pods=[])
    target = tmp_path / "backups" / "20261128T101500Z-r3"
    result = run(tools, target, database="exec")
    assert result["failed"] and "no Running pod matches" in result["msg"] and "database=job" in result["msg"]
    assert not target.exists()


def test_a_forbidden_pod_lookup_names_the_cause_in_one_line(tmp_path, tools):
    set_state(tools, get_forbidden=True)
    target = tmp_path / "backups" / "20261128T101500Z-r3"
    result = run(tools, target)
    assert result["failed"] and result["msg"].startswith("could not list the PostgreSQL pods in dev: "), result
    assert "pods is forbidden" in result["msg"] and "\n" not in result["msg"]
    assert not target.exists()


def test_a_failed_helm_read_removes_the_half_backup(tmp_path, tools):
    set_state(tools, helm_fails=["get manifest"])
    target = tmp_path / "backups" / "20261128T101500Z-r3"
    result = run(tools, target)
    assert result["failed"] and "could not be written" in result["msg"], result
    assert result["msg"].endswith(": Error: release: not found"), result["msg"]  # the cause, in the one line
    assert "release: not found" in result["stderr"]
    assert not target.exists() and (tmp_path / "backups").is_dir()


def test_a_backup_directory_that_cannot_be_made_is_a_clear_failure(tmp_path, tools):
    # root ignores modes, so the parent is a file; the fault matrix mounts a read-only and a full one
    (tmp_path / "backups").write_text("not a directory")
    result = run(tools, tmp_path / "backups" / "20261128T101500Z-r3")
    assert result["failed"] and "Traceback" not in str(result), result
    assert result["msg"].startswith("cannot create the backup directory ") and result["msg"].endswith(
        ": Not a directory"), result["msg"]
    assert (tmp_path / "backups").read_text() == "not a directory"
    calls = [" ".join(c) if isinstance(c, list) else str(c) for c in state(tools).get("calls", [])]
    assert not [c for c in calls if "helm" in c or "exec" in c], calls  # at most the pod lookup: no read, no dump


def test_an_unreadable_job_dump_fails_and_removes_the_backup(tmp_path, tools):
    set_state(tools, pods=[])
    target = tmp_path / "backups" / "20261128T101500Z-r3"
    assert run(tools, target, database="job")["database"]["pending"]
    (target / "db.dump").write_text("pg_dump: error: connection refused\n")
    result = run(tools, target, database="file", helm_state=False)
    assert result["failed"] and "not a readable pg_dump archive" in result["msg"], result
    assert not target.exists()


def test_retention_keeps_the_newest_and_leaves_other_files_alone(tmp_path, tools):
    root = tmp_path / "backups"
    older = ["20261120T000000Z-r1", "20261121T000000Z-r2", "20261122T000000Z-r3", "20261123T000000Z-r4"]
    for name in older + ["notes"]:
        (root / name).mkdir(parents=True)
    result = run(tools, root / "20261128T101500Z-r5", revision=5, retention=3, database="none")
    assert sorted(result["removed"]) == older[:2]
    kept = ["20261122T000000Z-r3", "20261123T000000Z-r4", "20261128T101500Z-r5", "notes"]
    assert sorted(p.name for p in root.iterdir()) == kept
    assert result["manifest"]["database"] == {"dumped": False, "bytes": 0, "sha256": "", "format": "custom",
                                              "method": "none"}


def test_bad_input_is_refused_before_anything_is_written(tmp_path, tools):
    target = tmp_path / "backups" / "20261128T101500Z-r3"
    target.mkdir(parents=True)
    (target / "values.yaml").write_text("kept\n")
    refused = run(tools, target)
    assert refused["failed"] and "never overwritten" in refused["msg"]
    assert (target / "values.yaml").read_text() == "kept\n"
    shutil.rmtree(target)
    assert "at least 1" in run(tools, target, retention=0)["msg"]
    assert "only for database=file" in run(tools, target, helm_state=False)["msg"]
    assert not target.exists() and state(tools).get("calls") is None


def test_check_mode_writes_nothing(tmp_path, tools):
    target = tmp_path / "backups" / "20261128T101500Z-r3"
    result = run(tools, target, _ansible_check_mode=True)
    assert result["changed"] and result["would_write"] == ["values.yaml", "manifest.yaml", "history.json",
                                                           "db.dump"]
    assert not target.exists()
    assert not any(c[0] == "helm" or c[1] == "exec" for c in state(tools)["calls"])
