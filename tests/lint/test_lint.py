"""The static checks of `make lint`, one case each: the tool's exit code, its output on failure.

ruff (Python), yamllint, ansible-lint (production profile, .ansible-lint), Molecule's syntax
check of the kind scenario (it cannot run here), and actionlint (with shellcheck and pyflakes) on
the GitHub workflows. The tools come from the pinned venv and the build cache (make venv
integration-venv gotools). The changelog fragments are ansible-test's `changelog` sanity test
(`make sanity`): it runs `antsibull-changelog lint` on them and checks their names as well.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PY_PATHS = ["scripts", "tests", "plugins", "app", "bench", "helm/agent-service/hack"]
WORKFLOWS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "workflows").glob("*.yml"))

CHECKS = {
    "ruff": ["ruff", "check", *PY_PATHS],
    "yamllint": ["yamllint", "-s", "."],
    "ansible-lint": ["ansible-lint", "--profile", "production", "-q"],
    "molecule-kind-syntax": ["molecule", "syntax", "-s", "kind"],
    "actionlint": ["actionlint", "-no-color", f"-shellcheck={VENV_BIN / 'shellcheck'}",
                   f"-pyflakes={VENV_BIN / 'pyflakes'}", *WORKFLOWS],
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_clean(name):
    cmd = CHECKS[name]
    assert shutil.which(cmd[0]), f"{cmd[0]} is not on PATH: run `make lint`, which installs it"
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"


def test_there_are_workflows_to_check():
    assert WORKFLOWS, "no .github/workflows/*.yml found"
