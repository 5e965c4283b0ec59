"""`make test`'s graph, run by the real make on stand-in stages (fixtures/fake_stages.mk).

The chain runs one stage after the other and goes on after a failure; a lane starts with the
first stage of the chain; the total counts every case and every stage that did not run, failed
without a failing case, recorded nothing, or ran without being one of TEST_STAGES; the stages
that `make test` runs are its TEST_STAGES; SIDE_BY_SIDE runs at most N targets at once on its
own and shares the job slots of `make -j` under it.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).parent / "fixtures" / "fake_stages.mk"


def make(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict[str, dict[str, float]]]:
    """Run make in the checkout with the stand-in stages; (the run, {name: {start, end}} from the log)."""
    log = tmp_path / "log"
    env = {**os.environ, "MAKEFILES": str(FAKES)}
    proc = subprocess.run(["make", "--no-print-directory", *args, f"RESULTS={tmp_path / 'results'}", f"LOG={log}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    events: dict[str, dict[str, float]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        what, name, at = line.split()
        events.setdefault(name, {})[what] = float(at)
    return proc, events


# `make test` on stand-in stages only: no real stage after the chain and the lanes either
FAKE_TEST = ("test", "TEST_PREREQS=fake-prep", "TEST_TAIL=")


def run_test(tmp_path: Path, chain: str, lanes: str = "", *more: str) -> tuple[subprocess.CompletedProcess, dict, dict]:
    proc, events = make(tmp_path, *FAKE_TEST, f"TEST_CHAIN={chain}", f"TEST_LANES={lanes}", *more)
    times = json.loads((tmp_path / "results" / "stage-times.json").read_text())
    return proc, events, times


def test_the_chain_runs_in_order_and_goes_on_after_a_failure_beside_a_lane(tmp_path):
    proc, events, times = run_test(tmp_path, "chain-a chain-b chain-c", "lane")
    assert events["fake-prep"]["start"] < min(e["start"] for n, e in events.items() if n != "fake-prep")
    assert events["chain-a"]["end"] <= events["chain-b"]["start"]
    assert events["chain-b"]["end"] <= events["chain-c"]["start"], "the chain stops at a failed stage"
    assert events["lane"]["start"] < events["chain-a"]["end"], "the lane waits for the chain"
    assert proc.returncode != 0
    assert proc.stdout.splitlines()[-1] == "5 passed, 1 failed"
    assert "FAILED fake::chain-b-fail" in proc.stdout
    assert times["stages"]["chain-b"] == {"seconds": times["stages"]["chain-b"]["seconds"], "rc": 2,
                                          "passed": 1, "failed": 1,
                                          "kinds": {"unclassified": {"passed": 1, "failed": 1}}}
    assert (tmp_path / "results" / "logs" / "lane.log").exists()


def test_all_passing_is_a_pass(tmp_path):
    proc, events, times = run_test(tmp_path, "chain-a chain-c")
    assert set(events) == {"fake-prep", "chain-a", "chain-c"}
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "3 passed, 0 failed"
    assert times["passed"] == 3 and times["failed"] == 0 and set(times["stages"]) == {"chain-a", "chain-c"}


@pytest.mark.parametrize(("chain", "note"), [
    ("chain-silent", "stage chain-silent failed (rc=2) without a recorded test failure"),
    ("chain-empty", "stage chain-empty recorded no test case"),
    ("chain-skip", "SKIPPED (counted as failure) fake::chain-skip-skip: why"),
    ("no-such-stage", "stage no-such-stage failed (rc=2) without a recorded test failure"),
])
def test_a_stage_that_proves_nothing_fails_the_run(tmp_path, chain, note):
    proc, events, times = run_test(tmp_path, f"chain-a {chain}")
    assert "chain-a" in events and times["failed"] == 1
    assert proc.returncode != 0
    assert note in proc.stdout
    assert proc.stdout.splitlines()[-1].endswith(" passed, 1 failed")


def test_a_stage_that_runs_but_is_not_registered_fails_the_run(tmp_path):
    """A lane in the graph whose name TEST_STAGES lacks: its cases are counted, and it is one failure."""
    proc, events, times = run_test(tmp_path, "chain-a", "lane", "TEST_STAGES=chain-a")
    assert "lane" in events and proc.returncode != 0
    assert proc.stdout.splitlines()[-1] == "3 passed, 1 failed"
    assert "stage lane left results in " in proc.stdout and "not one of make test's TEST_STAGES" in proc.stdout
    assert times["stages"]["lane"]["failed"] == 1


def test_the_stages_make_test_runs_are_the_stages_it_counts(tmp_path):
    """Every stage the Makefile's graph runs is handed to results_total.py, and every stage handed to it runs.

    make -n prints recipes instead of running them, except the lines that call $(MAKE); with MAKE=true
    those run no stage, and RUN_STAGE only writes each stage's record."""
    results = tmp_path / "results"
    (results / "logs").mkdir(parents=True)
    dry = ["make", "--no-print-directory", "-n", "MAKE=true", f"RESULTS={results}"]
    subprocess.run([*dry, "test-stages"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    ran = sorted(p.stem for p in results.glob("*.stage") if p.stem != "prepare")
    test = subprocess.run([*dry, "test"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    counted = re.search(rf"scripts/results_total\.py {re.escape(str(results))} (.*)", test.stdout)
    assert counted, test.stdout
    assert "lint" in ran and "e2e" in ran, ran
    assert ran == sorted(counted.group(1).split())


def overlap(events: dict, names: list[str]) -> int:
    """The most of names that ran at the same moment."""
    marks = sorted([(events[n]["start"], 1) for n in names] + [(events[n]["end"], -1) for n in names])
    most = now = 0
    for mark in marks:
        now += mark[1]
        most = max(most, now)
    return most


def test_the_chain_keeps_its_slot_beside_a_lane_that_wants_more(tmp_path):
    """A lane that would run 3 targets at once takes every free slot; the chain never waits for one."""
    proc, events = make(tmp_path, *FAKE_TEST, "TEST_JOBS=2", "TEST_CHAIN=chain-a chain-c", "TEST_LANES=greedy-lane")
    assert proc.stdout.splitlines()[-1] == "6 passed, 0 failed", proc.stdout
    assert events["chain-c"]["start"] - events["chain-a"]["end"] < 0.5, "the chain waited for a job slot"
    beside_chain = [n for n in ("long-1", "long-2", "long-3") if events[n]["start"] < events["chain-c"]["end"] - 0.3]
    assert len(beside_chain) == 1, "2 slots: one for the chain, one for the lane"
    assert overlap(events, ["long-1", "long-2", "long-3"]) == 2, "the lane takes the chain's slot once it is done"


def test_side_by_side_runs_n_at_once_on_its_own(tmp_path):
    proc, events = make(tmp_path, "side-by-side")
    assert proc.returncode == 0, proc.stderr
    assert overlap(events, ["side-1", "side-2", "side-3"]) == 2


def test_side_by_side_shares_the_job_slots_of_make_j(tmp_path):
    proc, events = make(tmp_path, "-j3", "side-by-side")
    assert proc.returncode == 0, proc.stderr
    assert "jobserver unavailable" not in proc.stderr
    assert overlap(events, ["side-1", "side-2", "side-3"]) == 3, "3 slots, more than its own 2"


def test_every_molecule_scenario_that_runs_here_is_a_run_of_make_e2e(tmp_path):
    proc, events = make(tmp_path, "-s", "print-E2E_SCENARIOS")
    assert not events, "printing a variable runs nothing"
    listed = proc.stdout.split()
    on_disk = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
    assert sorted(listed) == [s for s in on_disk if s != "kind"], "kind needs privileged containers"
    for scenario in listed:
        dry, events = make(tmp_path, "-n", f"e2e-run-{scenario}")
        assert f"tests/scenarios/test_molecule.py::test_scenario[{scenario}]" in dry.stdout, dry.stdout + dry.stderr
        assert f"e2e/molecule-{scenario}.xml" in dry.stdout and not events, "a dry run runs nothing"
