"""scripts/results_total.py: the cases and stages it counts, on JUnit files written by junitparser."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

SPEC = importlib.util.spec_from_file_location(
    "results_total", Path(__file__).resolve().parents[2] / "scripts" / "results_total.py")
results_total = importlib.util.module_from_spec(SPEC)
sys.modules["results_total"] = results_total  # dataclasses look the module up by name
SPEC.loader.exec_module(results_total)


def write(path: Path, cases: dict[str, object | None], wrap: bool = True) -> None:
    """A JUnit file of cases {name: result or None}, under <testsuites> or (wrap=False) a bare <testsuite>."""
    suite = TestSuite("s")
    for name, result in cases.items():
        case = TestCase(name, classname="pkg.mod")
        if result is not None:
            case.result = [result]
        suite.add_testcase(case)
    path.parent.mkdir(parents=True, exist_ok=True)
    if wrap:
        xml = JUnitXml()
        xml.add_testsuite(suite)
        xml.write(str(path))
    else:
        suite.write(str(path))


def record(results: Path, name: str, rc: int, seconds: float = 2.5) -> None:
    (results / f"{name}.stage").write_text(f"{rc} 100.0 {100.0 + seconds}\n")


def test_passed_failed_errored_and_skipped_cases(tmp_path):
    write(tmp_path / "unit" / "a.xml", {"ok": None, "bad": Failure("boom"), "broken": Error("oops")})
    write(tmp_path / "unit" / "deep" / "b.xml", {"ok2": None, "skip": Skipped("no tool")}, wrap=False)
    record(tmp_path, "unit", 1)
    stage = results_total.settle("unit", tmp_path, set())
    assert (stage.passed, stage.failed, stage.rc, stage.seconds) == (2, 3, 1, 2.5)
    assert "FAILED pkg.mod::bad" in stage.notes and "FAILED pkg.mod::broken" in stage.notes
    assert "SKIPPED (counted as failure) pkg.mod::skip: no tool" in stage.notes


def test_the_allowlist_matches_whole_ids_only(tmp_path):
    write(tmp_path / "unit" / "a.xml", {"skip": Skipped("why"), "skip_other": Skipped("why")})
    record(tmp_path, "unit", 0)
    stage = results_total.settle("unit", tmp_path, {"pkg.mod::skip"})
    assert (stage.passed, stage.failed) == (1, 1)
    assert "skip allowed pkg.mod::skip: why" in stage.notes
    assert "SKIPPED (counted as failure) pkg.mod::skip_other: why" in stage.notes


def test_allowlist_file_comments_and_blanks(tmp_path):
    path = tmp_path / "allow.txt"
    path.write_text("# header\n\npkg.mod::skip   # needs a GPU\n  other::x\n")
    assert results_total.allowed_skips(path) == {"pkg.mod::skip", "other::x"}
    assert results_total.allowed_skips(tmp_path / "missing.txt") == set()


@pytest.mark.parametrize(("setup", "note"), [
    ("none", "stage unit left no record: it did not run"),
    ("silent", "stage unit failed (rc=2) without a recorded test failure"),
    ("empty", "stage unit recorded no test case"),
    ("unreadable", "unreadable result file"),
])
def test_a_stage_that_proves_nothing_is_one_failure(tmp_path, setup, note):
    if setup == "silent":
        write(tmp_path / "unit" / "a.xml", {"ok": None})
        record(tmp_path, "unit", 2)
    elif setup == "empty":
        (tmp_path / "unit").mkdir()
        record(tmp_path, "unit", 0)
    elif setup == "unreadable":
        (tmp_path / "unit").mkdir()
        (tmp_path / "unit" / "cut.xml").write_text("<testsuite><testcase name='a'")
        record(tmp_path, "unit", 0)
    stage = results_total.settle("unit", tmp_path, set())
    assert stage.failed == 1
    assert any(n.startswith(note) for n in stage.notes), stage.notes


def test_main_prints_the_total_last_and_writes_the_times(tmp_path, capsys):
    write(tmp_path / "lint" / "a.xml", {"ruff": None, "yamllint": None})
    write(tmp_path / "e2e" / "b.xml", {"default": Failure("rollout timed out")})
    record(tmp_path, "lint", 0, 3.0)
    record(tmp_path, "e2e", 1, 40.0)
    record(tmp_path, "prepare", 2, 1.0)
    assert results_total.main([str(tmp_path), "lint", "e2e"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2 passed, 2 failed"
    assert "the prerequisites failed (rc=2)" in out
    times = (tmp_path / "stage-times.json").read_text()
    assert '"lint": {\n      "seconds": 3.0' in times and '"prepare": 1.0' in times


def test_nothing_passed_is_a_failure(tmp_path):
    assert results_total.main([str(tmp_path)]) == 2
    (tmp_path / "x").mkdir()
    write(tmp_path / "x" / "a.xml", {"skip": Skipped("why")})
    record(tmp_path, "x", 0)
    assert results_total.main([str(tmp_path), "x"]) == 1


def test_excerpt_keeps_the_lines_that_name_a_cause():
    text = "noise\nfatal: [host]: FAILED! => {\"msg\": \"nope\"}\nmore noise\n" + "x" * 400 + " Error"
    lines = results_total.excerpt(text)
    assert lines[0] == '    | fatal: [host]: FAILED! => {"msg": "nope"}'
    assert lines[1].endswith(" ...") and len(lines[1]) == len("    | ") + 300 + 4
    assert results_total.excerpt("a\nb\nc\nd") == ["    | b", "    | c", "    | d"]
