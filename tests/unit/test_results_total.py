"""scripts/results_total.py: the cases and stages it counts, on JUnit files written by junitparser."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("results_total", ROOT / "scripts" / "results_total.py")
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


@pytest.mark.parametrize(("result", "allow", "counted", "note"), [
    (None, set(), (1, 0), None),
    (Failure("boom"), set(), (0, 1), "FAILED pkg.mod::t"),
    (Error("oops"), set(), (0, 1), "FAILED pkg.mod::t"),
    (Skipped("why"), set(), (0, 1), "SKIPPED (counted as failure) pkg.mod::t: why"),
    (Skipped("why"), {"pkg.mod::t"}, (1, 0), "skip allowed pkg.mod::t: why"),
    (Skipped("why"), {"pkg.mod::t_other"}, (0, 1), "SKIPPED (counted as failure) pkg.mod::t: why"),
    (Skipped("why"), {"pkg.mod::"}, (0, 1), "SKIPPED (counted as failure) pkg.mod::t: why"),
    (Skipped("why"), {"t"}, (0, 1), "SKIPPED (counted as failure) pkg.mod::t: why"),
], ids=["passed", "failure", "error", "skip", "skip-allowlisted", "skip-other-id-allowlisted",
        "skip-classname-allowlisted", "skip-name-allowlisted"])
def test_one_case_by_rule(tmp_path, result, allow, counted, note):
    """A failure or an error fails; a skip fails unless the allowlist names its exact id."""
    write(tmp_path / "unit" / "a.xml", {"t": result})
    record(tmp_path, "unit", 0 if counted == (1, 0) else 1)
    stage = results_total.settle("unit", tmp_path, allow)
    assert (stage.passed, stage.failed) == counted, stage.notes
    assert note is None and stage.notes == [] or note in stage.notes


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
], ids=["no-record", "non-zero-exit-without-failure", "zero-cases", "unreadable-junit"])
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


def test_a_test_that_fails_and_errors_in_teardown_counts_once(tmp_path):
    """pytest records it as two cases of one id (a failure, then an error); it is one failed test."""
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef f():\n    yield\n    raise RuntimeError('teardown')\n\n"
        "def test_a(f):\n    assert 0\n\ndef test_b():\n    pass\n")
    junit = tmp_path / "results" / "unit" / "a.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "test_x.py"],
                   cwd=tmp_path, capture_output=True, check=False, timeout=120)
    assert junit.read_text().count('name="test_a"') == 2, "pytest records test_a twice"
    record(tmp_path / "results", "unit", 1)
    stage = results_total.settle("unit", tmp_path / "results", set())
    assert (stage.passed, stage.failed) == (1, 1)
    assert "counted once: test_x::test_a is recorded 2 times (a.xml)" in stage.notes


def test_a_case_recorded_by_two_files_counts_once(tmp_path):
    write(tmp_path / "unit" / "a.xml", {"t": None, "u": None})
    write(tmp_path / "unit" / "b.xml", {"t": Failure("boom")})
    record(tmp_path, "unit", 1)
    stage = results_total.settle("unit", tmp_path, set())
    assert (stage.passed, stage.failed) == (1, 1)
    assert "counted once: pkg.mod::t is recorded 2 times (a.xml, b.xml)" in stage.notes


@pytest.mark.parametrize(("stage", "path", "kind"), [
    ("lint", "lint/lint.xml", "offline"),
    ("chart-test", "chart/helm-unittest.xml", "offline"),
    ("chart-test", "chart/install.xml", "cluster"),
    ("app-test", "app/pytest.xml", "real service"),
    ("monitoring-test", "monitoring/offline.xml", "offline"),
    ("monitoring-test", "monitoring/live.xml", "cluster"),
    ("monitoring-test", "monitoring/new.xml", "cluster"),
    ("e2e", "e2e/molecule-new.xml", "cluster"),
    ("faults-node", "faults-node.xml", "cluster"),
    ("new-stage", "x/y.xml", "unclassified"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_the_kind_of_a_file_is_the_tables_else_its_stages(stage, path, kind):
    assert results_total.kind_of(stage, path) == kind


def test_a_stage_splits_its_cases_and_own_failures_by_kind(tmp_path):
    write(tmp_path / "chart-test" / "chart" / "pytest.xml", {"a": None, "b": Failure("boom")})
    write(tmp_path / "chart-test" / "chart" / "install.xml", {"c": None})
    (tmp_path / "chart-test" / "chart" / "cut.xml").write_text("<testsuite")
    record(tmp_path, "chart-test", 0)
    stage = results_total.settle("chart-test", tmp_path, set())
    assert stage.kinds == {"offline": [1, 2], "cluster": [1, 0]}
    assert results_total.settle("e2e", tmp_path, set()).kinds == {"cluster": [0, 1]}, "no record: the stage's kind"


def test_every_stage_of_make_test_has_a_kind():
    """TEST_STAGES, as make expands it, against the table (a stage not in it is unclassified)."""
    proc = subprocess.run(["make", "-s", "--no-print-directory", "--eval", "print-test-stages: ; @echo $(TEST_STAGES)",
                           "print-test-stages"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    stages = proc.stdout.split()
    assert "lint" in stages and "e2e" in stages, proc.stdout
    assert [s for s in stages if s not in results_total.KINDS] == []


def test_results_of_a_stage_not_given_fail_the_run(tmp_path, capsys):
    """A stage that `make test` runs but does not hand to results_total.py: counted, and one failure."""
    write(tmp_path / "lint" / "lint" / "lint.xml", {"ruff": None})
    record(tmp_path, "lint", 0)
    write(tmp_path / "e2e" / "e2e" / "molecule-default.xml", {"test_scenario[default]": None})
    record(tmp_path, "e2e", 0)
    write(tmp_path / "stray" / "a.xml", {"x": None})
    record(tmp_path, "prepare", 0)
    (tmp_path / "logs").mkdir()
    assert results_total.unregistered(tmp_path, ["lint"]) == ["e2e", "stray"]
    assert results_total.main([str(tmp_path), "lint"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "3 passed, 2 failed"
    assert f"stage e2e left results in {tmp_path} but is not one of make test's TEST_STAGES (Makefile)" in out
    assert any(line.startswith("stage stray left results") for line in out)
    times = json.loads((tmp_path / "stage-times.json").read_text())
    assert times["stages"]["e2e"]["kinds"] == {"cluster": {"passed": 1, "failed": 1}}
    assert times["kinds"]["unclassified"] == {"passed": 1, "failed": 1}


def test_main_prints_the_total_last_and_writes_the_times(tmp_path, capsys):
    write(tmp_path / "lint" / "a.xml", {"ruff": None, "yamllint": None})
    write(tmp_path / "e2e" / "b.xml", {"default": Failure("rollout timed out")})
    record(tmp_path, "lint", 0, 3.0)
    record(tmp_path, "e2e", 1, 40.0)
    record(tmp_path, "prepare", 2, 1.0)
    (tmp_path / "logs").mkdir()
    assert results_total.main([str(tmp_path), "lint", "e2e"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-4:] == ["kind  offline              2 passed    0 failed",
                        "kind  real service         0 passed    0 failed",
                        "kind  cluster              0 passed    2 failed",
                        "2 passed, 2 failed"]
    assert "the prerequisites failed (rc=2)" in out
    times = json.loads((tmp_path / "stage-times.json").read_text())
    assert times["prepare"] == 1.0 and (times["passed"], times["failed"]) == (2, 2)
    assert times["stages"]["lint"] == {"seconds": 3.0, "rc": 0, "passed": 2, "failed": 0,
                                       "kinds": {"offline": {"passed": 2, "failed": 0}}}
    assert times["kinds"] == {"offline": {"passed": 2, "failed": 0}, "real service": {"passed": 0, "failed": 0},
                              "cluster": {"passed": 0, "failed": 2}}


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
