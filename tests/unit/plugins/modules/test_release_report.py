"""release_report refuses a bad retention or mode before it writes anything."""
from __future__ import annotations

import pytest
from ansible_collections.agent_service.platform.plugins.modules import release_report
from module_runner import run_module

MARKER = {"name": "m", "namespace": "dev", "selector": "app.kubernetes.io/component=deploy-marker"}


@pytest.mark.parametrize(("args", "msg"), [
    ({"marker": {**MARKER, "retention": 0}}, "marker.retention must keep at least 1 marker, got 0"),
    ({"mode": "rw-r-----"}, "mode must be an octal file mode such as 0640, got 'rw-r-----'"),
])
def test_bad_input_is_named_and_nothing_is_written(tmp_path, args, msg):
    work = tmp_path / ".work"
    work.mkdir()
    result, failed = run_module(release_report, {"base": str(tmp_path / "r" / "report"), "report": {}, "markdown": "x",
                                                 "work_dir": str(work), **args})
    assert failed and result["msg"] == msg
    assert not (tmp_path / "r").exists() and work.exists()


def test_check_mode_writes_nothing(tmp_path):
    result, failed = run_module(release_report, {"base": str(tmp_path / "r" / "report"), "report": {"a": 1},
                                                 "markdown": "x"}, check_mode=True)
    assert not failed and result["changed"] is False
    assert result["files"]["json"] == str(tmp_path / "r" / "report.json") and not (tmp_path / "r").exists()
