"""The release report's files and the deploy marker retention (module_utils/release_report.py)."""
from __future__ import annotations

import json
import stat

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import release_report


def test_both_files_are_written_whole_with_their_mode(tmp_path):
    base = tmp_path / "reports" / "dev-agent-service-20261207T120000Z-succeeded"
    paths = release_report.write_files(str(base), {"verdict": "succeeded", "b": [1], "a": None}, "# Release\n", 0o640)
    assert paths == {"json": f"{base}.json", "markdown": f"{base}.md"}
    written = json.loads((tmp_path / "reports" / f"{base.name}.json").read_text())
    assert written == {"a": None, "b": [1], "verdict": "succeeded"}
    assert (tmp_path / "reports" / f"{base.name}.md").read_text() == "# Release\n"
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "reports").iterdir()} == {0o640}
    # no temporary file is left beside them
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [f"{base.name}.json", f"{base.name}.md"]


def test_an_unwritable_directory_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(release_report.ReportError, match=f"cannot write the report under {blocker}/sub"):
        release_report.write_files(str(blocker / "sub" / "r"), {}, "x")


def test_the_newest_markers_are_kept():
    items = [("m-1", "2026-12-07T10:00:00+00:00"), ("m-3", "2026-12-07T12:00:00+00:00"),
             ("m-2", "2026-12-07T11:00:00+00:00"), ("m-4", "2026-12-07T12:00:00+00:00")]
    assert release_report.markers_to_prune(items, 2) == ["m-2", "m-1"]
    assert release_report.markers_to_prune(items, 4) == []


def test_marker_data_that_is_not_text_is_stored_as_json():
    body = release_report.marker_body("m", "ns", {"a": "b"}, {"report.json": {"x": 1}, "text": "t"})
    assert body["data"] == {"report.json": '{"x": 1}', "text": "t"}
    assert body["metadata"] == {"name": "m", "namespace": "ns", "labels": {"a": "b"}}


def test_the_work_dir_goes_and_a_missing_one_is_no_error(tmp_path):
    work = tmp_path / ".work"
    (work / "sub").mkdir(parents=True)
    (work / "values.yaml").write_text("secrets: {}")
    assert release_report.remove_work_dir(str(work)) is True and not work.exists()
    assert release_report.remove_work_dir(str(work)) is False
    assert release_report.remove_work_dir(None) is False
