"""A stand-in helm for the module tests: a Python script over a JSON state file.

It records every call (``state(helm)["calls"]``) and answers ``version``, ``history``,
``list``, ``rollback`` and ``upgrade`` from the state, so the tests can assert what a module ran
and what it skipped (check mode). The modules on a real cluster are in tests/e2e and
the Molecule scenarios.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
# the collection's import path, linked by tests/unit/conftest.py (as by `make collection`)
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".cache" / "collections")).split(os.pathsep)[0]

FAKE_HELM = r'''#!PYTHON
import fcntl, json, sys
state_path = sys.argv[0] + ".json"
# the modules run their reads side by side: one call at a time reads and writes the state
lock = open(state_path + ".lock", "w")
fcntl.flock(lock, fcntl.LOCK_EX)
state = json.load(open(state_path))
state.setdefault("calls", []).append(sys.argv[1:])
args = sys.argv[1:]
out, err, rc = "", "", 0
if args[0] == "version":
    out = state["version"] + "\n"
elif args[0] == "history":
    if not state["history"]:
        err, rc = "Error: release: not found\n", 1
    else:
        out = json.dumps(state["history"])
elif args[0] == "upgrade":
    if state.get("upgrade_fails"):
        err, rc = "Error: UPGRADE FAILED: release agent-service failed, and has been rolled back due to atomic\n", 1
    else:
        for entry in state["history"]:
            if entry["status"] == "deployed":
                entry["status"] = "superseded"
        state["history"].append(dict(revision=len(state["history"]) + 1, status=state.get("upgrade_status", "deployed"),
                                     description="Upgrade complete", chart="agent-service-1.0.0",
                                     app_version="2.0.0"))
        out = "Release \"%s\" has been upgraded. Happy Helming!\n" % args[1]
elif args[0] == "list":  # as the real helm 4, which lists every state, refuses helm 3's --all
    if "--all" in args and state["version"].lstrip("v").startswith("4."):
        err, rc = "Error: unknown flag: --all\n", 1
    else:
        out = "".join(name + "\n" for name in state.get("releases", []))
elif args[0] == "rollback":
    if state.get("rollback_fails"):
        err, rc = "Error: timed out waiting for the condition\n", 1
    else:
        target = int(args[2])
        for entry in state["history"]:
            if entry["status"] == "deployed":
                entry["status"] = "superseded"
        state["history"].append(dict(revision=len(state["history"]) + 1, status="deployed",
                                     description="Rollback to %d" % target))
        out = "Rollback was a success! Happy Helming!\n"
json.dump(state, open(state_path, "w"))
sys.stdout.write(out); sys.stderr.write(err); sys.exit(rc)
'''


def make_helm(tmp_path, history, version="v3.22.0", **extra):
    helm = tmp_path / "helm"
    helm.write_text(FAKE_HELM.replace("PYTHON", sys.executable))
    helm.chmod(0o755)
    rows = [dict(revision=r, status=s, description=d) for r, s, d in history]
    (tmp_path / "helm.json").write_text(json.dumps(dict(version=version, history=rows, **extra)))
    return helm


def state(helm):
    return json.loads(Path(str(helm) + ".json").read_text())


def run_module_file(module, tmp_path, **args):
    """Run a module file as Ansible does (a subprocess fed a JSON args file); its JSON result."""
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, str(module), str(args_file)], capture_output=True, text=True, env=env,
                          check=False, cwd=tmp_path)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout[proc.stdout.index("{"):])
