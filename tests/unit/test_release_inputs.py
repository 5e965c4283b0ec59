"""The release role's preflight input check (roles/release/tasks/preflight.yml, "Check the inputs"),
run by ansible-playbook without a cluster: each inventory's own settings pass it (the run goes on to
the kubeconfig check and stops there), and every bad input is named in the one message, with what
it must be and the value it got. The same inputs are given live in tests/faults/test_04_bad_inputs.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_DEFAULT = str(ROOT / ".cache" / "collections")
COLLECTIONS = Path(os.environ.get("ANSIBLE_COLLECTIONS_PATH", _DEFAULT).split(os.pathsep)[0])
NO_KUBECONFIG = "/nonexistent/kubeconfig"


def _deploy(inventory, extra):
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "KUBECONFIG": NO_KUBECONFIG, "PYTHONWARNINGS": "ignore"}
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-v", "-i", str(ROOT / "inventories" / inventory),
            str(ROOT / "playbooks" / "deploy.yml"), "-e", json.dumps({"release_kubeconfig": NO_KUBECONFIG, **extra})]
    res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    fatal = [json.loads(ln.split("=> ", 1)[1]) for ln in res.stdout.splitlines()
             if ln.startswith("fatal: [") and "=> {" in ln]
    return res, [f.get("msg", "") for f in fatal]


@pytest.mark.parametrize("inventory", ["dev", "staging", "prod"])
def test_each_inventory_passes_the_input_check(inventory):
    res, msgs = _deploy(inventory, {"release_version": "1.4.0"})
    assert res.returncode != 0 and len(msgs) == 1, res.stdout[-3000:]
    assert msgs[0].startswith("No kubeconfig: file /nonexistent/kubeconfig"), msgs


def test_every_bad_input_is_named_with_its_value():
    res, msgs = _deploy("dev", {
        "release_name": "Agent_Service", "release_namespace": "Bad_NS", "release_version": "latest",
        "release_timeout": "5 minutes", "release_analysis_window": "0m", "release_analysis_interval": "-10s",
        "release_analysis_initial_delay": "1m30s", "release_analysis_threshold": 1.5, "release_analysis_count": 0,
        "release_analysis_failure_limit": -1, "release_backup_retention": 0, "release_bluegreen_keep": -1,
        "release_rollback_revision": -1, "release_backup_dir": "backups", "release_report_dir": "reports",
        "release_values": "api.replicaCount=2", "release_logs_url": "victoria-logs:9428",
        "release_logs_ui_url": "ftp://logs/select/vmui/",
        "release_logs_error_query": 'k8s.namespace.name:="{namespace}" level:=error'})
    assert res.returncode != 0 and len(msgs) == 1, res.stdout[-3000:]
    msg = msgs[0]
    assert msg.startswith("Bad input: ") and msg.endswith(". Nothing was changed."), msg
    for expected in [
        'release_name must be a DNS label (lowercase letters, digits and -) of at most 53 characters, got '
        '"Agent_Service"',
        'release_namespace must be a DNS label (lowercase letters, digits and -) of at most 63 characters, got '
        '"Bad_NS"',
        'other than the rolling tag latest, got "latest"',
        'release_timeout must be a positive Go duration such as 10m0s or 90s, got "5 minutes"',
        'release_analysis_window must be a positive Prometheus duration such as 1m or 5m, got "0m"',
        'release_analysis_interval must be a duration of one number and one unit such as 10s or 1m, got "-10s"',
        'release_analysis_initial_delay must be a duration of one number and one unit such as 20s or 0s, got "1m30s"',
        "release_analysis_threshold must be a 5xx ratio between 0 and 1, got 1.5",
        "release_analysis_count must be at least 1, got 0",
        "release_analysis_failure_limit must not be negative, got -1",
        "release_backup_retention must keep at least 1 backup, got 0",
        "release_bluegreen_keep must not be negative, got -1",
        "release_rollback_revision must be 0 (the last deployed one) or a revision number, got -1",
        'release_backup_dir must be an absolute path on the controller, got "backups"',
        'release_report_dir must be an absolute path on the controller, got "reports"',
        'release_values must be a mapping of chart values, got "api.replicaCount=2"',
        'release_logs_url must be empty (no log count) or an http:// or https:// URL of VictoriaLogs, got '
        '"victoria-logs:9428"',
        'release_logs_ui_url must be empty (no link) or an http:// or https:// URL of the VictoriaLogs web UI, got '
        '"ftp://logs/select/vmui/"',
        'release_logs_error_query must be a LogsQL filter with the placeholder {version}, so that only the lines of '
        'the new version count, got "k8s.namespace.name:=\\"{namespace}\\" level:=error"',
    ]:
        assert expected in msg, f"{expected!r} not in {msg!r}"
    assert msg.count("; ") == 18, msg


def test_log_inputs_that_fit_pass():
    res, msgs = _deploy("dev", {"release_version": "1.4.0", "release_logs_url": "http://127.0.0.1:9428",
                                "release_logs_ui_url": "https://logs.example.com/select/vmui/",
                                "release_logs_error_query": 'service.version:={version} level:=error'})
    assert res.returncode != 0 and len(msgs) == 1, res.stdout[-3000:]
    assert msgs[0].startswith("No kubeconfig: file /nonexistent/kubeconfig"), msgs
