"""scripts/run_stages.py: how `--prepare` and `--beside` plan the lanes of `make test`."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "run_stages", Path(__file__).resolve().parents[2] / "scripts" / "run_stages.py")
run_stages = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(run_stages)


def test_beside_stages_have_their_own_lanes_and_nothing_waits_for_them():
    prepare, order, waits = run_stages.plan(
        ["--prepare", "test-prereqs", "--beside", "monitoring-test", "--beside", "e2e",
         "lint", "unit", "monitoring-test", "testbed-test", "e2e"])
    assert prepare == ["test-prereqs"]
    assert order == ["lint", "unit", "monitoring-test", "testbed-test", "e2e"]
    assert waits == {"monitoring-test": None, "e2e": None}


def test_a_named_stage_waits_for_a_lane():
    planned = run_stages.plan(["--beside", "monitoring-test:e2e", "lint", "monitoring-test", "e2e"])
    assert planned == ([], ["lint", "monitoring-test", "e2e"], {"monitoring-test": "e2e"})


@pytest.mark.parametrize("argv, message", [
    (["--beside", "nope", "lint"], "not run"),
    (["--beside", "lint:nope", "lint", "unit"], "not run"),
    (["--beside", "a:b", "--beside", "b", "a", "b"], "cannot wait"),
    (["lint", "--beside"], "needs a value"),
])
def test_bad_plans_are_refused(argv, message):
    with pytest.raises(SystemExit, match=message):
        run_stages.plan(argv)
