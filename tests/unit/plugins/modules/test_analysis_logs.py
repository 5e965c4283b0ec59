"""The release role's analysis stage with release_logs_url, run by ansible-playbook without a cluster.

The stage's error-rate check asks the real Prometheus of conftest.py (namespace "below", version
1.0.0: a 1% error ratio, which passes; namespace "above": 25%, which fails), with no background
traffic. Its error-level log lines are counted in the real VictoriaLogs, which holds lines of that
version every 0.2 s from before the run to after it, so the count over the analysis's own span is
known exactly from the span the result gives. Then the report's Markdown (templates/report.md.j2)
is rendered from the result. A store that does not answer leaves the count null with the reason
and a warning, and the verdict as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from ansible_collections.agent_service.platform.plugins.module_utils import logs_query
from victoria_logs_server import free_port

ROOT = Path(__file__).resolve().parents[4]
_DEFAULT = str(ROOT / ".cache" / "collections")
COLLECTIONS = Path(os.environ.get("ANSIBLE_COLLECTIONS_PATH", _DEFAULT).split(os.pathsep)[0])
TEMPLATE = ROOT / "roles" / "release" / "templates" / "report.md.j2"
STEP = 0.2
SPAN = 300  # seconds of lines from the fixture on: longer than this file's playbook runs


@pytest.fixture(scope="module")
def store(victoria_logs):
    """Lines of namespaces "below" and "above" from now on, every STEP s: the new version's errors, and
    beside them its info lines and the old version's errors, which the default query leaves out."""
    first = time.time()
    times = [first + i * STEP for i in range(int(SPAN / STEP))]
    rows = []
    for namespace in ("below", "above"):
        for at in times:
            stamp = logs_query.rfc3339(at)
            rows += [{"_msg": "failed", "_time": stamp, "k8s.namespace.name": namespace, "service.version": "1.0.0",
                      "level": "error"},
                     {"_msg": "ok", "_time": stamp, "k8s.namespace.name": namespace, "service.version": "1.0.0",
                      "level": "info"},
                     {"_msg": "old", "_time": stamp, "k8s.namespace.name": namespace, "service.version": "0.9.0",
                      "level": "error"}]
    victoria_logs.ingest(rows)
    victoria_logs.times = times
    return victoria_logs


def _analysis(tmp_path, prometheus, namespace, logs_url, ui_url=""):
    """Run the analysis stage and render the report; returns (process, __release_analysis, Markdown)."""
    out = tmp_path / "analysis.json"
    markdown = tmp_path / "report.md"
    play = [{
        "hosts": "localhost", "gather_facts": False,
        "vars": {"release_name": "agent-service", "release_namespace": namespace, "release_env": "dev",
                 "release_strategy": "rolling", "release_prometheus_url": prometheus.url,
                 "release_analysis_job": "agent-service", "release_analysis_window": "30s",
                 "release_analysis_initial_delay": "0s", "release_analysis_interval": "1s",
                 "release_analysis_count": 2, "release_analysis_traffic": False,
                 "release_logs_url": logs_url, "release_logs_ui_url": ui_url,
                 "__release_version": {"version": "1.0.0"}},
        "tasks": [
            {"name": "The analysis stage", "block": [
                {"name": "Run it", "ansible.builtin.include_role": {"name": "agent_service.platform.release",
                                                                    "tasks_from": "analysis"}}],
             "rescue": [{"name": "A failed analysis fails the release", "ansible.builtin.debug": {
                 "msg": "RELEASE FAILED: {{ ansible_failed_result.msg }}"}}]},
            {"name": "Keep the result", "ansible.builtin.copy": {
                "content": "{{ __release_analysis | to_json }}", "dest": str(out), "mode": "0600"}},
            {"name": "Render the report", "ansible.builtin.copy": {
                "content": "{{ lookup('ansible.builtin.template', '" + str(TEMPLATE) + "') }}",
                "dest": str(markdown), "mode": "0600"},
             "vars": {"__release_report": {
                 "version": "1.0.0", "verdict": "succeeded", "revision_before": 1, "revision_after": 2,
                 "traffic": {"live_before": "", "live_after": "", "candidate": None}, "backup": {},
                 "started": "s", "finished": "f", "timings": {}, "diff": {"summary": [], "changed": False},
                 "smoke": [], "analysis": "{{ __release_analysis }}", "events": [], "failure": {}}}},
        ]}]
    playbook = tmp_path / "analysis.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "PYTHONWARNINGS": "ignore"}
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", json.dumps({"ansible_python_interpreter": sys.executable}), str(playbook)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc, json.loads(out.read_text()), markdown.read_text()


def test_the_new_versions_error_lines_over_the_analysis_span(tmp_path, prometheus, store):
    ui = store.url + "/select/vmui/"
    proc, analysis, markdown = _analysis(tmp_path, prometheus, "below", store.url, ui)
    assert analysis["passed"] and analysis["verdict"] == "successful", analysis
    logs = analysis["logs"]
    assert logs["error"] is None and logs["url"] == store.url, logs
    # the span: from the window's opening to the check's last measurement
    assert logs["end"] == analysis["measurements"][-1]["timestamp"]
    assert logs["start"] < analysis["measurements"][0]["timestamp"] and logs["end"] - logs["start"] < 60
    expected = sum(logs["start"] <= at < logs["end"] for at in store.times)
    assert logs["lines"] == expected and expected >= 4, (logs, store.times[0])
    assert logs["query"] == ('k8s.namespace.name:="below" service.version:="1.0.0" level:=error'
                             " | stats count() as lines")
    own = store.query(f'k8s.namespace.name:="below" service.version:="1.0.0" level:=error '
                      f'_time:[{logs_query.rfc3339(logs["start"])}, {logs_query.rfc3339(logs["end"])})'
                      " | stats count() as n")
    assert own == [{"n": str(expected)}]
    assert "WARNING" not in proc.stdout

    link = logs["link"]
    assert link.startswith(ui + "#/?query=")
    assert urllib.parse.parse_qs(link.split("#/?", 1)[1])["query"] == [
        'k8s.namespace.name:="below" service.version:="1.0.0" level:=error']
    assert (f"- error-level log lines: {expected}, context, not a gate ([the lines in VictoriaLogs]({link}))"
            in markdown.splitlines()), markdown
    assert f"- log query: `{logs['query']}` at {store.url}" in markdown.splitlines()
    # beside the error rate: right after the check's verdict and query
    lines = markdown.splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("- verdict: successful"))
    assert lines[verdict + 2].startswith("- error-level log lines: ")


def test_a_store_that_does_not_answer_changes_no_verdict(tmp_path, prometheus, store):
    down = f"http://127.0.0.1:{free_port()}"
    proc, analysis, markdown = _analysis(tmp_path, prometheus, "below", down)
    assert analysis["passed"] and analysis["verdict"] == "successful", analysis
    logs = analysis["logs"]
    assert logs["lines"] is None and logs["link"] is None and logs["url"] == down
    assert logs["error"].startswith(f"cannot reach VictoriaLogs at {down}: ") and "refused" in logs["error"], logs
    assert logs["query"].endswith("level:=error | stats count() as lines")
    assert "WARNING: the error-level log lines of 1.0.0 were not counted: cannot reach VictoriaLogs at" in proc.stdout
    assert "The analysis verdict is not affected." in proc.stdout
    assert f"- error-level log lines: not counted ({logs['error']}), context, not a gate" in markdown.splitlines()


def test_a_failed_analysis_still_fails_and_reports_its_lines(tmp_path, prometheus, store):
    proc, analysis, markdown = _analysis(tmp_path, prometheus, "above", store.url)
    assert "RELEASE FAILED: Analysis failed for 1.0.0" in proc.stdout
    assert not analysis["passed"] and analysis["verdict"] == "failed"
    logs = analysis["logs"]
    assert logs["lines"] == sum(logs["start"] <= at < logs["end"] for at in store.times)
    assert logs["link"] is None and f"- error-level log lines: {logs['lines']}, context, not a gate" in markdown


def test_without_a_store_the_analysis_is_as_before(tmp_path, prometheus):
    proc, analysis, markdown = _analysis(tmp_path, prometheus, "below", "")
    assert analysis["passed"] and "logs" not in analysis
    assert "error-level log lines" not in markdown and "WARNING" not in proc.stdout
