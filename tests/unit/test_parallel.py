"""scripts/parallel.py: runs named commands side by side, prints each output whole, fails when one fails."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "parallel.py"


def run(tmp_path, *args):
    return subprocess.run([sys.executable, str(SCRIPT), "--log-dir", str(tmp_path), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_outputs_do_not_interleave_and_a_failure_fails_the_run(tmp_path):
    proc = run(tmp_path, "--jobs", "2", "slow=echo s1; sleep 1; echo s2", "bad=echo b1; exit 3", "late=echo l1")
    assert proc.returncode == 1
    out = proc.stdout
    assert "s1\ns2\n==== slow: exit 0" in out
    assert "b1\n==== bad: exit 3" in out
    assert ">> parallel: failed: bad" in out
    assert (tmp_path / "late.log").read_text() == "l1\n"


def test_runs_at_most_jobs_commands_at_once(tmp_path):
    proc = run(tmp_path, "--jobs", "1", "a=echo a", "b=echo b")
    assert proc.returncode == 0
    assert proc.stdout.index("==== a: exit 0") < proc.stdout.index("started b")


def test_bad_input_is_refused(tmp_path):
    assert run(tmp_path, "no-equals-sign").returncode == 2
    assert run(tmp_path, "x=true", "x=true").returncode == 2


def test_early_jobs_hold_the_rest_until_the_file_exists(tmp_path):
    flag = tmp_path / "foreground-done"
    proc = run(tmp_path, "--jobs", "3", "--early-jobs", "1", "--early-until", str(flag),
               f"first=sleep 1; touch {flag}; sleep 2", f"second=test -e {flag}", f"third=test -e {flag}")
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    # the limit rose to 3 while the first command still ran
    assert out.index("started second") < out.index("==== first: exit 0")
    assert out.index("started third") < out.index("==== first: exit 0")


def test_early_jobs_need_their_file(tmp_path):
    assert run(tmp_path, "--early-jobs", "1", "x=true").returncode == 2
