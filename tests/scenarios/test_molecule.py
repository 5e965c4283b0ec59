"""The Molecule scenarios, one case each: `molecule test -s <scenario>` on the test bed.

Each scenario deploys with the collection's playbooks and verifies itself (molecule/<s>/verify.yml);
this case passes when the whole sequence does. `make e2e` runs one pytest per scenario, side by
side (make -j), with pytest's capture off (-s): Molecule's output streams through, and
--output-sync prints it whole when the scenario ends. The scenario's own logs, reports and
backups stay in .cache/e2e/<scenario>.
"""
from __future__ import annotations

import subprocess
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# scenarios that cannot run here, and why; `make lint` checks their syntax
ELSEWHERE = {"kind": "needs privileged containers (kind), which this machine cannot run"}
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml") if p.parent.name not in ELSEWHERE)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario):
    # a scenario killed half-way leaves Molecule's state saying "prepared", and `molecule test`
    # would then skip prepare: every run starts from a reset
    subprocess.run(["molecule", "reset", "-s", scenario], cwd=ROOT, capture_output=True)
    tail: deque[str] = deque(maxlen=60)
    with subprocess.Popen(["molecule", "test", "-s", scenario], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace") as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
            tail.append(line.rstrip("\n"))
    last = "\n".join(tail)
    assert proc.returncode == 0, f"molecule test -s {scenario} exited {proc.returncode}; its last lines:\n{last}"
